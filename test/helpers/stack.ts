import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EdgeOptions, startEdge } from "../../scripts/lib/edge";
import { httpRequest, HttpResult } from "../../scripts/lib/http";
import { repoRoot } from "../../scripts/lib/postgres";
import { ManagedProcess, waitUntil } from "../../scripts/lib/process";
import { createTestDatabase } from "./database";
import { freePort } from "./ports";

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

/**
 * The whole system as real processes in a temp prefix: the control plane
 * (compiled, from dist/) on a fresh database in the run's Postgres, and
 * OpenResty edges on free loopback ports. Always stop() it.
 */
export class Stack {
  readonly adminToken = ADMIN_TOKEN;
  readonly syncSecret = SYNC_SECRET;
  controlPlane?: ManagedProcess;
  private readonly edges: EdgeHandle[] = [];
  private expected: RegExp[] = [];

  private constructor(
    readonly directory: string,
    readonly databaseUrl: string,
    readonly controlPlanePort: number,
  ) {}

  static async start(options: { edges?: number; databaseUrl?: string; edge?: Partial<EdgeOptions> } = {}): Promise<Stack> {
    const directory = mkdtempSync(join(tmpdir(), "set-backend-e2e-"));
    chmodSync(directory, 0o755);
    const stack = new Stack(directory, options.databaseUrl ?? (await createTestDatabase()), await freePort());
    try {
      for (let i = 0; i < (options.edges ?? 1); i++) {
        const port = await freePort();
        const syncPort = await freePort();
        stack.edges.push({
          port,
          syncPort,
          checkedLines: 0,
          options: {
            prefix: join(directory, `edge${i}`),
            listen: `127.0.0.1:${port}`,
            syncListen: `127.0.0.1:${syncPort}`,
            controlPlaneAddress: `127.0.0.1:${stack.controlPlanePort}`,
            adminHost: ADMIN_HOST,
            syncSecret: SYNC_SECRET,
            workerProcesses: 2,
            errorLogLevel: "info",
            routesDictSize: "8m",
            ...options.edge,
          },
        });
      }
      await stack.startControlPlane();
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

  async startControlPlane(): Promise<void> {
    this.controlPlane = new ManagedProcess("control-plane", process.execPath, [join(repoRoot(), "dist", "control-plane", "src", "main.js")], {
      env: {
        ...process.env,
        NO_COLOR: "1",
        DATA_DIR: join(this.directory, "data"),
        DATABASE_URL: this.databaseUrl,
        ADMIN_TOKEN,
        SYNC_SECRET,
        ADMIN_HOST,
        CONTROL_PLANE_HOST: "127.0.0.1",
        CONTROL_PLANE_PORT: String(this.controlPlanePort),
        EDGE_SYNC_URLS: this.edges.map((edge) => `http://127.0.0.1:${edge.syncPort}`).join(","),
      },
      logFile: join(this.directory, "control-plane.log"),
    });
    await waitUntil(async () => (await httpRequest(`http://127.0.0.1:${this.controlPlanePort}/healthz`)).status === 200, 30000, "the control plane");
  }

  async stopControlPlane(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await this.controlPlane?.stop(signal);
  }

  async startEdge(index: number): Promise<void> {
    const edge = this.edge(index);
    edge.process = await startEdge(edge.options);
  }

  async stopEdge(index: number, signal: NodeJS.Signals = "SIGQUIT"): Promise<void> {
    await this.edge(index).process?.stop(signal);
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

  /** An admin API call through edge 0 on the admin host; token null sends none. */
  admin(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<HttpResult> {
    const headers: Record<string, string> = { host: ADMIN_HOST };
    if (token !== null) {
      headers.authorization = `Bearer ${token}`;
    }
    const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    if (text !== undefined) {
      // What `curl -d` sends: the API must read JSON whatever the type says.
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    return httpRequest(this.edgeUrl(0) + path, { method, headers, body: text });
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
    await this.controlPlane?.stop();
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
}
