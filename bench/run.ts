/**
 * `npm run bench [-- --quick]`: the edge's request-path cost against plain
 * nginx, table size, dict memory, cold start and writes, driven by wrk.
 * Writes bench/results/latest.md and latest.json and prints the Markdown.
 * The settings of each mode are in lib/settings.ts; the targets table and
 * the Markdown are built by lib/report.ts.
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
import { closeWriteClient, fillDatabase, startControlPlane, summarizeWrites, timedWrite, WriteLoad, WriteOutcome, WriteSummary } from "./lib/control-plane";
import { ADMIN_HOST, ADMIN_TOKEN, BenchEdge, edgeStatus, routesDictBytes, startBenchEdge } from "./lib/edge";
import { cpuSeconds, loadAverage, machineInfo, pinSelf, treeCpuSeconds } from "./lib/machine";
import { backendConf, balancerFloorConf, bareDictReadServer, mapConf, RunningNginx, startNginx, staticConf } from "./lib/nginx";
import { freePort } from "../scripts/lib/ports";
import { evaluateTargets, renderMarkdown } from "./lib/report";
import { Results, VariantRuns } from "./lib/results";
import { LOAD_CPU, SERVER_CPU, Settings, settingsFor } from "./lib/settings";
import { median, sleep, thousands } from "./lib/stats";
import { EXACT_PATTERN, exactHosts, hostFor, SnapshotServer, snapshotBody, UNKNOWN_PATTERN, WILDCARD_PATTERN } from "./lib/table";
import { hostScript, runWrk, WrkResult } from "./lib/wrk";

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

/** A part-1 edge, with its bare-dict-read server on a port of its own. */
interface TableEdge extends BenchEdge {
  bareReadPort: number;
}

function log(message: string): void {
  process.stdout.write(`[bench] ${message}\n`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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

  async edge(name: string, size: number, backendPort: number): Promise<TableEdge> {
    const server = await SnapshotServer.start(snapshotBody(size, `127.0.0.1:${backendPort}`), size);
    this.stubs.push(server);
    const bareReadPort = await freePort();
    const edge = await startBenchEdge({
      name,
      directory: this.directory,
      port: await freePort(),
      syncPort: await freePort(),
      controlPlaneAddress: server.address,
      routesDictSize: this.settings.dictSize,
      cpu: SERVER_CPU,
      loadTimeoutMs: 180000,
      extraServers: bareDictReadServer(bareReadPort, backendPort),
    });
    this.started.push(edge.process);
    const status = await edgeStatus(edge.syncPort);
    if (status.revision !== size) {
      throw new Error(`${name} loaded revision ${status.revision}, expected ${size}`);
    }
    this.results.edgeLoadMsFromStub[String(size)] = edge.loadMs;
    log(`${name}: ${thousands(size)} entries loaded from the stub snapshot in ${edge.loadMs} ms`);
    return { ...edge, bareReadPort };
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
    const floorServer = await this.nginx("balancer-floor", (prefix, port) => balancerFloorConf(prefix, port, backendPort));
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
      {
        key: "g",
        label: "(g) nginx, empty access_by_lua + a balancer_by_lua that sets one fixed peer",
        server: floorServer,
        script: mainHit,
        sampleHost: sample,
        expectStatus: 200,
        latency: false,
      },
      { key: `d@${small}`, label: `(d) exact hit, ${thousands(small)} entries`, server: edgeSmall, script: hitScript(small), sampleHost: sample, expectStatus: 200, latency: false },
    ];
    if (edgeLarge !== edgeMain) {
      variants.push({ key: `d@${large}`, label: `(d) exact hit, ${thousands(large)} entries`, server: edgeLarge, script: hitScript(large), sampleHost: hostFor(EXACT_PATTERN, large - 1), expectStatus: 200, latency: false });
    }
    // The same edge processes, on their bare-dict-read servers: what the dict's own read costs as it grows.
    const bareRead = (edge: TableEdge): RunningNginx => ({ ...edge, port: edge.bareReadPort });
    variants.push(
      { key: `read@${small}`, label: `bare dict read, ${thousands(small)} entries`, server: bareRead(edgeSmall), script: hitScript(small), sampleHost: sample, expectStatus: 200, latency: false },
      { key: `read@${s.tableSize}`, label: `bare dict read, ${thousands(s.tableSize)} entries`, server: bareRead(edgeMain), script: mainHit, sampleHost: sample, expectStatus: 200, latency: false },
      {
        key: `read@${large}`,
        label: `bare dict read, ${thousands(large)} entries`,
        server: bareRead(edgeLarge),
        script: hitScript(large),
        sampleHost: hostFor(EXACT_PATTERN, large - 1),
        expectStatus: 200,
        latency: false,
      },
    );
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
    // (d) at the largest size: its own variant, unless the main table is that large.
    const largeKey = edgeLarge === edgeMain ? "d" : `d@${large}`;
    /** The worker's CPU per request in a variant's loaded run of a round. */
    const cpu = (key: string, round: number) => loaded(key, round).serverCpuUsPerRequest ?? NaN;
    // The least a lua_shared_dict router that keeps connections pays per request: (g)'s balancer
    // phase plus the bare dict read at (d)'s table size, each over (c).
    const floorCpu = (round: number) => cpu("g", round) + cpu(`read@${s.tableSize}`, round) - cpu("c", round);
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
      "d/b edge CPU per request": perRound((r) => cpu("d", r) / cpu("b", r)),
      "d/c edge CPU per request": perRound((r) => cpu("d", r) / cpu("c", r)),
      [`size ${large}/${small} throughput`]: perRound((r) => loaded(largeKey, r).requestsPerSec / loaded(`d@${small}`, r).requestsPerSec),
      [`size ${large}/${small} edge CPU per request`]: perRound((r) => cpu(largeKey, r) / cpu(`d@${small}`, r)),
      "g/c throughput": perRound((r) => loaded("g", r).requestsPerSec / loaded("c", r).requestsPerSec),
      "g/c edge CPU per request": perRound((r) => cpu("g", r) / cpu("c", r)),
      "d/g edge CPU per request": perRound((r) => cpu("d", r) / cpu("g", r)),
      "floor/c edge CPU per request": perRound((r) => floorCpu(r) / cpu("c", r)),
      "floor/b edge CPU per request": perRound((r) => floorCpu(r) / cpu("b", r)),
      [`bare read ${large}/${small} throughput`]: perRound((r) => loaded(`read@${large}`, r).requestsPerSec / loaded(`read@${small}`, r).requestsPerSec),
      [`bare read ${large}/${small} edge CPU per request`]: perRound((r) => cpu(`read@${large}`, r) / cpu(`read@${small}`, r)),
    };

    for (const server of [staticServer, mapServer, luaServer, floorServer, edgeSmall, edgeMain, edgeLarge]) {
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
    // What the same writes cost the load core, which wrk and the backend have to themselves when idle.
    const cpuControlPlane = treeCpuSeconds(cp.controlPlane.child.pid as number);
    const cpuPostgres = treeCpuSeconds(cp.postgres.child.pid as number);
    const cpuWriter = process.cpuUsage();
    const writesOnly = new WriteLoad(edgeA.port, s.writeRatePerSec, 64, 2000, backendPort, "only");
    writesOnly.start();
    await sleep(s.durationS * 1000);
    const writesOnlyLoad = await writesOnly.stop();
    const answered = writesOnlyLoad.writes;
    this.results.writes.writesOnly = {
      load: writesOnlyLoad,
      edgeACpuUsPerWrite: ((cpuSeconds(edgeA.workerPid) - cpuA) / answered) * 1e6,
      edgeBCpuUsPerWrite: ((cpuSeconds(edgeB.workerPid) - cpuB) / answered) * 1e6,
      controlPlaneCpuUsPerWrite: ((treeCpuSeconds(cp.controlPlane.child.pid as number) - cpuControlPlane) / answered) * 1e6,
      postgresCpuUsPerWrite: ((treeCpuSeconds(cp.postgres.child.pid as number) - cpuPostgres) / answered) * 1e6,
      writerCpuUsPerWrite: (() => {
        const used = process.cpuUsage(cpuWriter);
        return (used.user + used.system) / answered;
      })(),
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
    this.results.targets = evaluateTargets(this.results);
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
    // Its idle kept-alive sockets would keep this process from exiting.
    closeWriteClient();
    if (!process.env.KEEP_BENCH_DIRS) {
      rmSync(this.directory, { recursive: true, force: true });
    }
  }
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
