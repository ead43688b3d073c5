import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Change, EdgeStatus } from "../../lua/src/set_backend/contract";
import { EdgeOptions, startEdge } from "../../scripts/lib/edge";
import { httpRequest, HttpResult } from "../../scripts/lib/http";
import { repoRoot } from "../../scripts/lib/postgres";
import { ManagedProcess, waitUntil } from "../../scripts/lib/process";
import { createTestDatabase } from "./database";
import { freePort } from "../../scripts/lib/ports";

export const ADMIN_HOST = "l.io";
const ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef";
const SYNC_SECRET = "e2e-sync-secret-0123456789abcdef";

/** Error-log severities that fail a case unless the case expected them. */
const PROBLEM = /\[(error|crit|alert|emerg)\]/;

interface EdgeHandle {
  options: EdgeOptions;
  process?: ManagedProcess;
  port: number;
  syncPort: number;
  /** Error-log lines already checked, so each check sees only new ones. */
  checkedLines: number;
}

interface ControlPlaneHandle {
  port: number;
  process?: ManagedProcess;
}

export interface StackOptions {
  edges?: number;
  /** Control-plane replicas on the same database; edge i pulls from replica i modulo this. */
  controlPlanes?: number;
  databaseUrl?: string;
  edge?: Partial<EdgeOptions>;
  /** Edges the control planes push to (indexes); all by default. The others learn changes by pulling only. */
  pushTo?: number[];
  /** Extra environment for the control planes. */
  controlPlaneEnv?: Record<string, string>;
  /** How edges name the control plane: an address (default 127.0.0.1) or a host name. */
  controlPlaneHostName?: string;
}

/**
 * The whole system as real processes in a temp prefix: control-plane
 * replicas (compiled, from dist/) on a fresh database in the run's Postgres,
 * and OpenResty edges on free loopback ports. Always stop() it.
 */
export class Stack {
  readonly adminToken = ADMIN_TOKEN;
  readonly syncSecret = SYNC_SECRET;
  private readonly edges: EdgeHandle[] = [];
  private readonly controlPlanes: ControlPlaneHandle[] = [];
  private expected: RegExp[] = [];

  private constructor(
    readonly directory: string,
    readonly databaseUrl: string,
    private readonly options: StackOptions,
  ) {}

  static async start(options: StackOptions = {}): Promise<Stack> {
    const directory = mkdtempSync(join(tmpdir(), "set-backend-e2e-"));
    chmodSync(directory, 0o755);
    const stack = new Stack(directory, options.databaseUrl ?? (await createTestDatabase()), options);
    try {
      for (let i = 0; i < (options.controlPlanes ?? 1); i++) {
        stack.controlPlanes.push({ port: await freePort() });
      }
      for (let i = 0; i < (options.edges ?? 1); i++) {
        const port = await freePort();
        const syncPort = await freePort();
        const controlPlane = stack.controlPlanes[i % stack.controlPlanes.length] as ControlPlaneHandle;
        stack.edges.push({
          port,
          syncPort,
          checkedLines: 0,
          options: {
            prefix: join(directory, `edge${i}`),
            listen: `127.0.0.1:${port}`,
            syncListen: `127.0.0.1:${syncPort}`,
            controlPlaneAddress: `${options.controlPlaneHostName ?? "127.0.0.1"}:${controlPlane.port}`,
            adminHost: ADMIN_HOST,
            syncSecret: SYNC_SECRET,
            workerProcesses: 2,
            errorLogLevel: "info",
            routesDictSize: "8m",
            syncIntervalSeconds: 1,
            ...options.edge,
          },
        });
      }
      for (let i = 0; i < stack.controlPlanes.length; i++) {
        await stack.startControlPlane(i);
      }
      for (let i = 0; i < stack.edges.length; i++) {
        await stack.startEdge(i);
      }
      await stack.waitReady();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  get controlPlane(): ManagedProcess | undefined {
    return this.controlPlanes[0]?.process;
  }

  async startControlPlane(index = 0): Promise<void> {
    const handle = this.controlPlaneHandle(index);
    const pushTo = this.options.pushTo ?? this.edges.map((_, i) => i);
    handle.process = new ManagedProcess(`control-plane-${index}`, process.execPath, [join(repoRoot(), "dist", "control-plane", "src", "main.js")], {
      env: {
        ...process.env,
        NO_COLOR: "1",
        DATA_DIR: join(this.directory, "data"),
        DATABASE_URL: this.databaseUrl,
        ADMIN_TOKEN,
        SYNC_SECRET,
        ADMIN_HOST,
        CONTROL_PLANE_HOST: "127.0.0.1",
        CONTROL_PLANE_PORT: String(handle.port),
        EDGE_SYNC_URLS: pushTo.map((i) => `http://127.0.0.1:${this.edge(i).syncPort}`).join(","),
        ...this.options.controlPlaneEnv,
      },
      logFile: join(this.directory, `control-plane-${index}.log`),
    });
    await waitUntil(async () => (await httpRequest(`http://127.0.0.1:${handle.port}/healthz`)).status === 200, 30000, "the control plane");
  }

  async stopControlPlane(signal: NodeJS.Signals = "SIGTERM", index = 0): Promise<void> {
    await this.controlPlaneHandle(index).process?.stop(signal);
  }

  async startEdge(index: number): Promise<void> {
    const edge = this.edge(index);
    edge.process = await startEdge(edge.options);
  }

  async stopEdge(index: number, signal: NodeJS.Signals = "SIGQUIT"): Promise<void> {
    await this.edge(index).process?.stop(signal);
  }

  /** Removes the table an edge saved on its disk (stop the edge first). */
  clearEdgeState(index: number): void {
    rmSync(join(this.edge(index).options.prefix, "state"), { recursive: true, force: true });
  }

  /** Waits until /readyz says Postgres, control plane and every edge are current. */
  async waitReady(timeoutMs = 30000): Promise<void> {
    await waitUntil(async () => (await this.admin("GET", "/readyz", undefined, null)).status === 200, timeoutMs, "the stack to be ready");
  }

  edgeUrl(index = 0): string {
    return `http://127.0.0.1:${this.edge(index).port}`;
  }

  syncUrl(index = 0): string {
    return `http://127.0.0.1:${this.edge(index).syncPort}`;
  }

  controlPlaneUrl(index = 0): string {
    return `http://127.0.0.1:${this.controlPlaneHandle(index).port}`;
  }

  /**
   * An admin API call through edge 0 on the admin host; token null sends none.
   * timeoutMs bounds the silence while waiting for the answer (5 s by default).
   */
  admin(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN, timeoutMs?: number): Promise<HttpResult> {
    return this.adminAt(this.edgeUrl(0), method, path, body, token, { host: ADMIN_HOST }, timeoutMs);
  }

  /** An admin API call straight to control-plane replica `index`. */
  adminDirect(index: number, method: string, path: string, body?: unknown): Promise<HttpResult> {
    return this.adminAt(this.controlPlaneUrl(index), method, path, body, ADMIN_TOKEN, {});
  }

  private adminAt(base: string, method: string, path: string, body: unknown, token: string | null, extra: Record<string, string>, timeoutMs?: number): Promise<HttpResult> {
    const headers: Record<string, string> = { ...extra };
    if (token !== null) {
      headers.authorization = `Bearer ${token}`;
    }
    const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    if (text !== undefined) {
      // What `curl -d` sends: the API must read JSON whatever the type says.
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    return httpRequest(base + path, { method, headers, body: text, timeoutMs });
  }

  /** A request to an edge's sync listener, with the secret. */
  sync(index: number, method: string, path: string, body?: unknown): Promise<HttpResult> {
    return httpRequest(this.syncUrl(index) + path, {
      method,
      headers: { "x-set-backend-secret": SYNC_SECRET, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async edgeStatus(index = 0): Promise<EdgeStatus> {
    return JSON.parse((await this.sync(index, "GET", "/status")).body) as EdgeStatus;
  }

  /** What an edge routes by: its live entries, sorted by host. */
  async edgeTable(index = 0): Promise<{ revision: number; entries: Change[] }> {
    const table = JSON.parse((await this.sync(index, "GET", "/table")).body) as { revision: number; entries: Change[] };
    table.entries.sort((a, b) => (a.host < b.host ? -1 : 1));
    return table;
  }

  /** A visitor's request to a hosted site through an edge. */
  visit(host: string, path = "/", options: { method?: string; headers?: Record<string, string>; body?: string; edge?: number } = {}): Promise<HttpResult> {
    return httpRequest(this.edgeUrl(options.edge ?? 0) + path, {
      method: options.method,
      headers: { host, ...options.headers },
      body: options.body,
    });
  }

  /** Declares error-log lines the current case causes on purpose. */
  expectLogLines(...patterns: RegExp[]): void {
    this.expected.push(...patterns);
  }

  /** New [error]/[crit]/[alert]/[emerg] lines in any edge's log that no expectLogLines() pattern matches. */
  unexpectedLogLines(): string[] {
    const problems: string[] = [];
    for (const edge of this.edges) {
      const file = join(edge.options.prefix, "logs", "error.log");
      if (!existsSync(file)) {
        continue;
      }
      const lines = readFileSync(file, "utf8").split("\n");
      for (const line of lines.slice(edge.checkedLines)) {
        if (PROBLEM.test(line) && !this.expected.some((pattern) => pattern.test(line))) {
          problems.push(line);
        }
      }
      edge.checkedLines = lines.length - 1;
    }
    this.expected = [];
    return problems;
  }

  errorLog(index = 0): string {
    return readFileSync(join(this.edge(index).options.prefix, "logs", "error.log"), "utf8");
  }

  accessLog(index = 0): string {
    return readFileSync(join(this.edge(index).options.prefix, "logs", "access.log"), "utf8");
  }

  async stop(): Promise<void> {
    for (const edge of this.edges) {
      await edge.process?.stop("SIGQUIT");
    }
    for (const controlPlane of this.controlPlanes) {
      await controlPlane.process?.stop();
    }
    if (!process.env.KEEP_TEST_DIRS) {
      rmSync(this.directory, { recursive: true, force: true });
    }
  }

  private edge(index: number): EdgeHandle {
    const edge = this.edges[index];
    if (edge === undefined) {
      throw new Error(`no edge ${index}`);
    }
    return edge;
  }

  private controlPlaneHandle(index: number): ControlPlaneHandle {
    const handle = this.controlPlanes[index];
    if (handle === undefined) {
      throw new Error(`no control plane ${index}`);
    }
    return handle;
  }
}
