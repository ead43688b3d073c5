/**
 * The edge's last good table on its own disk, so an edge that restarts while
 * the control plane is unreachable still routes. Two files in STATE_DIR:
 *
 * - snapshot.json: the body of the last full snapshot pulled from the control
 *   plane, as received. Written to a temporary file and renamed over the old
 *   one, so a crash leaves the old or the new file, never half of one.
 * - journal.ndjson: one line per batch applied since, {"revision", "previous",
 *   "changes"}, appended under the table's write lock. A torn last line (a
 *   crash mid-write) is ignored on load.
 *
 * Only timers and the sync listener write here, never the request path.
 * Lua's io has no fsync: a power cut can lose the last writes (not a crash
 * of nginx); the control plane has them and the next pull brings them back.
 */
import * as cjson from "cjson.safe";
import { STATE_DIR } from "./config";
import { readFile } from "./files";
import { DecodedSnapshot, decodeSnapshot } from "./snapshot";

const SNAPSHOT_FILE = "snapshot.json";
const JOURNAL_FILE = "journal.ndjson";

export function enabled(): boolean {
  return STATE_DIR !== "";
}

function path(name: string): string {
  return STATE_DIR + "/" + name;
}

/** Replaces the snapshot with `body` and empties the journal. */
export function writeSnapshot(body: string): LuaMultiReturn<[true, undefined] | [undefined, string]> {
  if (!enabled()) {
    return $multi(true, undefined);
  }
  const temporary = path(SNAPSHOT_FILE + ".tmp");
  const [handle, openErr] = io.open(temporary, "w");
  if (handle === undefined) {
    return $multi(undefined, "cannot write " + temporary + ": " + openErr);
  }
  const [written, writeErr] = handle.write(body);
  handle.close();
  if (written === undefined) {
    os.remove(temporary);
    return $multi(undefined, "cannot write " + temporary + ": " + writeErr);
  }
  const [renamed, renameErr] = os.rename(temporary, path(SNAPSHOT_FILE));
  if (renamed === undefined) {
    return $multi(undefined, "cannot rename " + temporary + ": " + renameErr);
  }
  // Truncate the journal: everything in it is older than the new snapshot.
  const [journal, journalErr] = io.open(path(JOURNAL_FILE), "w");
  if (journal === undefined) {
    return $multi(undefined, "cannot reset the journal: " + journalErr);
  }
  journal.close();
  return $multi(true, undefined);
}

/** Appends one applied batch to the journal. `line` is its JSON, without newline. */
export function appendJournal(line: string): LuaMultiReturn<[true, undefined] | [undefined, string]> {
  if (!enabled()) {
    return $multi(true, undefined);
  }
  const [handle, openErr] = io.open(path(JOURNAL_FILE), "a");
  if (handle === undefined) {
    return $multi(undefined, "cannot append to the journal: " + openErr);
  }
  const [written, writeErr] = handle.write(line + "\n");
  handle.close();
  if (written === undefined) {
    return $multi(undefined, "cannot append to the journal: " + writeErr);
  }
  return $multi(true, undefined);
}

export interface DiskTable {
  snapshot: DecodedSnapshot;
  journal: Array<{ previous: number; changes: unknown[] }>;
}

/** The table saved on disk, or nil and why not (no snapshot yet is not an error: nil, nil). */
export function read(): LuaMultiReturn<[DiskTable, undefined] | [undefined, string | undefined]> {
  if (!enabled()) {
    return $multi(undefined, undefined);
  }
  const body = readFile(path(SNAPSHOT_FILE));
  if (body === undefined) {
    return $multi(undefined, undefined);
  }
  const [snapshot, decodeErr] = decodeSnapshot(body);
  if (snapshot === undefined) {
    return $multi(undefined, path(SNAPSHOT_FILE) + " is not a snapshot: " + decodeErr);
  }
  const journal: Array<{ previous: number; changes: unknown[] }> = [];
  const text = readFile(path(JOURNAL_FILE)) ?? "";
  for (const [line] of string.gmatch(text, "[^\n]+")) {
    const [batch] = cjson.decode(line as string);
    const entry = batch as { previous?: unknown; changes?: unknown } | undefined;
    if (entry === undefined || typeof entry !== "object" || typeof entry.previous !== "number" || typeof entry.changes !== "object") {
      // A torn last line from a crash; what follows it cannot be trusted either.
      ngx.log(ngx.WARN, "[disk] ignoring the journal from an unreadable line on");
      break;
    }
    journal.push({ previous: entry.previous, changes: entry.changes as unknown[] });
  }
  return $multi({ snapshot, journal }, undefined);
}

/** Size of the journal relative to the snapshot, to decide when to compact. */
export function journalToSnapshotRatio(): number {
  if (!enabled()) {
    return 0;
  }
  const sizes: number[] = [];
  for (const name of [SNAPSHOT_FILE, JOURNAL_FILE]) {
    const [handle] = io.open(path(name), "r");
    if (handle === undefined) {
      sizes.push(0);
    } else {
      const [size] = handle.seek("end");
      sizes.push(size ?? 0);
      handle.close();
    }
  }
  const snapshotSize = sizes[0] ?? 0;
  return snapshotSize === 0 ? 0 : (sizes[1] ?? 0) / snapshotSize;
}
