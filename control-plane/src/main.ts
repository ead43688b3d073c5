import "reflect-metadata";
import { INestApplication, Logger, ValidationPipe } from "@nestjs/common";
import { DocumentBuilder, SwaggerModule } from "@nestjs/swagger";
import { ConfigType } from "@nestjs/config";
import { NestFactory } from "@nestjs/core";
import { getDataSourceToken } from "@nestjs/typeorm";
import { DataSource } from "typeorm";
import { Logger as PinoLogger } from "nestjs-pino";
import { AppModule } from "./app.module";
import { ApiErrorFilter } from "./common/api-error.filter";
import { runMigrations } from "./migrate";
import { serverSettings } from "./config/settings";

/** The OpenAPI document, generated from the controllers and DTOs, at /docs (UI) and /docs-json. */
export function setUpOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle("set-backend admin API")
    .setDescription("Routes every HTTP request to its backend by Host. Served by the edge on the admin host (l.io by default).")
    .addBearerAuth()
    .build();
  SwaggerModule.setup("docs", app, SwaggerModule.createDocument(app, config));
}

export async function bootstrap(): Promise<void> {
  const logger = new Logger("control-plane");
  const app = await NestFactory.create(AppModule, { bodyParser: false, bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new ApiErrorFilter());
  // Exit (rather than re-raise the signal) once shut down, so the process's
  // exit event fires and pino writes the log lines still in its buffer.
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  app.getHttpAdapter().getInstance().disable("x-powered-by");
  setUpOpenApi(app);
  await runMigrations(app.get<DataSource>(getDataSourceToken()), logger);
  const server = app.get<ConfigType<typeof serverSettings>>(serverSettings.KEY);
  await app.listen(server.port, server.host);
  const shownHost = server.host.includes(":") ? `[${server.host}]` : server.host;
  logger.log(`listening on http://${shownHost}:${server.port}, admin host ${server.adminHost}`);
}

if (require.main === module) {
  bootstrap().catch((error: unknown) => {
    // A misconfigured or unreachable dependency: say why and exit non-zero.
    console.error(`control plane failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
