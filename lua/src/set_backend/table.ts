/**
 * The routing table in shared memory: applying changes and snapshots with
 * per-entry revisions. Works on dicts passed in (no ngx globals), so unit
 * tests can drive it with a table-backed dict under plain LuaJIT.
 *
 * Layout (see contract.ts): routes dict key = normalized host (or wildcard),
 * value = the backends joined by BACKEND_SEPARATOR, user flags = the entry's
 * revision. A deleted host leaves a tombstone (empty value, its revision) for
 * TOMBSTONE_TTL_S, so a stale delivery of an older change cannot bring it
 * back; lookups treat a tombstone as a miss. Meta dict holds the table
 * revision. Writes use safe_set so a full dict reports "no memory" instead of
 * evicting routes through the dict's LRU.
 */
import {
  BACKEND_SEPARATOR,
  Change,
  ChangeBatchResult,
  MAX_BACKENDS,
  MAX_REVISION,
  META_KEY_DICT_FULL,
  META_KEY_ENTRIES,
  META_KEY_REVISION,
  META_KEY_ROUTES_WRITTEN,
  TOMBSTONE_VALUE,
} from "./contract";
import { normalizeHost } from "./host";
import { parseBackend } from "./backend";

/**
 * Checks one decoded change; returns why it is refused, or nil. `deep`
 * applies the full host and backend rules (pushes and pulled changes);
 * without it, a snapshot of a million entries from the control plane or from
 * this edge's own disk gets shape checks and cheap patterns only, which keeps
 * a cold start within seconds. Whatever a stored value holds, the request
 * path parses it again (peers.ts) and answers 502 rather than fail.
 */
export function changeError(raw: unknown, deep = true): string | undefined {
  if (typeof raw !== "object") {
    return "change is not an object";
  }
  const change = raw as LuaTable<AnyNotNil, unknown>;
  for (const [key] of pairs(change)) {
    if (key !== "host" && key !== "backends" && key !== "revision") {
      return "change has an unknown field '" + tostring(key) + "'";
    }
  }
  const host = change.get("host");
  if (typeof host !== "string") {
    return "change has no host";
  }
  if (deep ? normalizeHost(host, true).host !== host : string.find(host, "^%*?[%w%.%-]+$")[0] === undefined || string.find(host, "%u")[0] !== undefined) {
    return "change host '" + host + "' is not a normalized host";
  }
  const revision = change.get("revision");
  if (typeof revision !== "number" || revision < 1 || revision > MAX_REVISION || Math.floor(revision) !== revision) {
    return "change for '" + host + "' has no valid revision";
  }
  const backends = change.get("backends");
  if (backends === undefined) {
    return undefined;
  }
  if (typeof backends !== "object") {
    return "change for '" + host + "' has backends that are not a list";
  }
  const list = backends as unknown[];
  if (list.length < 1 || list.length > MAX_BACKENDS) {
    return "change for '" + host + "' has " + list.length + " backends, not 1 to " + MAX_BACKENDS;
  }
  for (const backend of list) {
    if (typeof backend !== "string") {
      return "change for '" + host + "' has a backend that is not a string";
    }
    const error = deep ? parseBackend(backend).error : string.find(backend, "^[%w%.%-%[%]:]+:%d+$")[0] === undefined ? "not host:port" : undefined;
    if (error !== undefined) {
      return "change for '" + host + "' has a bad backend: " + error;
    }
  }
  return undefined;
}

/**
 * How long a deleted host's tombstone stays. Stale deliveries are pushes that
 * lost a race, seconds late at most; pulls apply the log in order and need no
 * tombstone. An hour is a wide margin at tens of bytes per deleted host.
 */
export const TOMBSTONE_TTL_S = 3600;

/** Revision of the entry (or tombstone) stored for host, 0 when there is none. */
export function entryRevision(routes: NgxSharedDict, host: string): number {
  const [, flags] = routes.get(host);
  return flags ?? 0;
}

function isLive(value: unknown): boolean {
  return value !== undefined && value !== TOMBSTONE_VALUE;
}

export function entryCount(meta: NgxSharedDict): number {
  const [value] = meta.get(META_KEY_ENTRIES);
  return typeof value === "number" ? value : 0;
}

function addToEntryCount(meta: NgxSharedDict, delta: number): void {
  if (delta !== 0) {
    meta.incr(META_KEY_ENTRIES, delta, 0);
  }
}

/**
 * Applies one valid change unless the table already holds the same or a newer
 * revision for its host (a stale or duplicated delivery never rolls back).
 * Returns true when applied, false when skipped, or nil and the dict's error
 * (a full dict says "no memory": nothing is evicted, the change is refused);
 * then how the count of live entries changed (-1, 0, 1), which the caller
 * adds up and records once per batch rather than once per change.
 */
export function applyChange(routes: NgxSharedDict, meta: NgxSharedDict, change: Change, fresh = false): LuaMultiReturn<[boolean, undefined, number] | [undefined, string, number]> {
  // Into a dict never written since start there is nothing to compare with: one dict operation, not two.
  let current: unknown = undefined;
  let currentRevision: number | undefined = undefined;
  if (!fresh) {
    [current, currentRevision] = routes.get(change.host);
  }
  if ((currentRevision ?? 0) >= change.revision) {
    return $multi(false, undefined, 0);
  }
  const wasLive = isLive(current);
  if (change.backends === undefined) {
    const [ok] = routes.safe_set(change.host, TOMBSTONE_VALUE, TOMBSTONE_TTL_S, change.revision);
    if (!ok) {
      // No room for the tombstone: deleting still must happen.
      routes.delete(change.host);
    }
    return $multi(true, undefined, wasLive ? -1 : 0);
  }
  const [ok, err] = routes.safe_set(change.host, table.concat(change.backends, BACKEND_SEPARATOR), 0, change.revision);
  if (!ok) {
    if (err === "no memory") {
      meta.safe_set(META_KEY_DICT_FULL, true);
    }
    return $multi(undefined, err ?? "unknown dict error", 0);
  }
  return $multi(true, undefined, wasLive ? 0 : 1);
}

export function tableRevision(meta: NgxSharedDict): number {
  const [value] = meta.get(META_KEY_REVISION);
  return typeof value === "number" ? value : 0;
}

/** Moves the table revision forward, never back. Caller holds the write lock. */
export function raiseTableRevision(meta: NgxSharedDict, revision: number): LuaMultiReturn<[boolean, undefined] | [undefined, string]> {
  if (revision <= tableRevision(meta)) {
    return $multi(true, undefined);
  }
  const [ok, err] = meta.safe_set(META_KEY_REVISION, revision);
  if (!ok) {
    return $multi(undefined, err ?? "unknown dict error");
  }
  return $multi(true, undefined);
}

/**
 * Validates and applies changes in order into result; returns the highest
 * revision among those applied or skipped. An invalid change is reported and
 * refused; it does not stop the others, and no change is ever half-applied
 * (each is one dict operation).
 */
function applyChanges(routes: NgxSharedDict, meta: NgxSharedDict, changes: unknown[], result: ChangeBatchResult, deep: boolean): number {
  // Nothing was ever written to the routes dict: it is empty. Only for a
  // snapshot (not deep), whose hosts are unique; a push may repeat a host.
  const [written] = meta.get(META_KEY_ROUTES_WRITTEN);
  const fresh = !deep && written === undefined;
  if (changes.length > 0 && written === undefined) {
    meta.safe_set(META_KEY_ROUTES_WRITTEN, true);
  }
  let highest = 0;
  let entries = 0;
  for (const raw of changes) {
    const error = changeError(raw, deep);
    if (error !== undefined) {
      result.errors.push(error);
      continue;
    }
    const change = raw as Change;
    const [applied, err, delta] = applyChange(routes, meta, change, fresh);
    entries += delta;
    if (applied === undefined) {
      result.errors.push("change for '" + change.host + "' at revision " + change.revision + " failed: " + err);
      continue;
    }
    if (applied) {
      result.applied++;
    } else {
      result.skipped++;
    }
    if (change.revision > highest) {
      highest = change.revision;
    }
  }
  addToEntryCount(meta, entries);
  return highest;
}

/**
 * Applies a batch whose changes follow `previous` in the log with nothing
 * between them (contract.ChangeBatch). If the table already had everything up
 * to `previous`, it now has everything up to the batch's last change, and its
 * revision moves there. Otherwise the changes are applied all the same (each
 * is safe on its own) but the revision stays, and `contiguous` is false: the
 * caller pulls what was missed. Caller holds the write lock.
 */
export function applyBatch(routes: NgxSharedDict, meta: NgxSharedDict, previous: number, changes: unknown[]): ChangeBatchResult {
  const result: ChangeBatchResult = { revision: 0, applied: 0, skipped: 0, errors: [], contiguous: true };
  const before = tableRevision(meta);
  const highest = applyChanges(routes, meta, changes, result, true);
  result.contiguous = previous <= before;
  // A refused change must stay visible as "behind", so a later pull repairs it.
  if (result.contiguous && result.errors.length === 0 && highest > 0) {
    const [ok, err] = raiseTableRevision(meta, highest);
    if (!ok) {
      result.errors.push("table revision not recorded: " + err);
    }
  }
  result.revision = tableRevision(meta);
  return result;
}

/**
 * Replaces the table with a snapshot taken at `revision`: newer entries are
 * written, entries the snapshot no longer has are removed unless the dict
 * holds them at a newer revision than the snapshot (a push that overtook it).
 * Hosts present before and after are overwritten in place, never removed
 * first, so they never miss. The removal pass walks the dict's keys, which
 * locks the dict while the list is built; it is skipped when the table holds
 * no live entry (an edge that just started). Caller holds the write lock.
 */
export function loadSnapshot(routes: NgxSharedDict, meta: NgxSharedDict, revision: number, entries: unknown[]): ChangeBatchResult {
  const result: ChangeBatchResult = { revision: 0, applied: 0, skipped: 0, errors: [], contiguous: true };
  const hadEntries = entryCount(meta) > 0;
  applyChanges(routes, meta, entries, result, false);
  if (result.errors.length > 0) {
    result.revision = tableRevision(meta);
    return result;
  }
  if (hadEntries) {
    const present = new LuaTable<string, boolean>();
    for (const raw of entries) {
      present.set((raw as Change).host, true);
    }
    let removed = 0;
    for (const host of routes.get_keys(0)) {
      if (!present.has(host)) {
        const [value, flags] = routes.get(host);
        if ((flags ?? 0) <= revision) {
          routes.delete(host);
          removed += isLive(value) ? 1 : 0;
        }
      }
    }
    addToEntryCount(meta, -removed);
  }
  const [ok, err] = raiseTableRevision(meta, revision);
  if (!ok) {
    result.errors.push("table revision not recorded: " + err);
  }
  result.revision = tableRevision(meta);
  return result;
}
