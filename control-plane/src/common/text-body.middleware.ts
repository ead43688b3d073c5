import { Inject, Injectable, NestMiddleware } from "@nestjs/common";
import { text } from "express";
import type { NextFunction, Request, Response } from "express";
import { serverSettings } from "../config/settings";
import type { ServerSettings } from "../config/settings";
import { ApiError } from "./api-error";

/** Reads the body as text, whatever its Content-Type, up to the import limit: for bulk imports. */
@Injectable()
export class TextBodyMiddleware implements NestMiddleware {
  private readonly parse: ReturnType<typeof text>;

  constructor(@Inject(serverSettings.KEY) settings: ServerSettings) {
    this.parse = text({ type: () => true, limit: settings.importLimitBytes });
  }

  async use(request: Request, response: Response, next: NextFunction): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.parse(request, response, (error?: unknown) => (error ? reject(error) : resolve()));
    }).catch((error: { type?: string; message?: string }) => {
      if (error.type === "entity.too.large") {
        throw new ApiError(413, "body_too_large", "the import is larger than IMPORT_LIMIT_BYTES");
      }
      throw new ApiError(400, "unreadable_body", error.message ?? "request body cannot be read");
    });
    next();
  }
}
