import { Module } from "@nestjs/common";
import { APP_GUARD } from "@nestjs/core";
import { BearerGuard } from "./bearer.guard";

@Module({
  providers: [{ provide: APP_GUARD, useClass: BearerGuard }],
})
export class AuthModule {}
