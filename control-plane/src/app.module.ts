import { MiddlewareConsumer, Module, NestModule, RequestMethod } from "@nestjs/common";
import { ConfigModule, ConfigType } from "@nestjs/config";
import { TypeOrmModule } from "@nestjs/typeorm";
import { AuthModule } from "./auth/auth.module";
import { JsonBodyMiddleware } from "./common/json-body.middleware";
import { TextBodyMiddleware } from "./common/text-body.middleware";
import { IMPORT_PATH } from "./entries/bulk.controller";
import { authSettings, databaseSettings, edgeSettings, serverSettings } from "./config/settings";
import { dataSourceOptions } from "./data-source";
import { EdgesModule } from "./edges/edges.module";
import { EntriesModule } from "./entries/entries.module";
import { HealthModule } from "./health/health.module";
import { MetricsModule } from "./metrics/metrics.module";
import { RequestMetricsMiddleware } from "./metrics/request-metrics.middleware";
import { LoggerModule } from "nestjs-pino";

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      load: [serverSettings, databaseSettings, authSettings, edgeSettings],
    }),
    TypeOrmModule.forRootAsync({
      inject: [databaseSettings.KEY],
      useFactory: (database: ConfigType<typeof databaseSettings>) => ({
        ...dataSourceOptions(database.url),
        // Keep retrying at boot is the supervisor's job; fail fast and say why.
        retryAttempts: 0,
      }),
    }),
    LoggerModule.forRoot({
      pinoHttp: {
        level: process.env.LOG_LEVEL || "info",
        // Tokens and the sync secret never reach a log.
        redact: ["req.headers.authorization", 'req.headers["x-set-backend-secret"]'],
        // Health checks and scrapes would drown the admin actions.
        autoLogging: { ignore: (request) => ["/healthz", "/readyz", "/metrics"].includes(request.url ?? "") },
      },
    }),
    MetricsModule,
    AuthModule,
    EdgesModule,
    EntriesModule,
    HealthModule,
  ],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    const importRoute = { path: IMPORT_PATH, method: RequestMethod.POST };
    consumer.apply(RequestMetricsMiddleware).forRoutes({ path: "*path", method: RequestMethod.ALL });
    consumer.apply(TextBodyMiddleware).forRoutes(importRoute);
    consumer.apply(JsonBodyMiddleware).exclude(importRoute).forRoutes({ path: "*path", method: RequestMethod.ALL });
  }
}
