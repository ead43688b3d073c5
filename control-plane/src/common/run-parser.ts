import type { Request, RequestHandler, Response } from "express";
import { ApiError } from "./api-error";

/**
 * Runs an express body parser and turns its failure into the API's JSON
 * error: thrown from a Nest middleware, it reaches the exception filter.
 */
export async function runParser(parse: RequestHandler, request: Request, response: Response, tooLarge: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    parse(request, response, (error?: unknown) => (error ? reject(error) : resolve()));
  }).catch((error: { type?: string; message?: string }) => {
    if (error.type === "entity.too.large") {
      throw new ApiError(413, "body_too_large", tooLarge);
    }
    if (error.type === "entity.parse.failed") {
      throw new ApiError(400, "invalid_json", `request body is not valid JSON: ${error.message ?? ""}`.trim());
    }
    throw new ApiError(400, "unreadable_body", error.message ?? "request body cannot be read");
  });
}
