import { Module } from "@nestjs/common";
import { EdgesModule } from "../edges/edges.module";
import { EntriesController } from "./entries.controller";
import { EntriesService } from "./entries.service";
import { BulkController } from "./bulk.controller";
import { SyncController } from "./sync.controller";

@Module({
  imports: [EdgesModule],
  controllers: [BulkController, EntriesController, SyncController],
  providers: [EntriesService],
  exports: [EntriesService],
})
export class EntriesModule {}
