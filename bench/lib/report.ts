/** The targets table of a run and the Markdown of bench/results/latest.md. */
import { WriteSummary } from "./control-plane";
import { Results, Target } from "./results";
import { LOAD_CPU, SERVER_CPU } from "./settings";
import { fmt, median, thousands } from "./stats";
import { WrkResult } from "./wrk";

function met(value: number, ok: boolean): boolean | null {
  return Number.isFinite(value) ? ok : null;
}

/** Each target against what the run measured; met is null when a figure is missing. */
export function evaluateTargets(r: Results): Target[] {
  const s = r.settings;
  const targets: Target[] = [];
  const ratio = (name: string) => r.ratios[name]?.median ?? NaN;
  const dc = ratio("d/c throughput");
  const db = ratio("d/b throughput");
  const p99c1 = ratio("p99 added over b, ms, 1 connection");
  const p99c32 = ratio("p99 added over b, ms, 32 connections");
  const floorNote = (base: string) =>
    `the floor under (d), (g) plus the bare dict read, would give about ${fmt(1 / ratio(`floor/${base} edge CPU per request`), 3)} (worker CPU)` +
    (base === "c" ? ` and (g) alone ${fmt(ratio("g/c throughput"), 3)}` : "");
  const cpuNote = (name: string) => `worker CPU per request ${name}: ${fmt(ratio(name), 3)}, so a saturated worker would give about ${fmt(1 / ratio(name), 3)}`;
  targets.push({
    id: "1",
    measure: "throughput (d)/(c): exact hit vs empty access_by_lua",
    target: "≥ 0.97",
    measured: fmt(dc, 3),
    met: met(dc, dc >= 0.97),
    note: `${cpuNote("d/c edge CPU per request")}; ${floorNote("c")}`,
  });
  targets.push({
    id: "1",
    measure: "throughput (d)/(b): exact hit vs map $host",
    target: "≥ 0.90",
    measured: fmt(db, 3),
    met: met(db, db >= 0.9),
    note: `${cpuNote("d/b edge CPU per request")}; ${floorNote("b")}`,
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
    note:
      (s.mode === "quick" ? "quick mode: 100,000 rather than 1,000,000; " : "") +
      `${cpuNote(`size ${large}/${small} edge CPU per request`)}; the bare dict read alone: ${fmt(ratio(`bare read ${large}/${small} throughput`), 3)}`,
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
  return targets;
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

  lines.push(
    "(g) is the floor under (d) that no Lua router whose peers change at run time can go below while it keeps connections to them: " +
      "short of an upstream block per peer in the config, nginx's keepalive reaches a peer chosen in Lua only through balancer_by_lua, so (g) runs (c)'s empty access_by_lua plus a balancer_by_lua that sets " +
      "one fixed peer and looks nothing up. (g)/(c) is what that phase alone costs. Every lookup in a lua_shared_dict also pays the bare dict read (its rows are explained in section 2) " +
      `at (d)'s ${thousands(s.tableSize)} entries, so the floor under (d) is (g) plus that read's CPU over (c): floor/c and floor/b ` +
      "compare it with (c) and (b) in worker CPU per request. d/g edge CPU per request is what set-backend's own code adds over (g).",
    "",
  );

  lines.push("## 2. Table size", "");
  lines.push(
    `Exact hits with ${s.sizes.map(thousands).join(", ")} entries (rows above: the ${thousands(s.tableSize)}-entry one is (d)).` +
      (s.mode === "quick" ? " Quick mode uses smaller tables than the full run's 10 / 100,000 / 1,000,000." : ""),
    "",
  );
  lines.push(
    "The bare dict read rows are the same edge processes (same dict, same entries) on a server of their own whose access_by_lua does only " +
      "`ngx.shared.set_backend_routes:get(ngx.var.host)` (404 on a miss) before a static upstream: the part of a lookup that any " +
      "lua_shared_dict router pays. The dict is a red-black tree that also moves each entry read to the head of its LRU queue, " +
      "so a read at a million entries walks and writes memory all over the zone.",
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
      `Sequential upserts through edge A's admin host (\`POST /entries.json\`, Host: l.io), each answered after both edges confirmed; ` +
        "every write of this part goes over kept-alive connections, as an API client sending many writes keeps them: " +
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
      if (o.controlPlaneCpuUsPerWrite !== undefined && o.postgresCpuUsPerWrite !== undefined && o.writerCpuUsPerWrite !== undefined) {
        const onLoadCore = o.controlPlaneCpuUsPerWrite + o.postgresCpuUsPerWrite + o.edgeBCpuUsPerWrite + o.writerCpuUsPerWrite;
        lines.push(
          `The same writes on the load core (CPU ${LOAD_CPU}): the control plane ${fmt(o.controlPlaneCpuUsPerWrite, 0)} µs of CPU per write, Postgres ${fmt(o.postgresCpuUsPerWrite, 0)} µs, ` +
            `edge B ${fmt(o.edgeBCpuUsPerWrite, 0)} µs and this script sending them ${fmt(o.writerCpuUsPerWrite, 0)} µs: ${fmt(onLoadCore, 0)} µs, ` +
            `or ${fmt((onLoadCore * s.writeRatePerSec) / 1e4, 0)}% of that core at ${s.writeRatePerSec} writes/s, taken from wrk and the backend, which keep it busy on their own when idle.`,
          "",
        );
      }
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
