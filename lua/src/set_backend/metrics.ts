/**
 * Edge counters. Each worker counts in a plain Lua table (no lock, no shared
 * memory on the request path) and adds its counts to the metrics dict once a
 * second; /metrics on the sync listener reads the dict. Counts of a worker
 * that dies within a second of its last flush are lost: acceptable for
 * rates, and a dashboard sees the restart anyway.
 */
import { META_KEY_LOADED_AT } from "./contract";
import { meta, metricsDict, routes } from "./state";
import { tableRevision } from "./table";

const FLUSH_INTERVAL_S = 1;

/** Counter indexes into the per-worker array. */
export const STATUS_1XX = 1;
export const STATUS_2XX = 2;
export const STATUS_3XX = 3;
export const STATUS_4XX = 4;
export const STATUS_5XX = 5;
export const LOOKUP_MISS = 6;
export const NO_TABLE = 7;
export const UPSTREAM_FAILURE = 8;
export const UNRESOLVABLE = 9;
const COUNTER_KEYS = [
  "requests_1xx",
  "requests_2xx",
  "requests_3xx",
  "requests_4xx",
  "requests_5xx",
  "lookup_misses",
  "no_table",
  "upstream_failures",
  "unresolvable",
];


/** Per worker: counts since the last flush, indexed as above (a Lua array, 1-based). */
const counts = new LuaTable<number, number>();
for (let i = 1; i <= COUNTER_KEYS.length; i++) {
  counts.set(i, 0);
}

export function count(index: number): void {
  counts.set(index, (counts.get(index) ?? 0) + 1);
}

/** Counts a finished request by its status class (1..5). */
export function countStatus(status: number): void {
  const index = math.floor(status / 100);
  if (index >= STATUS_1XX && index <= STATUS_5XX) {
    count(index);
  }
}

function flush(this: void): void {
  for (let i = 1; i <= COUNTER_KEYS.length; i++) {
    const value = counts.get(i) ?? 0;
    if (value > 0) {
      counts.set(i, 0);
      const [, err] = metricsDict.incr(COUNTER_KEYS[i - 1] as string, value, 0);
      if (err !== undefined) {
        ngx.log(ngx.WARN, "[metrics] cannot add to ", COUNTER_KEYS[i - 1], ": ", err);
      }
    }
  }
}

/** Starts this worker's flush timer. Called from init_worker. */
export function start(): void {
  const [ok, err] = ngx.timer.every(FLUSH_INTERVAL_S, flush);
  if (ok === undefined) {
    ngx.log(ngx.ERR, "[metrics] cannot start the flush timer: ", err);
  }
}

function total(key: string): number {
  const [value] = metricsDict.get(key);
  return typeof value === "number" ? value : 0;
}

/** Prometheus text format (version 0.0.4). */
export function render(): string {
  const [loadedAt] = meta.get(META_KEY_LOADED_AT);
  const lines: string[] = [
    "# HELP set_backend_requests_total Requests the edge answered in routed locations, by status class.",
    "# TYPE set_backend_requests_total counter",
  ];
  for (let i = STATUS_1XX; i <= STATUS_5XX; i++) {
    lines.push('set_backend_requests_total{class="' + i + 'xx"} ' + total(COUNTER_KEYS[i - 1] as string));
  }
  lines.push(
    "# HELP set_backend_lookup_misses_total Requests for a Host without an entry (answered 404).",
    "# TYPE set_backend_lookup_misses_total counter",
    "set_backend_lookup_misses_total " + total("lookup_misses"),
    "# HELP set_backend_no_table_total Requests answered 503 because the edge had not loaded a table.",
    "# TYPE set_backend_no_table_total counter",
    "set_backend_no_table_total " + total("no_table"),
    "# HELP set_backend_upstream_failures_total Requests whose every try failed (answered 502 or 504 by the edge).",
    "# TYPE set_backend_upstream_failures_total counter",
    "set_backend_upstream_failures_total " + total("upstream_failures"),
    "# HELP set_backend_unresolvable_total Requests whose backends did not resolve (answered 502).",
    "# TYPE set_backend_unresolvable_total counter",
    "set_backend_unresolvable_total " + total("unresolvable"),
    "# HELP set_backend_table_revision Revision of the routing table this edge holds.",
    "# TYPE set_backend_table_revision gauge",
    "set_backend_table_revision " + tableRevision(meta),
    "# HELP set_backend_table_loaded 1 once the edge has loaded a table since it started.",
    "# TYPE set_backend_table_loaded gauge",
    "set_backend_table_loaded " + (loadedAt === undefined ? 0 : 1),
    "# HELP set_backend_routes_dict_free_bytes Free bytes in the routes dict (whole free pages only).",
    "# TYPE set_backend_routes_dict_free_bytes gauge",
    "set_backend_routes_dict_free_bytes " + routes.free_space(),
    "# HELP set_backend_routes_dict_capacity_bytes Size of the routes dict.",
    "# TYPE set_backend_routes_dict_capacity_bytes gauge",
    "set_backend_routes_dict_capacity_bytes " + routes.capacity(),
  );
  return table.concat(lines, "\n") + "\n";
}
