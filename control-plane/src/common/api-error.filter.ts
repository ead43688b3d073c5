import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from "@nestjs/common";
import type { Response } from "express";
import { ApiErrorBody } from "./api-error";

const CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "body_too_large",
  415: "unsupported_media_type",
  422: "unprocessable",
  503: "unavailable",
};

/** Turns every error into {"error", "message", "details"?}; never a stack trace. */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger("api");

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { status, body } = this.describe(exception);
    if (status >= 500) {
      this.logger.error(exception instanceof Error ? exception.stack ?? exception.message : String(exception));
    }
    response.status(status).json(body);
  }

  private describe(exception: unknown): { status: number; body: ApiErrorBody } {
    if (!(exception instanceof HttpException)) {
      return { status: 500, body: { error: "internal", message: "internal error; see the control plane log" } };
    }
    const status = exception.getStatus();
    const payload = exception.getResponse();
    if (typeof payload === "object" && payload !== null && "error" in payload && "message" in payload) {
      const { error, message, details } = payload as { error: unknown; message: unknown; details?: unknown };
      // ValidationPipe's BadRequestException carries message: string[].
      if (Array.isArray(message)) {
        return { status, body: { error: "validation_failed", message: message.join("; "), details: message.map(String) } };
      }
      if (typeof error === "string" && /^[a-z_]+$/.test(error)) {
        return { status, body: { error, message: String(message), ...(Array.isArray(details) ? { details: details.map(String) } : {}) } };
      }
      return { status, body: { error: CODES[status] ?? "error", message: String(message) } };
    }
    return { status, body: { error: CODES[status] ?? "error", message: typeof payload === "string" ? payload : exception.message } };
  }
}
