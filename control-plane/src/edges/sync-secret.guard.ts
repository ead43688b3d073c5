import { CanActivate, ExecutionContext, Inject, Injectable } from "@nestjs/common";
import type { Request } from "express";
import { SYNC_SECRET_HEADER } from "../../../lua/src/set_backend/contract";
import { secretsEqual } from "../auth/constant-time";
import { ApiError } from "../common/api-error";
import { edgeSettings } from "../config/settings";
import type { EdgeSettings } from "../config/settings";

/** Edges prove themselves with the shared sync secret, not the admin token. */
@Injectable()
export class SyncSecretGuard implements CanActivate {
  constructor(@Inject(edgeSettings.KEY) private readonly settings: EdgeSettings) {}

  canActivate(context: ExecutionContext): boolean {
    const given = context.switchToHttp().getRequest<Request>().headers[SYNC_SECRET_HEADER];
    if (typeof given === "string" && secretsEqual(given, this.settings.syncSecret)) {
      return true;
    }
    throw new ApiError(401, "unauthorized", `send the sync secret in ${SYNC_SECRET_HEADER}`);
  }
}
