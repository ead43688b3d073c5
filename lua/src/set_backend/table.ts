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
  TOMBSTONE_VALUE,
} from "./contract";
import { normalizeHost } from "./host";
import { parseBackend } from "./backend";

/** A revision of the change log: a whole number from 1 to MAX_REVISION (the dict's flags). */
export function isRevision(value: unknown): value is number {
  return typeof value === "number" && value >= 1 && value <= MAX_REVISION && Math.floor(value) === value;
}

/** The cheap host check of a snapshot entry: the characters of a normalized host, no upper case. */
function looksNormalized(host: string): boolean {
  return string.find(host, "^%*?[%w%.%-]+$")[0] !== undefined && string.find(host, "%u")[0] === undefined;
}

/** The cheap backend check of a snapshot entry: something, a colon, a port. */
function looksLikeBackend(backend: string): boolean {
  return string.find(backend, "^[%w%.%-%[%]:]+:%d+$")[0] !== undefined;
}

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
  if (deep ? normalizeHost(host, true).host !== host : !looksNormalized(host)) {
    return "change host '" + host + "' is not a normalized host";
  }
  if (!isRevision(change.get("revision"))) {
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
    const error = deep ? parseBackend(backend).error : looksLikeBackend(backend) ? undefined : "not host:port";
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
  const value = change.backends === undefined ? undefined : table.concat(change.backends, BACKEND_SEPARATOR);
  return applyValue(routes, meta, change.host, value, change.revision, fresh);
}

/**
 * applyChange on a stored value (the backends already joined), or nil for a
 * delete. `fresh`: the routes dict was empty when the load began, so the
 * entry is added without a read first (one dict operation, not two); a host
 * the load already wrote (a snapshot that repeats one) takes the usual path.
 */
function applyValue(routes: NgxSharedDict, meta: NgxSharedDict, host: string, value: string | undefined, revision: number, fresh: boolean): LuaMultiReturn<[boolean, undefined, number] | [undefined, string, number]> {
  if (fresh && value !== undefined) {
    const [added, addErr] = routes.safe_add(host, value, 0, revision);
    if (added) {
      return $multi(true, undefined, 1);
    }
    if (addErr !== "exists") {
      if (addErr === "no memory") {
        meta.safe_set(META_KEY_DICT_FULL, true);
      }
      return $multi(undefined, addErr ?? "unknown dict error", 0);
    }
  }
  const [current, currentRevision] = routes.get(host);
  if ((currentRevision ?? 0) >= revision) {
    return $multi(false, undefined, 0);
  }
  const wasLive = isLive(current);
  if (value === undefined) {
    const [ok] = routes.safe_set(host, TOMBSTONE_VALUE, TOMBSTONE_TTL_S, revision);
    if (!ok) {
      // No room for the tombstone: deleting still must happen.
      routes.delete(host);
    }
    return $multi(true, undefined, wasLive ? -1 : 0);
  }
  const [ok, err] = routes.safe_set(host, value, 0, revision);
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
 * True when the routes dict holds no key at all (no entry, no tombstone), so
 * a snapshot's writes need no read first. Asked once per load; get_keys(1)
 * stops at the first key.
 */
function isEmpty(routes: NgxSharedDict): boolean {
  return routes.get_keys(1).length === 0;
}

/**
 * Validates and applies changes in order into result; returns the highest
 * revision among those applied or skipped. An invalid change is reported and
 * refused; it does not stop the others, and no change is ever half-applied
 * (each is one dict operation).
 */
function applyChanges(routes: NgxSharedDict, meta: NgxSharedDict, changes: unknown[], result: ChangeBatchResult, deep: boolean): number {
  // Only snapshots (not deep) load into an empty dict; pushes always read first.
  const fresh = !deep && isEmpty(routes);
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
  return finishSnapshot(routes, meta, revision, hadEntries, result, () => {
    const present = new LuaTable<string, boolean>();
    for (const raw of entries) {
      present.set((raw as Change).host, true);
    }
    return present;
  });
}

/**
 * Why one entry of a column snapshot is refused, or nil: the same cheap
 * checks as changeError without `deep`, on a stored value (backends joined
 * by BACKEND_SEPARATOR).
 */
export function columnEntryError(host: unknown, value: unknown, revision: unknown): string | undefined {
  if (typeof host !== "string" || !looksNormalized(host)) {
    return "snapshot host '" + tostring(host) + "' is not a normalized host";
  }
  if (!isRevision(revision)) {
    return "snapshot entry for '" + host + "' has no valid revision";
  }
  if (typeof value !== "string") {
    return "snapshot entry for '" + host + "' has backends that are not a string";
  }
  // One backend, the common case, is one pattern; several are checked one by one.
  if (looksLikeBackend(value)) {
    return undefined;
  }
  let count = 0;
  for (const [backend] of string.gmatch(value, "[^" + BACKEND_SEPARATOR + "]+")) {
    count++;
    if (!looksLikeBackend(backend as string)) {
      return "snapshot entry for '" + host + "' has a bad backend: not host:port";
    }
  }
  if (count < 1 || count > MAX_BACKENDS || string.find(value, BACKEND_SEPARATOR + BACKEND_SEPARATOR, 1, true)[0] !== undefined || string.sub(value, 1, 1) === BACKEND_SEPARATOR || string.sub(value, -1) === BACKEND_SEPARATOR) {
    return "snapshot entry for '" + host + "' has " + count + " backends, not 1 to " + MAX_BACKENDS + " separated by single spaces";
  }
  return undefined;
}

/**
 * loadSnapshot for the column form (contract.SnapshotColumns): entry i is
 * hosts[i], values[i] (its backends joined by BACKEND_SEPARATOR, as the dict
 * stores them) and revisions[i]. A million entries decode as three arrays
 * much faster than as a million objects. Caller holds the write lock.
 */
export function loadSnapshotColumns(routes: NgxSharedDict, meta: NgxSharedDict, revision: number, hosts: unknown[], values: unknown[], revisions: unknown[]): ChangeBatchResult {
  const result: ChangeBatchResult = { revision: 0, applied: 0, skipped: 0, errors: [], contiguous: true };
  if (hosts.length !== values.length || hosts.length !== revisions.length) {
    result.errors.push("snapshot columns differ in length: " + hosts.length + " hosts, " + values.length + " backends, " + revisions.length + " revisions");
    result.revision = tableRevision(meta);
    return result;
  }
  const hadEntries = entryCount(meta) > 0;
  const fresh = isEmpty(routes);
  let entries = 0;
  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i];
    const value = values[i];
    const entryRevision = revisions[i];
    const error = columnEntryError(host, value, entryRevision);
    if (error !== undefined) {
      result.errors.push(error);
      continue;
    }
    const [applied, err, delta] = applyValue(routes, meta, host as string, value as string, entryRevision as number, fresh);
    entries += delta;
    if (applied === undefined) {
      result.errors.push("snapshot entry for '" + host + "' failed: " + err);
    } else if (applied) {
      result.applied++;
    } else {
      result.skipped++;
    }
  }
  addToEntryCount(meta, entries);
  return finishSnapshot(routes, meta, revision, hadEntries, result, () => {
    const present = new LuaTable<string, boolean>();
    for (const host of hosts) {
      present.set(host as string, true);
    }
    return present;
  });
}

/**
 * The end of a snapshot load: remove what the snapshot no longer has (when
 * the table had entries before), then move the table revision.
 */
function finishSnapshot(routes: NgxSharedDict, meta: NgxSharedDict, revision: number, hadEntries: boolean, result: ChangeBatchResult, presentHosts: (this: void) => LuaTable<string, boolean>): ChangeBatchResult {
  if (result.errors.length > 0) {
    result.revision = tableRevision(meta);
    return result;
  }
  if (hadEntries) {
    const present = presentHosts();
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
