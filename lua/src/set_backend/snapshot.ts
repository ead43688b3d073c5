/**
 * A snapshot body from the control plane or from this edge's disk, in
 * either form of the contract (Snapshot, SnapshotColumns), decoded and
 * applied. Works on dicts passed in, like table.ts.
 */
import * as cjson from "cjson.safe";
import { ChangeBatchResult } from "./contract";
import { isRevision, loadSnapshot, loadSnapshotColumns } from "./table";

export type DecodedSnapshot =
  | { form: "entries"; revision: number; entries: unknown[] }
  | { form: "columns"; revision: number; hosts: unknown[]; backends: unknown[]; revisions: unknown[] };

/** The snapshot in body, or nil and why it is not one. */
export function decodeSnapshot(body: string): LuaMultiReturn<[DecodedSnapshot, undefined] | [undefined, string]> {
  const [decoded, decodeErr] = cjson.decode(body);
  if (decoded === undefined || typeof decoded !== "object") {
    return $multi(undefined, "snapshot is not a JSON object: " + (decodeErr ?? "wrong type"));
  }
  const raw = decoded as { revision?: unknown; entries?: unknown; hosts?: unknown; backends?: unknown; revisions?: unknown };
  // 0 is the revision of an empty change log.
  if (raw.revision !== 0 && !isRevision(raw.revision)) {
    return $multi(undefined, "snapshot has no valid revision");
  }
  if (typeof raw.entries === "object") {
    return $multi({ form: "entries", revision: raw.revision, entries: raw.entries as unknown[] }, undefined);
  }
  if (typeof raw.hosts === "object" && typeof raw.backends === "object" && typeof raw.revisions === "object") {
    return $multi({ form: "columns", revision: raw.revision, hosts: raw.hosts as unknown[], backends: raw.backends as unknown[], revisions: raw.revisions as unknown[] }, undefined);
  }
  return $multi(undefined, "snapshot has neither entries nor hosts, backends and revisions");
}

/** Entries in a decoded snapshot. */
export function snapshotSize(snapshot: DecodedSnapshot): number {
  return snapshot.form === "entries" ? snapshot.entries.length : snapshot.hosts.length;
}

/** Replaces the table with the snapshot (table.loadSnapshot). Caller holds the write lock. */
export function applySnapshot(routes: NgxSharedDict, meta: NgxSharedDict, snapshot: DecodedSnapshot): ChangeBatchResult {
  if (snapshot.form === "entries") {
    return loadSnapshot(routes, meta, snapshot.revision, snapshot.entries);
  }
  return loadSnapshotColumns(routes, meta, snapshot.revision, snapshot.hosts, snapshot.backends, snapshot.revisions);
}
