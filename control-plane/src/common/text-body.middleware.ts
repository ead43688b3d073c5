import { Inject, Injectable, NestMiddleware } from "@nestjs/common";
import { text } from "express";
import type { NextFunction, Request, Response } from "express";
import { serverSettings } from "../config/settings";
import type { ServerSettings } from "../config/settings";
import { runParser } from "./run-parser";

/** Reads the body as text, whatever its Content-Type, up to the import limit: for bulk imports. */
@Injectable()
export class TextBodyMiddleware implements NestMiddleware {
  private readonly parse: ReturnType<typeof text>;

  constructor(@Inject(serverSettings.KEY) settings: ServerSettings) {
    this.parse = text({ type: () => true, limit: settings.importLimitBytes });
  }

  async use(request: Request, response: Response, next: NextFunction): Promise<void> {
    await runParser(this.parse, request, response, "the import is larger than IMPORT_LIMIT_BYTES");
    next();
  }
}
