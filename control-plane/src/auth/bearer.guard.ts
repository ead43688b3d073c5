import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from "@nestjs/common";
import { Reflector } from "@nestjs/core";
import type { Request } from "express";
import { ApiError } from "../common/api-error";
import { authSettings } from "../config/settings";
import type { AuthSettings } from "../config/settings";
import { secretsEqual } from "./constant-time";
import { IS_PUBLIC } from "./public.decorator";

/** Every route needs `Authorization: Bearer <ADMIN_TOKEN>` unless marked @Public(). */
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
    const request = context.switchToHttp().getRequest<Request>();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
    if (match?.[1] !== undefined && secretsEqual(match[1], this.settings.adminToken)) {
      return true;
    }
    // Never log the token itself, only that one was wrong or missing.
    this.logger.warn(`refused ${request.method} ${request.path} from ${request.ip}: ${match ? "wrong token" : "no bearer token"}`);
    throw new ApiError(401, "unauthorized", "send the admin token as 'Authorization: Bearer <token>'");
  }
}
