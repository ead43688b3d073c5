import { HttpException } from "@nestjs/common";

/** The one error shape of the API: {"error": code, "message": for a person, "details"?: [...]}. */
export interface ApiErrorBody {
  error: string;
  message: string;
  details?: string[];
}

export class ApiError extends HttpException {
  constructor(status: number, code: string, message: string, details?: string[]) {
    const body: ApiErrorBody = details ? { error: code, message, details } : { error: code, message };
    super(body, status);
  }
}
