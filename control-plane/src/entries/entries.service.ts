import { Inject, Injectable, Logger } from "@nestjs/common";
import type { ConfigType } from "@nestjs/config";
import { InjectDataSource } from "@nestjs/typeorm";
import { AsyncResource } from "node:async_hooks";
import { DatabaseError } from "pg";
import { DataSource, EntityManager, MoreThan, QueryFailedError } from "typeorm";
import { BACKEND_SEPARATOR, Change, ChangesPage, MAX_REVISION } from "../../../lua/src/set_backend/contract";
import { ApiError } from "../common/api-error";
import { databaseSettings, serverSettings } from "../config/settings";
import type { ServerSettings } from "../config/settings";
import { EdgesService, PushOutcome } from "../edges/edges.service";
import { MetricsService } from "../metrics/metrics.service";
import { EntryChange } from "./entry-change.entity";
import { Entry } from "./entry.entity";
import { checkBackends, checkHost } from "./host-rules";
import { ImportFormat, parseImport } from "./import-formats";

/**
 * Every write takes this transaction-level advisory lock first, so revisions
 * are handed out in commit order across all control-plane replicas: an edge
 * that has revision R has every change up to R. (Arbitrary constant; "sb" in ASCII.)
 */
const WRITE_LOCK_KEY = 0x7362;

/** SQLSTATE that set_backend_write raises for a revision past MAX_REVISION (migrations/1764500000000-WriteFunction.ts). */
const REVISIONS_EXHAUSTED_SQLSTATE = "SB507";

/**
 * Most single-entry writes committed together. The batch is one function
 * call and one push; its changes travel in one body to every edge.
 */
const MAX_WRITE_BATCH = 1000;

/** A single-entry write waiting in the queue. */
interface QueuedWrite {
  host: string;
  /** null: delete. */
  backends: string[] | null;
  actor: string;
  resolve: (applied: AppliedWrite) => void;
  reject: (error: unknown) => void;
}

/** What a queued write became, once its batch was committed and pushed. */
interface AppliedWrite {
  outcome: "created" | "updated" | "deleted" | "not_found";
  revision: number;
  changedAt: Date;
  createdAt: Date;
  edges: PushOutcome[];
}

/** One row of set_backend_write. */
interface WriteRow {
  w_position: number;
  w_outcome: AppliedWrite["outcome"];
  w_revision: string | null;
  w_changed_at: Date | null;
  w_created_at: Date | null;
  w_previous: string;
}

export interface WriteResult {
  /** One outcome per edge: confirmed, or why not. */
  edges: PushOutcome[];
}

export interface ImportResult extends WriteResult {
  dry_run: boolean;
  total: number;
  created: number;
  updated: number;
  /** Table revision after the import (the database's, unchanged on a dry run). */
  revision: number;
}

/** Most errors an import reports; the rest are counted. */
const MAX_REPORTED_ERRORS = 1000;
/** An import is pushed to edges as one batch and waits longer for them than a single write does. */
const IMPORT_CONFIRM_TIMEOUT_MS = 60000;

export interface UpsertResult extends WriteResult {
  entry: Entry;
  created: boolean;
}

/** The loggable part of a write's result. */
function summary(result: WriteResult): Record<string, unknown> {
  const { edges: _edges, entry, ...rest } = result as WriteResult & { entry?: { host: string; revision: number } };
  return entry ? { ...rest, host: entry.host, revision: entry.revision } : rest;
}

/**
 * Postgres error classes that mean "the server went away" rather than "this
 * query is wrong": 08 connection exception, 57P01-57P03 shutdown and
 * cannot-connect-now (Postgres manual, appendix A).
 */
function isConnectionFailure(error: QueryFailedError): boolean {
  // An error the server did not send (no SQLSTATE) is the driver's or the
  // socket's: "Connection terminated unexpectedly", ECONNRESET.
  if (!(error.driverError instanceof DatabaseError)) {
    return true;
  }
  const code = error.driverError.code ?? "";
  return code.startsWith("08") || ["57P01", "57P02", "57P03"].includes(code);
}

/** 507: the change log has handed out every revision an edge can store (MAX_REVISION). */
function revisionsExhausted(): ApiError {
  return new ApiError(507, "revisions_exhausted", "the change log has used every revision an edge can store");
}

/** The two forms of the snapshot (contract.Snapshot, contract.SnapshotColumns). */
export type SnapshotForm = "entries" | "columns";

@Injectable()
export class EntriesService {
  /** The snapshot being built in each form, shared by everyone who asks meanwhile. */
  private readonly snapshotsInFlight = new Map<SnapshotForm, Promise<string>>();

  /** Single-entry writes waiting for the next batch, oldest first; `draining` while a batch runs. */
  private readonly queued: QueuedWrite[] = [];
  private draining = false;
  /** The async context the service was made in (no request's), for the drain. */
  private readonly drainScope = new AsyncResource("set-backend-write-batches");

  private readonly logger = new Logger("entries");

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly edges: EdgesService,
    @Inject(serverSettings.KEY) private readonly server: ServerSettings,
    @Inject(databaseSettings.KEY) private readonly database: ConfigType<typeof databaseSettings>,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Times a write to its answer (edge confirmations included) and logs it as
   * one structured admin action; failures are logged by the error filter.
   */
  private async action<T extends WriteResult>(operation: string, actor: string, fields: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
    const stop = this.metrics.writeDuration.startTimer({ operation });
    const result = await work();
    stop();
    const lagging = result.edges.filter((edge) => !edge.confirmed).map((edge) => edge.edge);
    this.logger.log({ event: `entry.${operation}`, actor, ...fields, ...summary(result), lagging_edges: lagging });
    return result;
  }

  /** Create or update; answers once the edges confirmed or the wait ran out. */
  async upsert(rawHost: string, backend: string | undefined, backendList: string[] | undefined, actor: string): Promise<UpsertResult> {
    return this.action("upsert", actor, {}, () => this.doUpsert(rawHost, backend, backendList, actor));
  }

  private async doUpsert(rawHost: string, backend: string | undefined, backendList: string[] | undefined, actor: string): Promise<UpsertResult> {
    const host = this.hostOrThrow(rawHost);
    if (host === this.server.adminHost) {
      throw new ApiError(422, "reserved_host", `'${host}' is the admin host and cannot be routed`);
    }
    if ((backend === undefined) === (backendList === undefined)) {
      throw new ApiError(400, "invalid_backend", "give either 'backend' (one) or 'backends' (a list), not both and not neither");
    }
    const backends = checkBackends(backendList ?? [backend as string]);
    if (backends.error !== undefined) {
      throw new ApiError(400, "invalid_backend", backends.error);
    }
    const applied = await this.submit(host, backends.value, actor);
    const entry: Entry = { host, backends: backends.value, revision: applied.revision, createdAt: applied.createdAt, updatedAt: applied.changedAt };
    return { entry, created: applied.outcome === "created", edges: applied.edges };
  }

  /** Delete; 404 when the host has no entry. */
  async remove(rawHost: string, actor: string): Promise<WriteResult> {
    const host = this.hostOrThrow(rawHost);
    return this.action("delete", actor, { host }, () => this.doRemove(host, actor));
  }

  private async doRemove(host: string, actor: string): Promise<WriteResult> {
    const applied = await this.submit(host, null, actor);
    if (applied.outcome === "not_found") {
      throw new ApiError(404, "not_found", `no entry for host '${host}'`);
    }
    return { edges: applied.edges };
  }

  /**
   * Queues one single-entry write (backends null: a delete) for the next
   * batch. The answer comes once the batch is committed and pushed.
   */
  private submit(host: string, backends: string[] | null, actor: string): Promise<AppliedWrite> {
    return new Promise<AppliedWrite>((resolve, reject) => {
      this.queued.push({ host, backends, actor, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        // Outside the async context of the request that happens to start it,
        // so the drain's own log lines do not carry that request's id.
        this.drainScope.runInAsyncScope(() => void this.drain());
      }
    });
  }

  /**
   * Group commit: while a batch is being committed and pushed, the writes
   * that arrive wait in the queue, and the next batch takes all of them (up
   * to MAX_WRITE_BATCH). One write alone costs one round trip to Postgres
   * and one push; under load, one commit and one push serve many writes.
   * Batches run one at a time, so pushes reach each edge in revision order,
   * unless a batch outlived WRITE_TIMEOUT_MS: its push may then come late,
   * and an edge that sees the gap pulls.
   */
  private async drain(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        const batch = this.queued.splice(0, MAX_WRITE_BATCH);
        let timer: NodeJS.Timeout | undefined;
        try {
          // A database call that never answers (a partition) must not hold
          // every later write: the batch fails with 503 and the queue moves on.
          // If it did commit, the next push's `previous` makes the edges pull it.
          // (The push gives up by itself after EDGE_CONFIRM_TIMEOUT_MS.)
          const timeoutMs = this.database.writeTimeoutMs;
          const stuck = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new ApiError(503, "database_unavailable", `the database did not answer within ${timeoutMs} ms`)), timeoutMs);
          });
          await Promise.race([this.commitBatch(batch), stuck]);
        } catch (error) {
          // Writes already answered ignore this; the others must not wait forever.
          for (const write of batch) {
            write.reject(error);
          }
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async commitBatch(batch: QueuedWrite[]): Promise<void> {
    let rows: WriteRow[];
    try {
      rows = await this.guardDatabase(() =>
        this.dataSource.query(`SELECT * FROM "set_backend_write"($1::varchar[], $2::text[], $3, $4::varchar[], $5, $6)`, [
          batch.map((write) => write.host),
          batch.map((write) => (write.backends === null ? null : write.backends.join(BACKEND_SEPARATOR))),
          BACKEND_SEPARATOR,
          batch.map((write) => write.actor),
          WRITE_LOCK_KEY,
          MAX_REVISION,
        ]),
      );
    } catch (error) {
      if (error instanceof QueryFailedError && (error.driverError as { code?: string } | undefined)?.code === REVISIONS_EXHAUSTED_SQLSTATE) {
        throw revisionsExhausted();
      }
      throw error;
    }
    if (rows.length !== batch.length) {
      throw new Error(`set_backend_write answered ${rows.length} rows for ${batch.length} writes`);
    }
    rows.sort((a, b) => a.w_position - b.w_position);
    const changes: Change[] = [];
    rows.forEach((row, index) => {
      const write = batch[index] as QueuedWrite;
      if (row.w_outcome === "not_found") {
        return;
      }
      const revision = Number(row.w_revision);
      changes.push(write.backends === null ? { host: write.host, revision } : { host: write.host, backends: write.backends, revision });
    });
    const edges = changes.length > 0 ? await this.edges.push(Number(rows[0]?.w_previous ?? 0), changes) : [];
    rows.forEach((row, index) => {
      (batch[index] as QueuedWrite).resolve({
        outcome: row.w_outcome,
        revision: Number(row.w_revision),
        changedAt: row.w_changed_at as Date,
        createdAt: row.w_created_at as Date,
        edges,
      });
    });
  }

  async findOne(rawHost: string): Promise<Entry> {
    const host = this.hostOrThrow(rawHost);
    const entry = await this.read((manager) => manager.findOne(Entry, { where: { host } }));
    if (entry === null) {
      throw new ApiError(404, "not_found", `no entry for host '${host}'`);
    }
    return entry;
  }

  /**
   * One page of entries ordered by host, after `cursor` (a host), optionally
   * only hosts at or below `suffix`. Keyset paging: an entry that exists for
   * the whole walk is listed exactly once, whatever is written meanwhile.
   * Returns one entry more than asked when there is a next page.
   */
  async findPage(limit: number, cursor?: string, suffix?: string): Promise<Entry[]> {
    let normalizedSuffix: string | undefined;
    if (suffix !== undefined) {
      const checked = checkHost(suffix);
      if (checked.error !== undefined || checked.value.startsWith("*")) {
        throw new ApiError(400, "invalid_query", `suffix must be a host name: ${checked.error ?? "no wildcard"}`);
      }
      normalizedSuffix = checked.value;
    }
    return this.read((manager) => {
      const query = manager.createQueryBuilder(Entry, "entry").orderBy("entry.host", "ASC").limit(limit + 1);
      if (cursor !== undefined) {
        query.andWhere("entry.host > :cursor", { cursor });
      }
      if (normalizedSuffix !== undefined) {
        query.andWhere("(entry.host = :suffix OR entry.host LIKE :below)", { suffix: normalizedSuffix, below: `%.${normalizedSuffix}` });
      }
      return query.getMany();
    });
  }

  /**
   * Imports entries: every line is checked first, and any error refuses the
   * whole import (422, every error listed by line). Otherwise all entries are
   * written in one transaction, each with its change in the log, and pushed
   * to the edges as one batch; the call answers once they have it.
   */
  async importEntries(format: ImportFormat, text: string, actor: string, dryRun: boolean): Promise<ImportResult> {
    return this.action("import", actor, { format }, () => this.doImport(format, text, actor, dryRun));
  }

  private async doImport(format: ImportFormat, text: string, actor: string, dryRun: boolean): Promise<ImportResult> {
    const parsed = parseImport(format, text);
    const errors = [...parsed.errors];
    const hosts: string[] = [];
    const backendLists: string[] = [];
    const seen = new Map<string, number>();
    for (const item of parsed.items) {
      const where = `line ${item.line}`;
      if (item.unknownFields.length > 0) {
        errors.push(`${where}: unknown field(s) ${item.unknownFields.join(", ")}`);
        continue;
      }
      if (typeof item.host !== "string") {
        errors.push(`${where}: host must be a string`);
        continue;
      }
      const host = checkHost(item.host);
      if (host.error !== undefined) {
        errors.push(`${where}: host '${item.host}': ${host.error}`);
        continue;
      }
      if (host.value === this.server.adminHost) {
        errors.push(`${where}: '${host.value}' is the admin host and cannot be routed`);
        continue;
      }
      if ((item.backend === undefined) === (item.backends === undefined)) {
        errors.push(`${where}: give either 'backend' or 'backends'`);
        continue;
      }
      const list = item.backends ?? [item.backend];
      if (!Array.isArray(list) || !list.every((backend) => typeof backend === "string")) {
        errors.push(`${where}: backends must be strings`);
        continue;
      }
      const backends = checkBackends(list as string[]);
      if (backends.error !== undefined) {
        errors.push(`${where}: ${backends.error}`);
        continue;
      }
      const first = seen.get(host.value);
      if (first !== undefined) {
        errors.push(`${where}: host '${host.value}' is already on line ${first}`);
        continue;
      }
      seen.set(host.value, item.line);
      hosts.push(host.value);
      backendLists.push(JSON.stringify(backends.value));
    }
    if (errors.length > 0) {
      const reported = errors.slice(0, MAX_REPORTED_ERRORS);
      if (errors.length > reported.length) {
        reported.push(`... and ${errors.length - reported.length} more`);
      }
      throw new ApiError(422, "invalid_import", `${errors.length} problem(s); nothing was imported`, reported);
    }
    if (hosts.length === 0) {
      throw new ApiError(422, "invalid_import", "the import has no entries; nothing was imported");
    }
    if (dryRun) {
      const existing = await this.read((manager) => manager.createQueryBuilder(Entry, "entry").where("entry.host IN (:...hosts)", { hosts }).getCount());
      return { dry_run: true, total: hosts.length, created: hosts.length - existing, updated: existing, revision: await this.currentRevision(), edges: [] };
    }
    const { previous, changes, created } = await this.write(async (manager) => {
      const before = await this.currentRevision(manager);
      // One statement per table, whatever the size: 100,000 round trips would take minutes.
      const rows: Array<{ revision: string; host: string; backends: string[]; inserted: boolean }> = await manager.query(
        `WITH input AS (
           SELECT "host", ARRAY(SELECT json_array_elements_text("list"::json)) AS "backends", "position"
           FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t("host", "list", "position")),
         changes AS (
           INSERT INTO "entry_changes" ("host", "backends", "actor", "old_backends")
           SELECT input."host", input."backends", $3, entries."backends"
           FROM input LEFT JOIN "entries" ON entries."host" = input."host"
           ORDER BY input."position"
           RETURNING "revision", "host", "backends", "changed_at")
         INSERT INTO "entries" ("host", "backends", "revision", "created_at", "updated_at")
         SELECT "host", "backends", "revision", "changed_at", "changed_at" FROM changes
         ON CONFLICT ("host") DO UPDATE SET "backends" = EXCLUDED."backends", "revision" = EXCLUDED."revision", "updated_at" = EXCLUDED."updated_at"
         RETURNING "revision", "host", "backends", (xmax = 0) AS "inserted"`,
        [hosts, backendLists, actor],
      );
      const changes: Change[] = rows
        .map((row) => ({ host: row.host, backends: row.backends, revision: Number(row.revision) }))
        .sort((a, b) => a.revision - b.revision);
      if ((changes.at(-1)?.revision ?? 0) > MAX_REVISION) {
        throw revisionsExhausted();
      }
      return { previous: before, changes, created: rows.filter((row) => row.inserted).length };
    });
    const edges = await this.edges.push(previous, changes, IMPORT_CONFIRM_TIMEOUT_MS);
    return {
      dry_run: false,
      total: changes.length,
      created,
      updated: changes.length - created,
      revision: changes.at(-1)?.revision ?? previous,
      edges,
    };
  }

  /** Every entry, ordered by host, for an export. */
  async exportEntries(): Promise<Entry[]> {
    return this.read((manager) => manager.find(Entry, { order: { host: "ASC" } }));
  }

  /** Every recorded change of one host, oldest first. */
  async history(rawHost: string): Promise<EntryChange[]> {
    const host = this.hostOrThrow(rawHost);
    const changes = await this.read((manager) => manager.find(EntryChange, { where: { host }, order: { revision: "ASC" } }));
    if (changes.length === 0) {
      throw new ApiError(404, "not_found", `no change recorded for host '${host}'`);
    }
    return changes;
  }

  /** The global feed: changes after revision `since`, oldest first, one more than asked when there is more. */
  async changes(since: number, limit: number): Promise<EntryChange[]> {
    return this.read((manager) => manager.find(EntryChange, { where: { revision: MoreThan(since) }, order: { revision: "ASC" }, take: limit + 1 }));
  }

  /**
   * The whole table at one revision, for an edge that (re)starts, as JSON
   * text: a contract.Snapshot ("entries") or a contract.SnapshotColumns
   * ("columns"). Postgres writes the JSON, so a million entries cost one
   * query and one string here rather than a million entities and a
   * JSON.stringify of all of them (seconds of a cold start).
   */
  snapshotJson(form: SnapshotForm = "entries"): Promise<string> {
    // Edges that start together (a fleet restart) share one build: whoever
    // asks while it runs gets the table at the same revision, which is as
    // good as any, and catches up with the changes after it by pulling.
    let build = this.snapshotsInFlight.get(form);
    if (build === undefined) {
      build = this.buildSnapshotJson(form).finally(() => this.snapshotsInFlight.delete(form));
      this.snapshotsInFlight.set(form, build);
    }
    return build;
  }

  private buildSnapshotJson(form: SnapshotForm): Promise<string> {
    return this.dataSource.transaction("REPEATABLE READ", async (manager) => {
      const revision = await this.currentRevision(manager);
      if (form === "columns") {
        // In the order of the edge dict's own hash (CRC-32 of the host, as
        // nginx's ngx_crc32_short computes it), each insert lands next to
        // the previous one in the dict's red-black tree, whose path is then
        // still in the CPU's cache: a million entries load in about half
        // the time. crc32() exists from Postgres 18 on; before, the order is
        // the table's, which loads the same table, only slower.
        const ordered = await this.hasCrc32(manager);
        if (ordered) {
          await manager.query(`SET LOCAL work_mem = '256MB'`);
        }
        // One scan feeds the three aggregates, so they list the entries in the same order.
        const [row]: Array<{ hosts: string | null; backends: string | null; revisions: string | null }> = await manager.query(
          `SELECT json_agg("host")::text AS "hosts", json_agg(array_to_string("backends", $1))::text AS "backends", json_agg("revision")::text AS "revisions"
           FROM (SELECT "host", "backends", "revision" FROM "entries" ${ordered ? `ORDER BY crc32(convert_to("host", 'UTF8'))` : ""}) AS "e"`,
          [BACKEND_SEPARATOR],
        );
        return `{"revision":${revision},"hosts":${row?.hosts ?? "[]"},"backends":${row?.backends ?? "[]"},"revisions":${row?.revisions ?? "[]"}}`;
      }
      const [row]: Array<{ entries: string | null }> = await manager.query(
        `SELECT string_agg(json_build_object('host', "host", 'backends', "backends", 'revision', "revision")::text, ',') AS "entries" FROM "entries"`,
      );
      return `{"revision":${revision},"entries":[${row?.entries ?? ""}]}`;
    });
  }

  /**
   * The changes after revision `since`, oldest first, at most `limit`: what an
   * edge that holds `since` is missing. 410 when the change log no longer
   * reaches back that far; the edge then loads a snapshot.
   */
  async changesSince(since: number, limit: number): Promise<ChangesPage> {
    return this.guardDatabase(() =>
      this.dataSource.transaction("REPEATABLE READ", async (manager) => {
        const bounds: Array<{ oldest: string | null; head: string | null }> = await manager.query(
          `SELECT min("revision") AS "oldest", max("revision") AS "head" FROM "entry_changes"`,
        );
        const head = Number(bounds[0]?.head ?? 0);
        const oldest = Number(bounds[0]?.oldest ?? 0);
        // Changes up to oldest - 1 may have been pruned; an edge older than that cannot catch up by changes.
        if (since < head && since < oldest - 1) {
          throw new ApiError(410, "log_pruned", `the change log starts after revision ${since}; load a snapshot`);
        }
        const rows = await manager.find(EntryChange, {
          where: { revision: MoreThan(since) },
          order: { revision: "ASC" },
          take: limit,
        });
        const changes: Change[] = rows.map((row) =>
          row.backends === null ? { host: row.host, revision: row.revision } : { host: row.host, backends: row.backends, revision: row.revision },
        );
        const last = rows.at(-1)?.revision ?? since;
        return { previous: since, changes, head, complete: last >= head };
      }),
    );
  }

  /**
   * Whether the server has crc32() (Postgres 18 and later). Asked at each
   * snapshot build, which is rare: a failover may land on another version.
   */
  private async hasCrc32(manager: EntityManager): Promise<boolean> {
    const rows: Array<{ available: boolean }> = await manager.query(`SELECT current_setting('server_version_num')::int >= 180000 AS "available"`);
    return rows[0]?.available === true;
  }

  /** Highest committed revision (0 for an empty log). */
  async currentRevision(manager: EntityManager = this.dataSource.manager): Promise<number> {
    const rows: Array<{ revision: string | null }> = await manager.query(`SELECT max("revision") AS "revision" FROM "entry_changes"`);
    return Number(rows[0]?.revision ?? 0);
  }

  private hostOrThrow(rawHost: string): string {
    const host = checkHost(rawHost);
    if (host.error !== undefined) {
      throw new ApiError(400, "invalid_host", host.error);
    }
    return host.value;
  }

  private async write<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.guardDatabase(() =>
      this.dataSource.transaction(async (manager) => {
        await manager.query("SELECT pg_advisory_xact_lock($1)", [WRITE_LOCK_KEY]);
        return work(manager);
      }),
    );
  }

  private async read<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.guardDatabase(() => work(this.dataSource.manager));
  }

  /** A database that cannot be reached is a 503 with a clear message, not a 500. */
  private async guardDatabase<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ApiError || (error instanceof QueryFailedError && !isConnectionFailure(error))) {
        throw error;
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new ApiError(503, "database_unavailable", `the database cannot be reached: ${message}`);
    }
  }
}
