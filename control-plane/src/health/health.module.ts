import { Module } from "@nestjs/common";
import { EdgesModule } from "../edges/edges.module";
import { EntriesModule } from "../entries/entries.module";
import { HealthController } from "./health.controller";

@Module({
  imports: [EntriesModule, EdgesModule],
  controllers: [HealthController],
})
export class HealthModule {}
