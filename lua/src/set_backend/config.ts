/**
 * Edge settings, read once from the environment when the module loads (in
 * init_by_lua, in the master). nginx passes a variable to Lua only if the
 * config names it with an `env` directive: openresty/nginx.conf.template does.
 */

function setting(name: string, fallback: string): string {
  const value = os.getenv(name);
  return value === undefined || value === "" ? fallback : value;
}

/** Where the edge pulls snapshots from. */
export const CONTROL_PLANE_URL = setting("SET_BACKEND_CONTROL_PLANE_URL", "http://127.0.0.1:8081");
/** Shared secret for the sync listener and for pulls; empty refuses every push. */
export const SYNC_SECRET = setting("SET_BACKEND_SYNC_SECRET", "");
/** Folder of the edge's own answer pages (error.html, error.json, or <status>.html to override one). */
export const PAGES_DIR = setting("SET_BACKEND_PAGES_DIR", "/etc/set-backend/pages");
/**
 * DNS servers for backends given by name, "host[:port]" comma-separated;
 * empty means the nameserver lines of /etc/resolv.conf.
 */
export const RESOLVERS = setting("SET_BACKEND_RESOLVERS", "");
/** A backend that failed this many tries within PASSIVE_FAIL_WINDOW_S is skipped (nginx's max_fails). */
export const PASSIVE_MAX_FAILS = tonumber(setting("SET_BACKEND_MAX_FAILS", "1")) ?? 1;
/** How long failures are counted, and how long a failed backend is then skipped (nginx's fail_timeout). */
export const PASSIVE_FAIL_TIMEOUT_S = tonumber(setting("SET_BACKEND_FAIL_TIMEOUT_S", "10")) ?? 10;
/** Folder where the edge keeps its last good table (snapshot + journal); empty turns that off. */
export const STATE_DIR = setting("SET_BACKEND_STATE_DIR", "");
/** Seconds between two pulls of "changes since my revision" from the control plane (jittered ±20%). */
export const SYNC_INTERVAL_S = tonumber(setting("SET_BACKEND_SYNC_INTERVAL_S", "2")) ?? 2;
