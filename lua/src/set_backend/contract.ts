/**
 * What the edge (compiled to Lua) and the control plane (Node) must agree on.
 * Imported by both builds, so it holds only constants and types: no functions,
 * no library calls that exist on one side only.
 */

/** Shared dict that holds the routing table: key = normalized host, value = backend list. */
export const ROUTES_DICT = "set_backend_routes";
/** Shared dict for the edge's own state: table revision, load state, write lock, status. */
export const META_DICT = "set_backend_meta";
/** Shared dict for passive health (failure counts, skipped peers). May evict: it holds no routes. */
export const HEALTH_DICT = "set_backend_health";
/** Shared dict for the edge's counters, flushed from each worker every second. */
export const METRICS_DICT = "set_backend_metrics";
/** Name of the nginx upstream block whose balancer_by_lua picks the peer; $backend holds it. */
export const UPSTREAM_NAME = "set_backend";

/**
 * Keys in META_DICT. Per-entry revisions live in the routes dict as the
 * value's user flags (a uint32), so an exact hit stays a single dict read.
 */
export const META_KEY_REVISION = "revision";
export const META_KEY_LOADED_AT = "loaded_at";
export const META_KEY_SOURCE = "source";
export const META_KEY_LAST_ERROR = "last_error";
export const META_KEY_LAST_SYNC_AT = "last_sync_at";
/** Entries in the routes dict, tombstones not counted. */
export const META_KEY_ENTRIES = "entries";
/** Set while the routes dict has refused a write for lack of memory. */
export const META_KEY_DICT_FULL = "dict_full";
/** Set by any worker that saw a gap in the pushed revisions: worker 0 pulls at once. */
export const META_KEY_PULL_NOW = "pull_now";
/** Set by POST /resync: worker 0's next pull loads a full snapshot. */
export const META_KEY_RESYNC = "resync";
export const META_KEY_WRITE_LOCK = "write_lock";

/**
 * Revisions travel as the dict's user flags, which are uint32: 2^32 - 1 changes,
 * about 136 years at one change per second. The control plane refuses to hand
 * out a revision above this (see entries.service).
 */
export const MAX_REVISION = 4294967295;

/** Backends of one entry are stored in the dict as one string, joined by this separator. */
export const BACKEND_SEPARATOR = " ";
/** Most backends one entry may have. */
export const MAX_BACKENDS = 16;

/** Header that carries the shared secret on the sync listener and on the snapshot endpoint. */
export const SYNC_SECRET_HEADER = "x-set-backend-secret";

/** Paths on the edge's internal sync listener. */
export const EDGE_CHANGES_PATH = "/changes";
export const EDGE_STATUS_PATH = "/status";
export const EDGE_METRICS_PATH = "/metrics";
/** GET: every live entry this edge holds, {revision, entries: Change[]}. Walks the whole dict: for checks and audits, not for polling. */
export const EDGE_TABLE_PATH = "/table";
/** POST: load a full snapshot from the control plane at the next pull. */
export const EDGE_RESYNC_PATH = "/resync";

/** Path on the control plane that serves a full snapshot of the table to edges. */
export const SNAPSHOT_PATH = "/internal/snapshot";
/**
 * Path on the control plane that serves the changes after a revision:
 * CHANGES_PATH?since=R&limit=N. 410 when the change log no longer reaches
 * back to R (the edge then loads a snapshot).
 */
export const CHANGES_PATH = "/internal/changes";
/** Most changes one pull asks for; a longer backlog takes several pulls. */
export const CHANGES_PAGE_LIMIT = 5000;

/** How edge and control plane mark a stored deletion in the dict: an empty value. */
export const TOMBSTONE_VALUE = "";

/** One change, as pushed to an edge. No backends (the key absent) = the host was deleted. */
export interface Change {
  host: string;
  backends?: string[];
  revision: number;
}

/**
 * Body of a push to EDGE_CHANGES_PATH, and of a pull from CHANGES_PATH.
 * `previous` is the revision of the change committed just before the first
 * of `changes`, and `changes` follow each other in the log with nothing
 * between them: an edge at revision `previous` that applies them is at the
 * last one's revision. An edge at another revision has missed something and
 * pulls. Revisions are not consecutive numbers (a rolled-back write uses one
 * up), so this is how an edge tells a gap.
 */
export interface ChangeBatch {
  previous: number;
  changes: Change[];
}

/** What CHANGES_PATH answers: a ChangeBatch, plus the log's head and whether the batch reaches it. */
export interface ChangesPage extends ChangeBatch {
  /** Revision of the last change in the log when the page was read. */
  head: number;
  /** True when `changes` reach the head. */
  complete: boolean;
}

/** What an edge answers to a push. */
export interface ChangeBatchResult {
  /** The edge's table revision after the batch. */
  revision: number;
  applied: number;
  skipped: number;
  errors: string[];
  /** False when the batch did not follow the edge's revision: it was applied, and the edge pulls what it missed. */
  contiguous: boolean;
}

/** Body the control plane serves at SNAPSHOT_PATH. */
export interface Snapshot {
  revision: number;
  entries: Change[];
}

/**
 * Query for SNAPSHOT_PATH that asks for the column form: the same table as
 * three arrays, entry i being hosts[i], backends[i] (joined by
 * BACKEND_SEPARATOR, as the edge stores them) and revisions[i]. An edge
 * decodes a million entries this way in about a third of the time. Edges
 * ask for it and take either form, so edges and control planes of either
 * version work together.
 */
export const SNAPSHOT_COLUMNS_QUERY = "format=columns";

export interface SnapshotColumns {
  revision: number;
  hosts: string[];
  backends: string[];
  revisions: number[];
}

/** What an edge answers at EDGE_STATUS_PATH. Times are Unix seconds. */
export interface EdgeStatus {
  revision: number;
  loaded: boolean;
  loaded_at?: number;
  /** Where the table came from: "disk" (the edge's own snapshot) or "control-plane". */
  source?: string;
  /** Last successful contact with the control plane (pull or push). */
  last_sync_at?: number;
  entries: number;
  free_bytes: number;
  capacity_bytes: number;
  dict_full: boolean;
  last_error?: string;
}
