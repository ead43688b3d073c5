import { Module } from "@nestjs/common";
import { EdgesService } from "./edges.service";
import { SyncSecretGuard } from "./sync-secret.guard";

@Module({
  providers: [EdgesService, SyncSecretGuard],
  exports: [EdgesService, SyncSecretGuard],
})
export class EdgesModule {}
