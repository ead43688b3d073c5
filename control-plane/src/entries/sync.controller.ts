import { ApiExcludeController } from "@nestjs/swagger";
import { Controller, Get, Header, Query, UseGuards } from "@nestjs/common";
import { CHANGES_PAGE_LIMIT, CHANGES_PATH, ChangesPage, SNAPSHOT_PATH } from "../../../lua/src/set_backend/contract";
import { Public } from "../auth/public.decorator";
import { ApiError } from "../common/api-error";
import { wholeNumber } from "../common/query";
import { SyncSecretGuard } from "../edges/sync-secret.guard";
import { EntriesService } from "./entries.service";

/** What edges pull: the whole table when they start, the changes since their revision afterwards. */
@ApiExcludeController()
@Public()
@UseGuards(SyncSecretGuard)
@Controller()
export class SyncController {
  constructor(private readonly entries: EntriesService) {}

  /** A contract.Snapshot, or with ?format=columns a contract.SnapshotColumns, as JSON text built by Postgres. */
  @Get(SNAPSHOT_PATH)
  @Header("Content-Type", "application/json; charset=utf-8")
  snapshot(@Query("format") format?: string): Promise<string> {
    if (format !== undefined && format !== "entries" && format !== "columns") {
      throw new ApiError(400, "invalid_query", "format must be 'entries' or 'columns'");
    }
    return this.entries.snapshotJson(format ?? "entries");
  }

  @Get(CHANGES_PATH)
  changes(@Query("since") since?: string, @Query("limit") limit?: string): Promise<ChangesPage> {
    if (since === undefined) {
      throw new ApiError(400, "invalid_query", "since is required");
    }
    return this.entries.changesSince(
      wholeNumber(since, "since", 0, Number.MAX_SAFE_INTEGER),
      Math.max(1, wholeNumber(limit, "limit", CHANGES_PAGE_LIMIT, CHANGES_PAGE_LIMIT)),
    );
  }
}
