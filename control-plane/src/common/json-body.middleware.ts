import { Inject, Injectable, NestMiddleware } from "@nestjs/common";
import { json } from "express";
import type { NextFunction, Request, Response } from "express";
import { serverSettings } from "../config/settings";
import type { ServerSettings } from "../config/settings";
import { ApiError } from "./api-error";
import { runParser } from "./run-parser";

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
    // Any type a plain client sends for a JSON body is read as JSON; a type
    // that announces another format is refused rather than misread.
    const type = request.headers["content-type"] ?? "";
    if (/^\s*(multipart\/|application\/xml|text\/xml|application\/octet-stream)/i.test(type)) {
      throw new ApiError(415, "unsupported_media_type", `send JSON; '${type.split(";")[0]}' is not read`);
    }
    await runParser(this.parse, request, response, "request body is larger than the limit");
    next();
  }
}
