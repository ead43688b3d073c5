/**
 * `npm run bench [-- --quick]`: the edge's request-path cost against plain
 * nginx, table size, dict memory, cold start and writes, driven by wrk.
 * Writes bench/results/latest.md and latest.json and prints the Markdown.
 *
 * Fairness on a 2-core machine: every nginx under test runs one worker
 * pinned to CPU 0; wrk (one thread), the return-200 backend, this process,
 * Postgres and the control plane share CPU 1. So the server under test has
 * a core of its own and the load generator never competes with it. Variants
 * are measured in interleaved rounds so that drift (other work on the
 * machine, thermal, caches) spreads over all of them, and ratios are taken
 * within a round before the median across rounds.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpRequest } from "../scripts/lib/http";
import { repoRoot } from "../scripts/lib/postgres";
import { ManagedProcess } from "../scripts/lib/process";
import { fillDatabase, startControlPlane, summarizeWrites, timedWrite, WriteLoad, WriteOutcome, WriteSummary } from "./lib/control-plane";
import { ADMIN_HOST, ADMIN_TOKEN, BenchEdge, edgeStatus, routesDictBytes, startBenchEdge } from "./lib/edge";
import { cpuSeconds, loadAverage, machineInfo, MachineInfo, pinSelf } from "./lib/machine";
import { backendConf, mapConf, RunningNginx, startNginx, staticConf } from "./lib/nginx";
import { freePort } from "../scripts/lib/ports";
import { fmt, median, sleep, thousands } from "./lib/stats";
import { EXACT_PATTERN, exactHosts, hostFor, SnapshotServer, snapshotBody, UNKNOWN_PATTERN, WILDCARD_PATTERN } from "./lib/table";
import { hostScript, runWrk, WrkResult } from "./lib/wrk";

/** CPU of the nginx under test; everything else runs on the other one. */
const SERVER_CPU = 0;
const LOAD_CPU = 1;

interface Settings {
  mode: "full" | "quick";
  rounds: number;
  durationS: number;
  warmupS: number;
  /** Enough concurrent connections to keep one nginx worker saturated. */
  connections: number;
  /** The unloaded latency runs: one connection, so no queueing in the figure. */
  latencyDurationS: number;
  /** Table size for part 1 (and the map of variant b). */
  tableSize: number;
  sizes: [number, number, number];
  coldStartSize: number;
  writeLatencyCount: number;
  writeRatePerSec: number;
  writeRounds: number;
  bulkImportSize: number;
  /** Routes dict of every edge: room for the largest table (about 128 B an entry, so 1M fits in 256m with margin). */
  dictSize: string;
}

function settingsFor(quick: boolean): Settings {
  if (quick) {
    return {
      mode: "quick",
      rounds: 2,
      durationS: 3,
      warmupS: 1,
      connections: 32,
      latencyDurationS: 2,
      tableSize: 10_000,
      sizes: [10, 10_000, 100_000],
      coldStartSize: 100_000,
      writeLatencyCount: 200,
      writeRatePerSec: 500,
      writeRounds: 2,
      bulkImportSize: 10_000,
      dictSize: "64m",
    };
  }
  return {
    mode: "full",
    rounds: 4,
    durationS: 6,
    warmupS: 1,
    connections: 32,
    latencyDurationS: 3,
    tableSize: 100_000,
    sizes: [10, 100_000, 1_000_000],
    coldStartSize: 1_000_000,
    writeLatencyCount: 1000,
    writeRatePerSec: 500,
    writeRounds: 3,
    bulkImportSize: 100_000,
    dictSize: "256m",
  };
}

/** One thing wrk points at: a server, a host pattern, what it must answer. */
interface Variant {
  key: string;
  label: string;
  server: RunningNginx;
  script: string;
  sampleHost: string;
  expectStatus: number;
  /** Also measured with one connection, for unloaded latency. */
  latency: boolean;
}

interface VariantRuns {
  key: string;
  label: string;
  loaded: WrkResult[];
  unloaded: WrkResult[];
}

interface Target {
  id: string;
  measure: string;
  target: string;
  measured: string;
  met: boolean | null;
  note?: string;
}

interface Results {
  command: string;
  date: string;
  machine: MachineInfo;
  loadAverageAfter?: string;
  settings: Settings;
  durationS?: number;
  variants: VariantRuns[];
  ratios: Record<string, { perRound: number[]; median: number }>;
  memory?: { entries: number; usedBytesEmpty: number; usedBytesLarge: number; bytesPerEntry: number; capacity: number };
  edgeLoadMsFromStub: Record<string, number>;
  coldStart?: { entries: number; loadMs: number[]; verified: string };
  diskStart?: { entries: number; loadMs: number; source: string; revision: number; expectedRevision: number };
  bulkImport?: { entries: number; ms: number; status: number; lagging: string | null; revision: number; edgeRevisions: number[]; bodyBytes: number };
  writes?: { latency: WriteSummary; idle: WrkResult[]; underLoad: WrkResult[]; load: WriteSummary[]; ratioPerRound: number[]; cpuRatioPerRound: number[]; writesOnly?: { load: WriteSummary; edgeACpuUsPerWrite: number; edgeBCpuUsPerWrite: number } };
  targets: Target[];
  errors: string[];
  notes: string[];
}

function log(message: string): void {
  process.stdout.write(`[bench] ${message}\n`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function met(value: number, ok: boolean): boolean | null {
  return Number.isFinite(value) ? ok : null;
}

class Bench {
  readonly started: ManagedProcess[] = [];
  readonly directory: string;
  readonly results: Results;
  private readonly stubs: SnapshotServer[] = [];
  private readonly t0 = Date.now();

  constructor(readonly settings: Settings) {
    this.directory = mkdtempSync(join(tmpdir(), "set-backend-bench-"));
    // Postgres runs as its own user when we are root and must reach its folder.
    chmodSync(this.directory, 0o755);
    this.results = {
      command: `npm run bench${settings.mode === "quick" ? " -- --quick" : ""}`,
      date: new Date().toISOString(),
      machine: machineInfo(),
      settings,
      variants: [],
      ratios: {},
      edgeLoadMsFromStub: {},
      targets: [],
      errors: [],
      notes: [],
    };
  }

  private elapsed(): string {
    return `${Math.round((Date.now() - this.t0) / 1000)}s`;
  }

  async nginx(name: string, conf: (prefix: string, port: number) => string, cpu = SERVER_CPU): Promise<RunningNginx> {
    const port = await freePort();
    const prefix = join(this.directory, name);
    const server = await startNginx(name, prefix, conf(prefix, port), port, cpu);
    this.started.push(server.process);
    return server;
  }

  async edge(name: string, size: number, backendPort: number): Promise<BenchEdge> {
    const server = await SnapshotServer.start(snapshotBody(size, `127.0.0.1:${backendPort}`), size);
    this.stubs.push(server);
    const edge = await startBenchEdge({
      name,
      directory: this.directory,
      port: await freePort(),
      syncPort: await freePort(),
      controlPlaneAddress: server.address,
      routesDictSize: this.settings.dictSize,
      cpu: SERVER_CPU,
      loadTimeoutMs: 180000,
    });
    this.started.push(edge.process);
    const status = await edgeStatus(edge.syncPort);
    if (status.revision !== size) {
      throw new Error(`${name} loaded revision ${status.revision}, expected ${size}`);
    }
    this.results.edgeLoadMsFromStub[String(size)] = edge.loadMs;
    log(`${name}: ${thousands(size)} entries loaded from the stub snapshot in ${edge.loadMs} ms`);
    return edge;
  }

  private async check(variant: Variant): Promise<void> {
    const response = await httpRequest(`http://127.0.0.1:${variant.server.port}/`, { headers: { host: variant.sampleHost } });
    if (response.status !== variant.expectStatus) {
      throw new Error(`${variant.key}: ${variant.sampleHost} answered ${response.status}, expected ${variant.expectStatus}: ${response.body.slice(0, 200)}`);
    }
  }

  private async wrk(variant: Variant, connections: number, durationS: number): Promise<WrkResult> {
    const result = await runWrk({
      url: `http://127.0.0.1:${variant.server.port}/`,
      script: variant.script,
      connections,
      durationS,
      cpu: LOAD_CPU,
      serverCpu: SERVER_CPU,
      serverPid: variant.server.workerPid,
    });
    const unexpected = variant.expectStatus === 200 ? result.non2xx : result.requests - result.non2xx;
    if (unexpected > 0 || result.socketErrors > 0) {
      this.results.errors.push(`${variant.key}: ${unexpected} unexpected statuses, ${result.socketErrors} socket errors in one run`);
    }
    return result;
  }

  /** Parts 1-3: everything that needs only nginx processes and a stub snapshot. */
  async edgePhase(backendPort: number): Promise<void> {
    const s = this.settings;
    const [small, , large] = s.sizes;
    const scripts = join(this.directory, "wrk");
    mkdirSync(scripts, { recursive: true });
    const hitScript = (count: number) => hostScript(scripts, `hit-${count}`, EXACT_PATTERN, count - 1);

    log(`starting baselines (map of ${thousands(s.tableSize - 1)} hosts)`);
    const staticServer = await this.nginx("static", (prefix, port) => staticConf(prefix, port, backendPort, false));
    const mapServer = await this.nginx("map", (prefix, port) => mapConf(prefix, port, backendPort, exactHosts(s.tableSize)));
    const luaServer = await this.nginx("empty-lua", (prefix, port) => staticConf(prefix, port, backendPort, true));
    // Baseline for the memory figure: the dict's own overhead with no entries.
    const edgeEmpty = await this.edge("edge-empty", 0, backendPort);
    const edgeSmall = await this.edge(`edge-${small}`, small, backendPort);
    const edgeMain = await this.edge(`edge-${s.tableSize}`, s.tableSize, backendPort);
    const edgeLarge = s.sizes[2] === s.tableSize ? edgeMain : await this.edge(`edge-${large}`, large, backendPort);

    const mainHit = hitScript(s.tableSize);
    const sample = hostFor(EXACT_PATTERN, 1);
    const variants: Variant[] = [
      { key: "a", label: "(a) nginx, static upstream", server: staticServer, script: mainHit, sampleHost: sample, expectStatus: 200, latency: true },
      { key: "b", label: `(b) nginx, map $host (${thousands(s.tableSize - 1)} hosts)`, server: mapServer, script: mainHit, sampleHost: sample, expectStatus: 200, latency: true },
      { key: "c", label: "(c) nginx, empty access_by_lua", server: luaServer, script: mainHit, sampleHost: sample, expectStatus: 200, latency: true },
      { key: "d", label: `(d) set-backend, exact hit (${thousands(s.tableSize)} entries)`, server: edgeMain, script: mainHit, sampleHost: sample, expectStatus: 200, latency: true },
      {
        key: "e",
        label: "(e) set-backend, wildcard hit",
        server: edgeMain,
        script: hostScript(scripts, "wildcard", WILDCARD_PATTERN, s.tableSize),
        sampleHost: hostFor(WILDCARD_PATTERN, 1),
        expectStatus: 200,
        latency: true,
      },
      {
        key: "f",
        label: "(f) set-backend, unknown host (404)",
        server: edgeMain,
        script: hostScript(scripts, "unknown", UNKNOWN_PATTERN, s.tableSize),
        sampleHost: hostFor(UNKNOWN_PATTERN, 1),
        expectStatus: 404,
        latency: true,
      },
      { key: `d@${small}`, label: `(d) exact hit, ${thousands(small)} entries`, server: edgeSmall, script: hitScript(small), sampleHost: sample, expectStatus: 200, latency: false },
    ];
    if (edgeLarge !== edgeMain) {
      variants.push({ key: `d@${large}`, label: `(d) exact hit, ${thousands(large)} entries`, server: edgeLarge, script: hitScript(large), sampleHost: hostFor(EXACT_PATTERN, large - 1), expectStatus: 200, latency: false });
    }
    for (const variant of variants) {
      await this.check(variant);
    }

    // Part 3 while the tables are in place and nothing has written to them.
    try {
      const emptyBytes = await routesDictBytes(edgeEmpty.syncPort);
      const largeBytes = await routesDictBytes(edgeLarge.syncPort);
      const usedEmpty = emptyBytes.capacity - emptyBytes.free;
      const usedLarge = largeBytes.capacity - largeBytes.free;
      this.results.memory = {
        entries: large,
        usedBytesEmpty: usedEmpty,
        usedBytesLarge: usedLarge,
        capacity: largeBytes.capacity,
        bytesPerEntry: (usedLarge - usedEmpty) / large,
      };
      await edgeEmpty.process.stop("SIGTERM");
    } catch (error) {
      this.results.errors.push(`memory: ${errorText(error)}`);
    }

    const runs = new Map<string, VariantRuns>(variants.map((variant) => [variant.key, { key: variant.key, label: variant.label, loaded: [], unloaded: [] }]));
    for (let round = 0; round < s.rounds; round++) {
      // Each round starts one variant later, so no variant always runs first after a pause.
      const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
      for (const variant of order) {
        log(`round ${round + 1}/${s.rounds} ${variant.key} (${this.elapsed()})`);
        await this.wrk(variant, s.connections, s.warmupS);
        const entry = runs.get(variant.key) as VariantRuns;
        entry.loaded.push(await this.wrk(variant, s.connections, s.durationS));
        if (variant.latency) {
          entry.unloaded.push(await this.wrk(variant, 1, s.latencyDurationS));
        }
      }
    }
    this.results.variants = [...runs.values()];

    const perRound = (f: (round: number) => number): { perRound: number[]; median: number } => {
      const values = Array.from({ length: s.rounds }, (_, round) => f(round));
      return { perRound: values, median: median(values) };
    };
    const loaded = (key: string, round: number) => runs.get(key)?.loaded[round] as WrkResult;
    const unloaded = (key: string, round: number) => runs.get(key)?.unloaded[round] as WrkResult;
    this.results.ratios = {
      "d/b throughput": perRound((r) => loaded("d", r).requestsPerSec / loaded("b", r).requestsPerSec),
      "d/c throughput": perRound((r) => loaded("d", r).requestsPerSec / loaded("c", r).requestsPerSec),
      "d/a throughput": perRound((r) => loaded("d", r).requestsPerSec / loaded("a", r).requestsPerSec),
      "c/a throughput": perRound((r) => loaded("c", r).requestsPerSec / loaded("a", r).requestsPerSec),
      "b/a throughput": perRound((r) => loaded("b", r).requestsPerSec / loaded("a", r).requestsPerSec),
      "e/d throughput": perRound((r) => loaded("e", r).requestsPerSec / loaded("d", r).requestsPerSec),
      "f/d throughput": perRound((r) => loaded("f", r).requestsPerSec / loaded("d", r).requestsPerSec),
      "p99 added over b, ms, 1 connection": perRound((r) => unloaded("d", r).p99Ms - unloaded("b", r).p99Ms),
      "p99 added over b, ms, 32 connections": perRound((r) => loaded("d", r).p99Ms - loaded("b", r).p99Ms),
      "d/b edge CPU per request": perRound((r) => (loaded("d", r).serverCpuUsPerRequest ?? NaN) / (loaded("b", r).serverCpuUsPerRequest ?? NaN)),
      "d/c edge CPU per request": perRound((r) => (loaded("d", r).serverCpuUsPerRequest ?? NaN) / (loaded("c", r).serverCpuUsPerRequest ?? NaN)),
        [`size ${large}/${small} throughput`]: perRound((r) => {
        const largeRun = runs.get(edgeLarge === edgeMain ? "d" : `d@${large}`)?.loaded[r] as WrkResult;
        return largeRun.requestsPerSec / loaded(`d@${small}`, r).requestsPerSec;
      }),
      [`size ${large}/${small} edge CPU per request`]: perRound((r) => {
        const largeRun = runs.get(edgeLarge === edgeMain ? "d" : `d@${large}`)?.loaded[r] as WrkResult;
        return (largeRun.serverCpuUsPerRequest ?? NaN) / (loaded(`d@${small}`, r).serverCpuUsPerRequest ?? NaN);
      }),
    };

    for (const server of [staticServer, mapServer, luaServer, edgeSmall, edgeMain, edgeLarge]) {
      this.countErrorLog(server);
      await server.process.stop("SIGTERM");
    }
    await this.closeStubs();
  }

  private async closeStubs(): Promise<void> {
    for (const stub of this.stubs.splice(0)) {
      await stub.close();
    }
  }

  private countErrorLog(server: RunningNginx): void {
    try {
      const lines = readFileSync(join(server.prefix, "logs", "error.log"), "utf8").split("\n");
      const problems = lines.filter((line) => /\[(error|crit|alert|emerg)\]/.test(line));
      if (problems.length > 0) {
        this.results.errors.push(`${server.name}: ${problems.length} error-log lines, first: ${problems[0]}`);
      }
      const warnings = lines.filter((line) => /\[warn\]/.test(line));
      if (warnings.length > 0) {
        this.results.notes.push(`${server.name}: ${warnings.length} [warn] lines in its error log, first: ${warnings[0]}`);
      }
    } catch {
      // No log: nothing went wrong worth logging.
    }
  }

  /** Parts 4 and 5: the real control plane on Postgres, two edges. */
  async controlPlanePhase(backendPort: number): Promise<void> {
    const s = this.settings;
    const [portA, syncA, portB, syncB] = [await freePort(), await freePort(), await freePort(), await freePort()];
    log(`starting Postgres and the control plane (${this.elapsed()})`);
    const cp = await startControlPlane(join(this.directory, "cp"), await freePort(), await freePort(), [syncA, syncB], this.started);
    log(`filling Postgres with ${thousands(s.coldStartSize)} entries (${this.elapsed()})`);
    await fillDatabase(cp.databaseUrl, s.coldStartSize, `127.0.0.1:${backendPort}`);

    const edges: BenchEdge[] = [];
    const loadMs: number[] = [];
    for (const [name, port, syncPort, cpu] of [
      ["cp-edge-a", portA, syncA, SERVER_CPU],
      ["cp-edge-b", portB, syncB, LOAD_CPU],
    ] as const) {
      log(`cold start of ${name} from the control plane (${this.elapsed()})`);
      const edge = await startBenchEdge({
        name,
        directory: this.directory,
        port,
        syncPort,
        controlPlaneAddress: `127.0.0.1:${cp.port}`,
        routesDictSize: s.dictSize,
        cpu,
        // Ten times the 1M target: past that the figure is a failure whatever it is.
        loadTimeoutMs: 120000,
      });
      this.started.push(edge.process);
      edges.push(edge);
      loadMs.push(edge.loadMs);
      log(`${name} loaded ${thousands(s.coldStartSize)} entries in ${edge.loadMs} ms`);
    }
    const [edgeA, edgeB] = edges as [BenchEdge, BenchEdge];
    // Served means answered: probe hosts spread over the table on both edges.
    let probes = 0;
    for (const edge of edges) {
      const status = await edgeStatus(edge.syncPort);
      if (status.revision !== s.coldStartSize) {
        throw new Error(`${edge.name} is at revision ${status.revision}, expected ${s.coldStartSize}`);
      }
      for (let i = 1; i < s.coldStartSize; i += Math.max(1, Math.floor(s.coldStartSize / 50))) {
        const response = await httpRequest(`http://127.0.0.1:${edge.port}/`, { headers: { host: hostFor(EXACT_PATTERN, i) } });
        if (response.status !== 200) {
          throw new Error(`${edge.name}: ${hostFor(EXACT_PATTERN, i)} answered ${response.status} after the load`);
        }
        probes++;
      }
    }
    this.results.coldStart = { entries: s.coldStartSize, loadMs, verified: `revision ${s.coldStartSize} on both edges; ${probes} probed hosts answered 200` };

    log(`write latency: ${s.writeLatencyCount} writes, confirmed by 2 edges (${this.elapsed()})`);
    for (let i = 0; i < 20; i++) {
      await timedWrite(edgeA.port, `warm${i}.write-bench.test`, `127.0.0.1:${backendPort}`);
    }
    const outcomes: WriteOutcome[] = [];
    const latencyStart = Date.now();
    for (let i = 0; i < s.writeLatencyCount; i++) {
      outcomes.push(await timedWrite(edgeA.port, `w${i}.write-bench.test`, `127.0.0.1:${backendPort}`));
    }
    const latency = summarizeWrites(outcomes, (Date.now() - latencyStart) / 1000);

    log(`edge throughput while ${s.writeRatePerSec} writes/s flow (${this.elapsed()})`);
    const script = hostScript(join(this.directory, "wrk"), "cp-hit", EXACT_PATTERN, s.coldStartSize - 1);
    const variant: Variant = { key: "writes", label: "edge A, exact hit", server: edgeA, script, sampleHost: hostFor(EXACT_PATTERN, 1), expectStatus: 200, latency: false };
    const idle: WrkResult[] = [];
    const underLoad: WrkResult[] = [];
    const load: WriteSummary[] = [];
    for (let round = 0; round < s.writeRounds; round++) {
      await this.wrk(variant, s.connections, s.warmupS);
      idle.push(await this.wrk(variant, s.connections, s.durationS));
      const writes = new WriteLoad(edgeA.port, s.writeRatePerSec, 64, 2000, backendPort, `r${round}`);
      writes.start();
      // Let the write rate settle before measuring.
      await sleep(1000);
      underLoad.push(await this.wrk(variant, s.connections, s.durationS));
      load.push(await writes.stop());
    }
    this.results.writes = {
      latency,
      idle,
      underLoad,
      load,
      ratioPerRound: idle.map((run, i) => (underLoad[i] as WrkResult).requestsPerSec / run.requestsPerSec),
      cpuRatioPerRound: idle.map((run, i) => ((underLoad[i] as WrkResult).serverCpuUsPerRequest ?? NaN) / (run.serverCpuUsPerRequest ?? NaN)),
    };

    // The edges' own cost of a write, with no other traffic: edge A proxies the API call and
    // applies the push, edge B only applies the push.
    log(`edge CPU per write, writes only (${this.elapsed()})`);
    const cpuA = cpuSeconds(edgeA.workerPid);
    const cpuB = cpuSeconds(edgeB.workerPid);
    const writesOnly = new WriteLoad(edgeA.port, s.writeRatePerSec, 64, 2000, backendPort, "only");
    writesOnly.start();
    await sleep(s.durationS * 1000);
    const writesOnlyLoad = await writesOnly.stop();
    const answered = writesOnlyLoad.writes;
    this.results.writes.writesOnly = {
      load: writesOnlyLoad,
      edgeACpuUsPerWrite: ((cpuSeconds(edgeA.workerPid) - cpuA) / answered) * 1e6,
      edgeBCpuUsPerWrite: ((cpuSeconds(edgeB.workerPid) - cpuB) / answered) * 1e6,
    };
    // Cold start from the edge's own disk snapshot: restart edge A on the same prefix, control plane still up.
    log(`restart of ${edgeA.name} from its disk snapshot (${this.elapsed()})`);
    const expectedRevision = (await edgeStatus(edgeA.syncPort)).revision;
    this.countErrorLog(edgeA);
    await edgeA.process.stop("SIGTERM");
    this.started.splice(this.started.indexOf(edgeA.process), 1);
    const restarted = await startBenchEdge({
      name: edgeA.name,
      directory: this.directory,
      port: edgeA.port,
      syncPort: edgeA.syncPort,
      controlPlaneAddress: `127.0.0.1:${cp.port}`,
      routesDictSize: s.dictSize,
      cpu: SERVER_CPU,
      loadTimeoutMs: 120000,
    });
    this.started.push(restarted.process);
    const afterRestart = await edgeStatus(restarted.syncPort);
    this.results.diskStart = {
      entries: afterRestart.entries ?? s.coldStartSize,
      loadMs: restarted.loadMs,
      source: afterRestart.source ?? "unknown",
      revision: afterRestart.revision,
      expectedRevision,
    };
    log(`${edgeA.name} back in ${restarted.loadMs} ms, source ${afterRestart.source}`);

    log(`bulk import of ${thousands(s.bulkImportSize)} entries (${this.elapsed()})`);
    const ndjson: string[] = [];
    for (let i = 1; i <= s.bulkImportSize; i++) {
      ndjson.push(JSON.stringify({ host: `b${String(i).padStart(7, "0")}.bulk-bench.test`, backend: `127.0.0.1:${backendPort}` }));
    }
    const body = ndjson.join("\n") + "\n";
    const importStart = process.hrtime.bigint();
    const response = await httpRequest(`http://127.0.0.1:${restarted.port}/entries/import?format=ndjson`, {
      method: "POST",
      headers: { host: ADMIN_HOST, authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/x-ndjson" },
      body,
      // The control plane waits up to 60 s for edges to confirm an import (IMPORT_CONFIRM_TIMEOUT_MS).
      timeoutMs: 180000,
    });
    const importMs = Number(process.hrtime.bigint() - importStart) / 1e6;
    let revision = 0;
    try {
      revision = Number((JSON.parse(response.body) as { revision?: number }).revision ?? 0);
    } catch {
      this.results.errors.push(`bulk import answered ${response.status}: ${response.body.slice(0, 200)}`);
    }
    const lagging = response.headers["x-set-backend-lagging-edges"];
    this.results.bulkImport = {
      entries: s.bulkImportSize,
      ms: importMs,
      status: response.status,
      lagging: lagging === undefined ? null : String(lagging),
      revision,
      edgeRevisions: [(await edgeStatus(restarted.syncPort)).revision, (await edgeStatus(edgeB.syncPort)).revision],
      bodyBytes: Buffer.byteLength(body),
    };
    log(`bulk import answered ${response.status} in ${Math.round(importMs)} ms`);

    for (const edge of [restarted, edgeB]) {
      this.countErrorLog(edge);
    }
  }

  evaluate(): void {
    const r = this.results;
    const s = this.settings;
    const targets: Target[] = [];
    const ratio = (name: string) => r.ratios[name]?.median ?? NaN;
    const dc = ratio("d/c throughput");
    const db = ratio("d/b throughput");
    const p99c1 = ratio("p99 added over b, ms, 1 connection");
    const p99c32 = ratio("p99 added over b, ms, 32 connections");
    const cpuNote = (name: string) => `worker CPU per request ${name}: ${fmt(ratio(name), 3)}, so a saturated worker would give about ${fmt(1 / ratio(name), 3)}`;
    targets.push({
      id: "1",
      measure: "throughput (d)/(c): exact hit vs empty access_by_lua",
      target: "≥ 0.97",
      measured: fmt(dc, 3),
      met: met(dc, dc >= 0.97),
      note: cpuNote("d/c edge CPU per request"),
    });
    targets.push({
      id: "1",
      measure: "throughput (d)/(b): exact hit vs map $host",
      target: "≥ 0.90",
      measured: fmt(db, 3),
      met: met(db, db >= 0.9),
      note: cpuNote("d/b edge CPU per request"),
    });
    targets.push({
      id: "1",
      measure: "p99 added over (b), 1 connection (no queueing)",
      target: "≤ 0.1 ms",
      measured: `${fmt(p99c1, 3)} ms`,
      met: met(p99c1, p99c1 <= 0.1),
    });
    targets.push({
      id: "1",
      measure: `p99 added over (b), ${s.connections} connections (saturated: mostly queueing)`,
      target: "≤ 0.1 ms",
      measured: `${fmt(p99c32, 3)} ms`,
      met: met(p99c32, p99c32 <= 0.1),
    });
    const [small, , large] = s.sizes;
    const size = ratio(`size ${large}/${small} throughput`);
    targets.push({
      id: "2",
      measure: `throughput at ${thousands(large)} / at ${thousands(small)} entries`,
      target: "≥ 0.97",
      measured: fmt(size, 3),
      met: met(size, size >= 0.97),
      note: (s.mode === "quick" ? "quick mode: 100,000 rather than 1,000,000; " : "") + cpuNote(`size ${large}/${small} edge CPU per request`),
    });
    const bytes = r.memory?.bytesPerEntry ?? NaN;
    targets.push({
      id: "3",
      measure: `dict bytes per entry at ${thousands(r.memory?.entries ?? large)} entries (25-char host, one backend)`,
      target: "≤ 128 B",
      measured: `${fmt(bytes, 1)} B`,
      met: met(bytes, bytes <= 128),
      note: s.mode === "quick" ? "quick mode: 100,000 entries" : undefined,
    });
    const cold = r.coldStart ? median(r.coldStart.loadMs) / 1000 : NaN;
    targets.push({
      id: "4",
      measure: `cold start from the control plane, ${thousands(s.coldStartSize)} entries (median of 2 edges)`,
      target: "≤ 10 s (1M)",
      measured: `${fmt(cold, 2)} s`,
      met: met(cold, cold <= 10),
      note: s.mode === "quick" ? "quick mode: 100,000 entries" : undefined,
    });
    const disk = r.diskStart;
    targets.push({
      id: "4",
      measure: `restart from the edge's disk snapshot, ${thousands(disk?.entries ?? 0)} entries`,
      target: "≤ 2 s (1M)",
      measured: disk ? `${fmt(disk.loadMs / 1000, 2)} s (source: ${disk.source})` : "not measured (see errors)",
      met: disk ? met(disk.loadMs, disk.loadMs <= 2000 && disk.source === "disk" && disk.revision === disk.expectedRevision) : false,
      note: s.mode === "quick" ? "quick mode: 100,000 entries" : undefined,
    });
    const writeP99 = r.writes?.latency.p99Ms ?? NaN;
    targets.push({
      id: "5",
      measure: "API write latency p99, confirmed by 2 edges",
      target: "≤ 20 ms",
      measured: `${fmt(writeP99, 2)} ms`,
      met: met(writeP99, writeP99 <= 20 && (r.writes?.latency.lagging ?? 1) === 0 && (r.writes?.latency.failed ?? 1) === 0),
    });
    const underWrites = r.writes ? median(r.writes.ratioPerRound) : NaN;
    const achieved = r.writes ? median(r.writes.load.map((item) => item.ratePerSec)) : NaN;
    targets.push({
      id: "5",
      measure: `edge throughput under writes / idle (offered ${s.writeRatePerSec}/s, achieved ${fmt(achieved, 0)}/s)`,
      target: "≥ 0.95",
      measured: fmt(underWrites, 3),
      met: met(underWrites, underWrites >= 0.95 && achieved >= 0.9 * s.writeRatePerSec),
    });
    const bulk = r.bulkImport;
    targets.push({
      id: "5",
      measure: `bulk import of ${thousands(s.bulkImportSize)} entries (POST /entries/import, answered once both edges confirmed)`,
      target: "≤ 10 s (100,000)",
      measured: bulk ? `${fmt(bulk.ms / 1000, 2)} s (status ${bulk.status}${bulk.lagging ? `, lagging: ${bulk.lagging}` : ""})` : "not measured (see errors)",
      met: bulk ? met(bulk.ms, bulk.ms <= 10_000 && bulk.status === 200 && !bulk.lagging) : false,
      note: s.mode === "quick" ? "quick mode: 10,000 entries" : undefined,
    });
    r.targets = targets;
  }

  async run(): Promise<void> {
    pinSelf(LOAD_CPU);
    const backend = await this.nginx("backend", (prefix, port) => backendConf(prefix, port), LOAD_CPU);
    try {
      await this.edgePhase(backend.port);
    } catch (error) {
      this.results.errors.push(`parts 1-3: ${errorText(error)}`);
      log(`parts 1-3 failed: ${errorText(error)}`);
    }
    // Whatever parts 1-3 left running (after a failure), except the backend.
    await this.stopAll((child) => child !== backend.process);
    try {
      await this.controlPlanePhase(backend.port);
    } catch (error) {
      this.results.errors.push(`parts 4-5: ${errorText(error)}`);
      log(`parts 4-5 failed: ${errorText(error)}`);
    }
    this.results.loadAverageAfter = loadAverage();
    this.results.durationS = Math.round((Date.now() - this.t0) / 1000);
    this.evaluate();
  }

  /** Stops what was started (that matches), newest first. */
  async stopAll(which: (child: ManagedProcess) => boolean = () => true): Promise<void> {
    const keep = this.started.filter((child) => !which(child));
    const stop = this.started.filter(which).reverse();
    this.started.splice(0, this.started.length, ...keep);
    for (const child of stop) {
      await child.stop("SIGTERM");
    }
    await this.closeStubs();
  }

  cleanUp(): void {
    if (!process.env.KEEP_BENCH_DIRS) {
      rmSync(this.directory, { recursive: true, force: true });
    }
  }
}

function verdict(value: boolean | null): string {
  return value === null ? "—" : value ? "met" : "**missed**";
}

function runRow(label: string, runs: WrkResult[], unloaded: WrkResult[]): string {
  const m = (f: (run: WrkResult) => number | undefined, list = runs) => median(list.map((run) => f(run) ?? NaN));
  return (
    `| ${label} | ${thousands(m((run) => run.requestsPerSec))} | ${fmt(m((run) => run.p50Ms))} | ${fmt(m((run) => run.p99Ms))} | ` +
    `${unloaded.length > 0 ? fmt(m((run) => run.p50Ms, unloaded), 3) : "—"} | ${unloaded.length > 0 ? fmt(m((run) => run.p99Ms, unloaded), 3) : "—"} | ` +
    `${fmt(m((run) => run.serverCpuUsPerRequest), 1)} | ${fmt(m((run) => (run.serverBusy === undefined ? undefined : run.serverBusy * 100)), 0)}% | ` +
    `${fmt(m((run) => (run.loadCoreBusy === undefined ? undefined : run.loadCoreBusy * 100)), 0)}% |`
  );
}

export function renderMarkdown(r: Results): string {
  const s = r.settings;
  const m = r.machine;
  const lines: string[] = [];
  const rounds = (values: number[], decimals = 3) => values.map((value) => fmt(value, decimals)).join(", ");
  lines.push("# set-backend benchmark", "");
  lines.push(
    `**These figures come from a ${m.nproc}-core shared machine (${m.cpuModel}, ${m.memoryGiB} GiB).** ` +
      "Absolute requests per second and milliseconds depend on that machine and on what else ran on it; " +
      "quote the ratios, which compare variants measured in the same rounds on the same core.",
    "",
  );
  lines.push(`- Command: \`${r.command}\` (${s.mode} mode; run time ${r.durationS ?? "?"} s)`);
  lines.push(`- Date: ${r.date}; commit ${m.commit} (built by \`npm run bench\` at its start)`);
  lines.push(`- Machine: nproc ${m.nproc}, CPU ${m.cpuModel}, memory ${m.memoryGiB} GiB, kernel ${m.kernel}`);
  lines.push(`- Software: ${m.nginx} (Debian, with libnginx-mod-http-lua; one binary for every variant), ${m.wrk}, Node ${m.node}`);
  lines.push(`- Load average (1/5/15 min) before: ${m.loadAverage}; after: ${r.loadAverageAfter ?? "?"} (other work on the machine shows here as noise)`);
  lines.push(
    `- Method: ${s.rounds} interleaved rounds (each round runs every variant once, in turn, starting one variant later each round), ` +
      `each run ${s.warmupS} s warm-up then ${s.durationS} s of \`wrk -t1 -c${s.connections} --latency\`, then ${s.latencyDurationS} s with \`-c1\` for unloaded latency. ` +
      "Ratios are taken within a round, then the median over rounds is reported.",
  );
  lines.push(
    `- CPU placement: every nginx under test has **1 worker pinned to CPU ${SERVER_CPU}** (taskset); wrk (1 thread), the backend ` +
      `(nginx, 1 worker, \`return 200\`, kept alive: \`keepalive 256\` in every proxy), this script, Postgres and the control plane are pinned to CPU ${LOAD_CPU}. ` +
      "So the server under test has a core to itself and never competes with the load generator; its worker's CPU time per request " +
      "(from /proc) is reported as well, which is less sensitive to noise than requests per second.",
  );
  lines.push(
    "- Requests: each request's Host is drawn at random (fixed seed) over the table's hosts, so a large table is read all over, " +
      "not one hot key. All proxies send the same request headers (those of openresty/set_backend.conf) and have `access_log off`: " +
      "the set-backend config is rendered from openresty/nginx.conf.template by scripts/lib/edge.ts and only its access_log line is turned off.",
  );
  lines.push("");

  lines.push("## Targets", "");
  lines.push("| part | measure | target | measured | result |", "|---|---|---|---|---|");
  for (const t of r.targets) {
    lines.push(`| ${t.id} | ${t.measure}${t.note ? ` (${t.note})` : ""} | ${t.target} | ${t.measured} | ${verdict(t.met)} |`);
  }
  lines.push("");

  lines.push(`## 1. Request path (table of ${thousands(s.tableSize)} entries)`, "");
  lines.push(
    `Medians over ${s.rounds} rounds. Throughput and the first latencies at ${s.connections} connections (saturated: latency there is mostly queueing); ` +
      "`c1` columns with one connection (no queueing). Worker columns: the nginx worker under test (CPU time from /proc per request, and share of its core); " +
      "load core: CPU " + LOAD_CPU + " (wrk + backend). When the worker is well under 100% busy and the load core near 100%, throughput is bounded by the load generator, " +
      "and the worker's CPU per request is the better measure of the variant's cost.",
    "",
  );
  lines.push("| variant | req/s | p50 ms | p99 ms | p50 ms c1 | p99 ms c1 | worker CPU µs/req | worker busy | load core busy |", "|---|---|---|---|---|---|---|---|---|");
  for (const v of r.variants) {
    lines.push(runRow(v.label, v.loaded, v.unloaded));
  }
  lines.push("");
  lines.push("| ratio | median | per round |", "|---|---|---|");
  for (const [name, value] of Object.entries(r.ratios)) {
    lines.push(`| ${name} | ${fmt(value.median, 3)} | ${rounds(value.perRound)} |`);
  }
  lines.push("");

  lines.push("## 2. Table size", "");
  lines.push(
    `Exact hits with ${s.sizes.map(thousands).join(", ")} entries (rows above: the ${thousands(s.tableSize)}-entry one is (d)).` +
      (s.mode === "quick" ? " Quick mode uses smaller tables than the full run's 10 / 100,000 / 1,000,000." : ""),
    "",
  );
  const loadLines = Object.entries(r.edgeLoadMsFromStub).map(([size, ms]) => `${thousands(Number(size))}: ${fmt(ms / 1000, 2)} s`);
  lines.push(`Edge load time of each table from a stub snapshot server (the edge's own share of a cold start): ${loadLines.join("; ") || "n/a"}.`, "");

  lines.push("## 3. Memory", "");
  if (r.memory) {
    lines.push(
      `Routes dict used (capacity − free, from the sync listener's /metrics): ${thousands(r.memory.usedBytesLarge)} B with ${thousands(r.memory.entries)} entries, ` +
        `${thousands(r.memory.usedBytesEmpty)} B with an empty table (the same dict size); capacity ${thousands(r.memory.capacity)} B. ` +
        `Per entry: **${fmt(r.memory.bytesPerEntry, 1)} B** (entries: 25-character host, one backend \`127.0.0.1:<5-digit port>\`; free space counts whole 4 KiB pages).`,
      "",
    );
  } else {
    lines.push("not measured (see errors)", "");
  }

  lines.push("## 4. Cold start", "");
  if (r.coldStart) {
    lines.push(
      `From spawning nginx to its sync listener reporting the table loaded, pulling ${thousands(r.coldStart.entries)} entries from the real control plane ` +
        `(Postgres filled directly by SQL, faster than going through the import API): ${r.coldStart.loadMs.map((ms) => `${fmt(ms / 1000, 2)} s`).join(", ")} (edge A, then edge B). ` +
        `Checked: ${r.coldStart.verified}.`,
      "",
    );
  } else {
    lines.push("not measured (see errors)", "");
  }
  if (r.diskStart) {
    const d = r.diskStart;
    lines.push(
      `Restart of edge A on the same prefix, from the last good table the edge keeps in its state folder (control plane still up): ` +
        `loaded in **${fmt(d.loadMs / 1000, 2)} s**, /status source "${d.source}", ${thousands(d.entries)} entries, revision ${d.revision} (before the restart: ${d.expectedRevision}).`,
      "",
    );
  } else {
    lines.push("Disk snapshot: not measured (see errors).", "");
  }

  lines.push("## 5. Writes", "");
  if (r.writes) {
    const w = r.writes;
    lines.push(
      `Sequential upserts through edge A's admin host (\`POST /entries.json\`, Host: l.io), each answered after both edges confirmed: ` +
        `${w.latency.writes} writes, p50 ${fmt(w.latency.p50Ms)} ms, p99 ${fmt(w.latency.p99Ms)} ms, ${w.latency.failed} failed, ` +
        `${w.latency.lagging} answered with a lagging edge; ${fmt(w.latency.ratePerSec, 0)} writes/s sequentially.`,
      "",
    );
    lines.push(
      `Edge A throughput (exact hits over its ${thousands(s.coldStartSize)} entries) idle vs while ${s.writeRatePerSec} writes/s were offered to the API through the same edge, ${s.writeRounds} interleaved rounds. ` +
        "The control plane and Postgres run on the load-generator core, so part of any drop is wrk losing CPU, not the edge; the edge worker's CPU per request separates the two.",
      "",
    );
    lines.push("| round | idle req/s | under writes req/s | ratio | writes/s achieved | write p99 ms | worker CPU µs/req idle → writes |", "|---|---|---|---|---|---|---|");
    w.idle.forEach((idle, i) => {
      const busy = w.underLoad[i] as WrkResult;
      const load = w.load[i] as WriteSummary;
      lines.push(
        `| ${i + 1} | ${thousands(idle.requestsPerSec)} | ${thousands(busy.requestsPerSec)} | ${fmt(w.ratioPerRound[i], 3)} | ${fmt(load.ratePerSec, 0)} | ${fmt(load.p99Ms)} | ` +
          `${fmt(idle.serverCpuUsPerRequest, 1)} → ${fmt(busy.serverCpuUsPerRequest, 1)} |`,
      );
    });
    lines.push(`| median | | | ${fmt(median(w.ratioPerRound), 3)} | | | CPU ratio ${fmt(median(w.cpuRatioPerRound), 3)} |`, "");
    if (w.writesOnly) {
      const o = w.writesOnly;
      lines.push(
        `The edges' own cost of a write, measured with writes only (no wrk traffic; ${o.load.writes} writes at ${fmt(o.load.ratePerSec, 0)}/s achieved, p99 ${fmt(o.load.p99Ms)} ms): ` +
          `edge A (proxies the API call and applies the push) ${fmt(o.edgeACpuUsPerWrite, 0)} µs of worker CPU per write, edge B (push only) ${fmt(o.edgeBCpuUsPerWrite, 0)} µs. ` +
          `At ${s.writeRatePerSec} writes/s that is ${fmt((o.edgeACpuUsPerWrite * s.writeRatePerSec) / 1e4, 1)}% and ${fmt((o.edgeBCpuUsPerWrite * s.writeRatePerSec) / 1e4, 1)}% of one worker's core, ` +
          `so a saturated edge would keep about ${fmt(1 - (o.edgeACpuUsPerWrite * s.writeRatePerSec) / 1e6, 3)} (A) and ${fmt(1 - (o.edgeBCpuUsPerWrite * s.writeRatePerSec) / 1e6, 3)} (B) of its idle throughput.`,
        "",
      );
    }
  } else {
    lines.push("not measured (see errors)", "");
  }
  if (r.bulkImport) {
    const b = r.bulkImport;
    lines.push(
      `Bulk import: ${thousands(b.entries)} new entries as NDJSON (${fmt(b.bodyBytes / 1e6, 1)} MB) through edge A: answered ${b.status} in **${fmt(b.ms / 1000, 2)} s**` +
        `${b.lagging ? `, lagging edges: ${b.lagging}` : ", both edges confirmed"}; revision ${b.revision}, edges at ${b.edgeRevisions.join(" and ")} right after.`,
      "",
    );
  } else {
    lines.push("Bulk import: not measured (see errors).", "");
  }

  lines.push("## Errors and notes", "");
  if (r.errors.length === 0) {
    lines.push("- No errors: every run got the statuses it expected, no socket errors, no error-log lines.");
  }
  for (const error of r.errors) {
    lines.push(`- Error: ${error}`);
  }
  for (const note of r.notes) {
    lines.push(`- ${note}`);
  }
  lines.push("");
  return lines.join("\n");
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const bench = new Bench(settingsFor(quick));
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) {
      return;
    }
    interrupted = true;
    log("interrupted: stopping everything started");
    void bench.stopAll().finally(() => {
      bench.cleanUp();
      process.exit(130);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await bench.run();
  } finally {
    await bench.stopAll();
    bench.cleanUp();
  }
  const results = join(repoRoot(), "bench", "results");
  mkdirSync(results, { recursive: true });
  const markdown = renderMarkdown(bench.results);
  writeFileSync(join(results, "latest.md"), markdown);
  writeFileSync(join(results, "latest.json"), JSON.stringify(bench.results, null, 2) + "\n");
  process.stdout.write(`\n${markdown}\n`);
  log(`wrote bench/results/latest.md and latest.json`);
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${errorText(error)}`);
  process.exit(1);
});
