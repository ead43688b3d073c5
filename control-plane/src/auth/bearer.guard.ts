import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from "@nestjs/common";
import { Reflector } from "@nestjs/core";
import type { Request } from "express";
import { ApiError } from "../common/api-error";
import { authSettings } from "../config/settings";
import type { AuthSettings } from "../config/settings";
import { secretsEqual } from "./constant-time";
import { IS_PUBLIC } from "./public.decorator";
import type { ApiToken } from "./tokens";

/** The token a request authenticated with, for @Actor() and logs. */
export type AuthenticatedRequest = Request & { apiToken?: ApiToken };

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Every route needs `Authorization: Bearer <token>` unless marked @Public().
 * Read-only tokens may only GET. Every configured token is compared, in
 * constant time, whichever matches: the time taken says nothing about which.
 */
@Injectable()
export class BearerGuard implements CanActivate {
  private readonly logger = new Logger("auth");

  constructor(
    private readonly reflector: Reflector,
    @Inject(authSettings.KEY) private readonly settings: AuthSettings,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) {
      return true;
    }
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
    let found: ApiToken | undefined;
    if (match?.[1] !== undefined) {
      for (const token of this.settings.tokens) {
        if (secretsEqual(match[1], token.token) && found === undefined) {
          found = token;
        }
      }
    }
    if (found === undefined) {
      // Never log the token itself, only that one was wrong or missing.
      this.logger.warn(`refused ${request.method} ${request.path} from ${request.ip}: ${match ? "unknown token" : "no bearer token"}`);
      throw new ApiError(401, "unauthorized", "send an admin token as 'Authorization: Bearer <token>'");
    }
    if (found.scope === "read" && !READ_METHODS.has(request.method)) {
      this.logger.warn(`refused ${request.method} ${request.path} from ${request.ip}: token '${found.name}' is read-only`);
      throw new ApiError(403, "forbidden", `token '${found.name}' may only read`);
    }
    request.apiToken = found;
    return true;
  }
}
