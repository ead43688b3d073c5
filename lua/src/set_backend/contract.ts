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

/** Path on the control plane that serves a full snapshot of the table to edges. */
export const SNAPSHOT_PATH = "/internal/snapshot";

/** One change, as pushed to an edge. No backends (the key absent) = the host was deleted. */
export interface Change {
  host: string;
  backends?: string[];
  revision: number;
}

/** Body of a push to EDGE_CHANGES_PATH. */
export interface ChangeBatch {
  changes: Change[];
}

/** What an edge answers to a push. */
export interface ChangeBatchResult {
  revision: number;
  applied: number;
  skipped: number;
  errors: string[];
}

/** Body the control plane serves at SNAPSHOT_PATH. */
export interface Snapshot {
  revision: number;
  entries: Change[];
}

/** What an edge answers at EDGE_STATUS_PATH. */
export interface EdgeStatus {
  revision: number;
  loaded: boolean;
  loaded_at?: number;
  source?: string;
  free_bytes: number;
  last_error?: string;
}
