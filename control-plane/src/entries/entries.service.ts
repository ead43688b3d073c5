import { Inject, Injectable } from "@nestjs/common";
import { InjectDataSource } from "@nestjs/typeorm";
import { DataSource, EntityManager, MoreThan, QueryFailedError } from "typeorm";
import { Change, ChangesPage, MAX_REVISION, Snapshot } from "../../../lua/src/set_backend/contract";
import { ApiError } from "../common/api-error";
import { serverSettings } from "../config/settings";
import type { ServerSettings } from "../config/settings";
import { EdgesService, PushOutcome } from "../edges/edges.service";
import { EntryChange } from "./entry-change.entity";
import { Entry } from "./entry.entity";
import { checkBackends, checkHost } from "./host-rules";

/**
 * Every write takes this transaction-level advisory lock first, so revisions
 * are handed out in commit order across all control-plane replicas: an edge
 * that has revision R has every change up to R. (Arbitrary constant; "sb" in ASCII.)
 */
const WRITE_LOCK_KEY = 0x7362;

export interface WriteResult {
  /** One outcome per edge: confirmed, or why not. */
  edges: PushOutcome[];
}

export interface UpsertResult extends WriteResult {
  entry: Entry;
  created: boolean;
}

/**
 * Postgres error classes that mean "the server went away" rather than "this
 * query is wrong": 08 connection exception, 57P01-57P03 shutdown and
 * cannot-connect-now (Postgres manual, appendix A).
 */
function isConnectionFailure(error: QueryFailedError): boolean {
  const code = (error.driverError as { code?: string } | undefined)?.code ?? "";
  return code.startsWith("08") || ["57P01", "57P02", "57P03"].includes(code);
}

@Injectable()
export class EntriesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly edges: EdgesService,
    @Inject(serverSettings.KEY) private readonly server: ServerSettings,
  ) {}

  /** Create or update; answers once the edges confirmed or the wait ran out. */
  async upsert(rawHost: string, backend: string | undefined, backendList?: string[]): Promise<UpsertResult> {
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
    const { entry, created, previous } = await this.write(async (manager) => {
      const existing = await manager.findOne(Entry, { where: { host } });
      const change = await this.recordChange(manager, host, backends.value);
      const now = change.changedAt;
      const saved = await manager.save(Entry, {
        host,
        backends: backends.value,
        revision: change.revision,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      });
      return { entry: saved, created: existing === null, previous: change.previous };
    });
    const edges = await this.edges.push(previous, [{ host, backends: entry.backends, revision: entry.revision }]);
    return { entry, created, edges };
  }

  /** Delete; 404 when the host has no entry. */
  async remove(rawHost: string): Promise<WriteResult> {
    const host = this.hostOrThrow(rawHost);
    const change = await this.write(async (manager) => {
      const existing = await manager.findOne(Entry, { where: { host } });
      if (existing === null) {
        throw new ApiError(404, "not_found", `no entry for host '${host}'`);
      }
      const recorded = await this.recordChange(manager, host, null);
      await manager.delete(Entry, { host });
      return recorded;
    });
    const edges = await this.edges.push(change.previous, [{ host, revision: change.revision }]);
    return { edges };
  }

  async findOne(rawHost: string): Promise<Entry> {
    const host = this.hostOrThrow(rawHost);
    const entry = await this.read((manager) => manager.findOne(Entry, { where: { host } }));
    if (entry === null) {
      throw new ApiError(404, "not_found", `no entry for host '${host}'`);
    }
    return entry;
  }

  async findAll(): Promise<Entry[]> {
    return this.read((manager) => manager.find(Entry, { order: { host: "ASC" } }));
  }

  /** The whole table at one revision, for an edge that (re)starts. */
  async snapshot(): Promise<Snapshot> {
    return this.dataSource.transaction("REPEATABLE READ", async (manager) => {
      const revision = await this.currentRevision(manager);
      const rows = await manager.find(Entry, { select: { host: true, backends: true, revision: true } });
      const entries: Change[] = rows.map((row) => ({ host: row.host, backends: row.backends, revision: row.revision }));
      return { revision, entries };
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

  /**
   * Appends one change to the log. Runs under the write lock, so the log's
   * current head is the change just before this one (`previous`), which is
   * what lets an edge notice a push it missed.
   */
  private async recordChange(manager: EntityManager, host: string, backends: string[] | null): Promise<EntryChange & { previous: number }> {
    const previous = await this.currentRevision(manager);
    const rows: Array<{ revision: string; changed_at: Date }> = await manager.query(
      `INSERT INTO "entry_changes" ("host", "backends") VALUES ($1, $2) RETURNING "revision", "changed_at"`,
      [host, backends],
    );
    const row = rows[0];
    if (row === undefined) {
      throw new Error("INSERT ... RETURNING gave no row");
    }
    const revision = Number(row.revision);
    if (revision > MAX_REVISION) {
      throw new ApiError(507, "revisions_exhausted", "the change log has used every revision an edge can store");
    }
    return { revision, host, backends, changedAt: row.changed_at, previous };
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
