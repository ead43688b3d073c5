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
import pino from "pino";
import { CHANGES_PATH } from "../../lua/src/set_backend/contract";

/** Paths whose requests are not logged one by one; their metrics still count them. */
const UNLOGGED_PATHS = new Set(["/healthz", "/readyz", "/metrics", CHANGES_PATH]);

/** Request ids of requests that came without one from the edge. */
let nextRequestId = 0;

/** An X-Request-Id worth logging: one value of letters, digits and hyphens, at most 64. */
function requestIdOf(header: string | string[] | undefined): string | undefined {
  return typeof header === "string" && /^[A-Za-z0-9-]{1,64}$/.test(header) ? header : undefined;
}

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
      pinoHttp: [
        {
          level: process.env.LOG_LEVEL || "info",
          // The edge's $request_id, so a request's lines in both logs can be matched.
          genReqId: (request) => requestIdOf(request.headers["x-request-id"]) ?? (nextRequestId += 1),
          // Method, path and status, not the headers: a line per request stays cheap, and no token or sync secret reaches it.
          serializers: {
            req: (request: { id: unknown; method: string; url: string; remoteAddress: string }) => ({
              id: request.id,
              method: request.method,
              url: request.url,
              remoteAddress: request.remoteAddress,
            }),
            res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
          },
          // Health checks, scrapes and the edges' polls (each edge, every 2 s) would drown the admin actions.
          autoLogging: { ignore: (request) => UNLOGGED_PATHS.has((request.url ?? "").split("?")[0] ?? "") },
        },
        // Written asynchronously: a slow reader of stdout (a pipe) delays lines, never a request.
        // pino flushes what is pending when the process exits.
        pino.destination({ dest: 1, sync: false }),
      ],
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
