import { Agent } from "node:http";
import { join } from "node:path";
import { Client } from "pg";
import { httpRequest } from "../../scripts/lib/http";
import { repoRoot, startEmbeddedPostgres } from "../../scripts/lib/postgres";
import { ManagedProcess, waitUntil } from "../../scripts/lib/process";
import { percentile } from "./stats";
import { ADMIN_HOST, ADMIN_TOKEN, SYNC_SECRET } from "./edge";
import { EXACT_PATTERN, WILDCARD_ENTRY } from "./table";

const DATABASE = "set_backend_bench";
const PASSWORD = "bench-password";

export interface ControlPlane {
  postgres: ManagedProcess;
  controlPlane: ManagedProcess;
  databaseUrl: string;
  port: number;
}

/**
 * Embedded Postgres and the compiled control plane, the way
 * test/helpers/stack.ts starts them, pushing to the given sync listeners.
 */
export async function startControlPlane(directory: string, pgPort: number, port: number, syncPorts: number[], started: ManagedProcess[]): Promise<ControlPlane> {
  const postgres = await startEmbeddedPostgres(
    { directory: join(directory, "pgdata"), port: pgPort, user: "postgres", password: PASSWORD, database: DATABASE },
    join(directory, "postgres.log"),
  );
  started.push(postgres);
  const databaseUrl = `postgres://postgres:${PASSWORD}@127.0.0.1:${pgPort}/${DATABASE}`;
  const controlPlane = new ManagedProcess("control-plane", process.execPath, [join(repoRoot(), "dist", "control-plane", "src", "main.js")], {
    env: {
      ...process.env,
      NO_COLOR: "1",
      DATA_DIR: join(directory, "cp-data"),
      DATABASE_URL: databaseUrl,
      ADMIN_TOKEN,
      SYNC_SECRET,
      ADMIN_HOST,
      CONTROL_PLANE_HOST: "127.0.0.1",
      CONTROL_PLANE_PORT: String(port),
      EDGE_SYNC_URLS: syncPorts.map((syncPort) => `http://127.0.0.1:${syncPort}`).join(","),
    },
    logFile: join(directory, "control-plane.log"),
  });
  started.push(controlPlane);
  await waitUntil(
    async () => {
      if (!controlPlane.running) {
        throw new Error(`control plane exited: ${controlPlane.recentOutput.slice(-2000)}`);
      }
      return (await httpRequest(`http://127.0.0.1:${port}/healthz`)).status === 200;
    },
    60000,
    "the control plane",
    100,
  );
  return { postgres, controlPlane, databaseUrl, port };
}

/**
 * Writes a table of `size` entries straight into Postgres (there is no bulk
 * import API), as the API would have: one change-log row per entry, then
 * the entries at those revisions. The database must be empty.
 */
export async function fillDatabase(databaseUrl: string, size: number, backend: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    const [prefix, suffix] = EXACT_PATTERN.split("%07d") as [string, string];
    await client.query(
      `INSERT INTO "entry_changes" ("host", "backends")
       SELECT $1 || lpad(g::text, 7, '0') || $2, ARRAY[$3]::text[] FROM generate_series(1, $4::int) AS g ORDER BY g`,
      [prefix, suffix, backend, size - 1],
    );
    await client.query(`INSERT INTO "entry_changes" ("host", "backends") VALUES ($1, ARRAY[$2]::text[])`, [WILDCARD_ENTRY, backend]);
    await client.query(
      `INSERT INTO "entries" ("host", "backends", "revision", "created_at", "updated_at")
       SELECT "host", "backends", "revision", "changed_at", "changed_at" FROM "entry_changes"`,
    );
    await client.query("COMMIT");
    await client.query(`ANALYZE "entries"`);
    await client.query(`ANALYZE "entry_changes"`);
  } finally {
    await client.end();
  }
}

export interface WriteOutcome {
  ms: number;
  ok: boolean;
  /** The API answered before every edge confirmed (X-Set-Backend-Lagging-Edges). */
  lagging: boolean;
}

/**
 * The writes' HTTP client. Connections to the edge are kept alive, as an API
 * client sending hundreds of writes a second keeps them; otherwise every
 * write would also pay a TCP connect and close, on the edge and on the load
 * core. Up to WriteLoad's 64 writes in flight. Destroyed by closeWriteClient.
 */
const writeAgent = new Agent({ keepAlive: true, maxSockets: 64 });

export function closeWriteClient(): void {
  writeAgent.destroy();
}

/** One upsert through an edge's admin host, timed from send to the full answer. */
export async function timedWrite(edgePort: number, host: string, backend: string): Promise<WriteOutcome> {
  const started = process.hrtime.bigint();
  try {
    const response = await httpRequest(`http://127.0.0.1:${edgePort}/entries.json`, {
      method: "POST",
      headers: { host: ADMIN_HOST, authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ host, backend }),
      timeoutMs: 10000,
      agent: writeAgent,
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { ms, ok: response.status === 200 || response.status === 201, lagging: response.headers["x-set-backend-lagging-edges"] !== undefined };
  } catch {
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, ok: false, lagging: false };
  }
}

export interface WriteSummary {
  writes: number;
  failed: number;
  lagging: number;
  p50Ms: number;
  p99Ms: number;
  /** Writes answered per second of the window. */
  ratePerSec: number;
}

export function summarizeWrites(outcomes: WriteOutcome[], windowS: number): WriteSummary {
  const good = outcomes.filter((outcome) => outcome.ok);
  return {
    writes: outcomes.length,
    failed: outcomes.length - good.length,
    lagging: outcomes.filter((outcome) => outcome.lagging).length,
    p50Ms: percentile(
      good.map((outcome) => outcome.ms),
      50,
    ),
    p99Ms: percentile(
      good.map((outcome) => outcome.ms),
      99,
    ),
    ratePerSec: windowS > 0 ? good.length / windowS : 0,
  };
}

/**
 * Open-loop writes at `ratePerSec` (each due write starts on time unless
 * `maxInFlight` are already waiting) until stop(). Hosts cycle through
 * `distinct` names and backends alternate, so most writes are real updates.
 */
export class WriteLoad {
  private readonly outcomes: WriteOutcome[] = [];
  private readonly pending = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private launched = 0;
  private startedAt = 0;
  private stoppedAt = 0;

  constructor(
    private readonly edgePort: number,
    private readonly ratePerSec: number,
    private readonly maxInFlight: number,
    private readonly distinct: number,
    private readonly backendPort: number,
    private readonly tag: string,
  ) {}

  start(): void {
    this.startedAt = Date.now();
    // 5 ms ticks: 500 writes/s is 2-3 writes per tick, smooth enough for a load.
    this.timer = setInterval(() => this.tick(), 5);
  }

  private tick(): void {
    const due = Math.floor(((Date.now() - this.startedAt) / 1000) * this.ratePerSec);
    while (this.launched < due && this.pending.size < this.maxInFlight) {
      const n = this.launched++;
      const host = `load${n % this.distinct}.${this.tag}.write-bench.test`;
      const backend = `127.0.0.${1 + (n % 2)}:${this.backendPort}`;
      const write = timedWrite(this.edgePort, host, backend).then((outcome) => {
        this.outcomes.push(outcome);
        this.pending.delete(write);
      });
      this.pending.add(write);
    }
    if (this.launched < due) {
      // The API is slower than the offered rate: skip what is overdue rather than queue it.
      this.launched = due;
    }
  }

  /** Outcomes answered since start(); counts up to the stop time. */
  async stop(): Promise<WriteSummary> {
    clearInterval(this.timer);
    this.stoppedAt = Date.now();
    const windowS = (this.stoppedAt - this.startedAt) / 1000;
    await Promise.race([Promise.all([...this.pending]), new Promise((resolve) => setTimeout(resolve, 15000))]);
    return summarizeWrites(this.outcomes, windowS);
  }
}
