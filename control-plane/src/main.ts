import "reflect-metadata";
import { Logger, ValidationPipe } from "@nestjs/common";
import { ConfigType } from "@nestjs/config";
import { NestFactory } from "@nestjs/core";
import { getDataSourceToken } from "@nestjs/typeorm";
import { DataSource } from "typeorm";
import { AppModule } from "./app.module";
import { ApiErrorFilter } from "./common/api-error.filter";
import { serverSettings } from "./config/settings";

/**
 * Session-level advisory lock held while migrations run, so replicas that
 * start together run them once. (Arbitrary constant; "sbm" in ASCII.)
 */
const MIGRATION_LOCK_KEY = 0x73626d;

async function runMigrations(dataSource: DataSource, logger: Logger): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    const applied = await dataSource.runMigrations({ transaction: "each" });
    for (const migration of applied) {
      logger.log(`migration applied: ${migration.name}`);
    }
  } finally {
    await runner.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}

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
