/**
 * Which hosts of the routing table changed, for the per-worker route caches
 * (route_cache.ts). Works on the meta dict passed in (no ngx globals), so the
 * unit tests drive it with a table-backed dict.
 *
 * Writers (holding the table's write lock) number every change they apply:
 * CHANGE_SEQ counts them, and the host of change n goes in ring slot
 * n % CHANGE_RING_SIZE, with n as the slot's flags. A reader that saw count
 * `seen` and now sees `current` invalidates the hosts in slots seen+1 ..
 * current; when a slot no longer holds its number (overwritten, or not yet
 * written by a writer that already counted it), when a wildcard changed, or
 * when more than the ring changed at once (a snapshot), the reader drops its
 * whole cache instead. Dropping too much costs a few dict reads; keeping a
 * stale entry is what this must never do.
 *
 * Order matters: a writer changes the routes dict first, then counts, then
 * fills the slot. A reader that sees the new count therefore finds the new
 * value in the routes dict, or a slot that forces it to drop everything.
 */
import { META_KEY_CHANGE_SEQ } from "./contract";

/** Changes a worker can fall behind by and still invalidate host by host. */
export const CHANGE_RING_SIZE = 1024;
/** Flags are a uint32. */
const FLAGS_MODULO = 4294967296;
const STAR = 42;

/** Under nginx, logs at ERR; the unit tests run without ngx, and their dicts never fail. */
function logError(this: void, ...parts: unknown[]): void {
  if (typeof ngx !== "undefined") {
    ngx.log(ngx.ERR, ...parts);
  }
}

function slotKey(seq: number): string {
  return "changed:" + (seq % CHANGE_RING_SIZE);
}

/** The change count readers compare against; 0 before any write. */
export function changeSeq(meta: NgxSharedDict): number {
  const [value] = meta.get(META_KEY_CHANGE_SEQ);
  return typeof value === "number" ? value : 0;
}

/** Records that `host` changed. Call after the routes dict holds the change. */
export function recordChange(meta: NgxSharedDict, host: string): void {
  const [seq, err] = meta.incr(META_KEY_CHANGE_SEQ, 1, 0);
  if (seq === undefined) {
    logError("[table] cannot count a change for the route caches: ", err);
    return;
  }
  const [ok] = meta.safe_set(slotKey(seq), host, 0, seq % FLAGS_MODULO);
  if (!ok) {
    // Without its slot, readers could not tell which host changed: make them drop everything.
    recordReplace(meta);
  }
}

/** Records that the whole table may have changed (a snapshot was loaded): every cache is dropped. */
export function recordReplace(meta: NgxSharedDict): void {
  const [, err] = meta.incr(META_KEY_CHANGE_SEQ, CHANGE_RING_SIZE + 1, 0);
  if (err !== undefined) {
    logError("[table] cannot tell the route caches that the table was replaced: ", err);
  }
}

/**
 * The hosts that changed after change `seen` up to change `current`, or nil
 * when the caller must drop its whole cache.
 */
export function changedHosts(meta: NgxSharedDict, seen: number, current: number): string[] | undefined {
  if (current < seen || current - seen > CHANGE_RING_SIZE) {
    return undefined;
  }
  const hosts: string[] = [];
  for (let seq = seen + 1; seq <= current; seq++) {
    const [host, flags] = meta.get(slotKey(seq));
    if (typeof host !== "string" || flags !== seq % FLAGS_MODULO || string.byte(host, 1) === STAR) {
      return undefined;
    }
    hosts.push(host);
  }
  return hosts;
}
