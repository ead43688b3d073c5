import "reflect-metadata";
import { Logger, ValidationPipe } from "@nestjs/common";
import { ConfigType } from "@nestjs/config";
import { NestFactory } from "@nestjs/core";
import { getDataSourceToken } from "@nestjs/typeorm";
import { DataSource } from "typeorm";
import { AppModule } from "./app.module";
import { ApiErrorFilter } from "./common/api-error.filter";
import { runMigrations } from "./migrate";
import { serverSettings } from "./config/settings";

export async function bootstrap(): Promise<void> {
  const logger = new Logger("control-plane");
  const app = await NestFactory.create(AppModule, { bodyParser: false });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new ApiErrorFilter());
  app.enableShutdownHooks();
  app.getHttpAdapter().getInstance().disable("x-powered-by");
  await runMigrations(app.get<DataSource>(getDataSourceToken()), logger);
  const server = app.get<ConfigType<typeof serverSettings>>(serverSettings.KEY);
  await app.listen(server.port, server.host);
  logger.log(`listening on http://${server.host}:${server.port}, admin host ${server.adminHost}`);
}

if (require.main === module) {
  bootstrap().catch((error: unknown) => {
    // A misconfigured or unreachable dependency: say why and exit non-zero.
    console.error(`control plane failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
