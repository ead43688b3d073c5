import { Inject, Injectable, NestMiddleware } from "@nestjs/common";
import { json } from "express";
import type { NextFunction, Request, Response } from "express";
import { serverSettings } from "../config/settings";
import type { ServerSettings } from "../config/settings";
import { ApiError } from "./api-error";

/**
 * Reads every request body as JSON whatever its Content-Type: the seed's
 * `curl -d '{...}'` sends application/x-www-form-urlencoded. Parse failures
 * become the API's JSON errors (thrown here, Nest's filters catch them).
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly parse: ReturnType<typeof json>;

  constructor(@Inject(serverSettings.KEY) settings: ServerSettings) {
    this.parse = json({ type: () => true, limit: settings.bodyLimitBytes, strict: true });
  }

  async use(request: Request, response: Response, next: NextFunction): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.parse(request, response, (error?: unknown) => (error ? reject(error) : resolve()));
    }).catch((error: { type?: string; message?: string }) => {
      if (error.type === "entity.too.large") {
        throw new ApiError(413, "body_too_large", "request body is larger than the limit");
      }
      if (error.type === "entity.parse.failed") {
        throw new ApiError(400, "invalid_json", `request body is not valid JSON: ${error.message ?? ""}`.trim());
      }
      throw new ApiError(400, "unreadable_body", error.message ?? "request body cannot be read");
    });
    next();
  }
}
