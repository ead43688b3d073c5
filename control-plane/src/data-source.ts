import "reflect-metadata";
import { join } from "node:path";
import { DataSource, DataSourceOptions } from "typeorm";
import { databaseUrl } from "./config/database";
import { EntryChange } from "./entries/entry-change.entity";
import { Entry } from "./entries/entry.entity";

/**
 * The one TypeORM configuration, used by the app (TypeOrmModule) and by the
 * TypeORM CLI (`npm run migration:*`, which loads the compiled copy of this
 * file). Schema changes go through migrations only: synchronize stays off.
 */
export function dataSourceOptions(url: string = databaseUrl()): DataSourceOptions {
  return {
    type: "postgres",
    url,
    entities: [Entry, EntryChange],
    // Two levels up: dist/migrations/*.js in the build, migrations/*.ts under ts-jest.
    migrations: [join(__dirname, "..", "..", "migrations", "*.{js,ts}")],
    migrationsTableName: "migrations",
    synchronize: false,
    migrationsRun: false,
    // Short so a request during a Postgres outage fails fast with a 503.
    connectTimeoutMS: 3000,
    // TCP keepalive notices a connection whose peer vanished (a partition, a
    // failover) instead of waiting on it forever.
    extra: { max: 10, keepAlive: true, keepAliveInitialDelayMillis: 10000 },
  };
}

export default new DataSource(dataSourceOptions());
