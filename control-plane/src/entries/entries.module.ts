import { Module } from "@nestjs/common";
import { EdgesModule } from "../edges/edges.module";
import { EntriesController } from "./entries.controller";
import { EntriesService } from "./entries.service";
import { SnapshotController } from "./snapshot.controller";

@Module({
  imports: [EdgesModule],
  controllers: [EntriesController, SnapshotController],
  providers: [EntriesService],
  exports: [EntriesService],
})
export class EntriesModule {}
