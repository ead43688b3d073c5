import { Controller, Get, UseGuards } from "@nestjs/common";
import { Snapshot, SNAPSHOT_PATH } from "../../../lua/src/set_backend/contract";
import { Public } from "../auth/public.decorator";
import { EntriesService } from "./entries.service";
import { SyncSecretGuard } from "../edges/sync-secret.guard";

/** What an edge pulls when it starts: the whole table at one revision. */
@Controller()
export class SnapshotController {
  constructor(private readonly entries: EntriesService) {}

  @Public()
  @UseGuards(SyncSecretGuard)
  @Get(SNAPSHOT_PATH)
  snapshot(): Promise<Snapshot> {
    return this.entries.snapshot();
  }
}
