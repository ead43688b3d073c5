/**
 * Phase entry points. Every *_by_lua_block in openresty/ is a one-line call
 * into this module; the logic lives in the modules it imports.
 *
 * State: the routes and meta dicts are shared by all workers (shared memory);
 * the resolved-backend cache, page templates and /etc/hosts table are per
 * worker. Nothing is allocated on the request path of an exact hit beyond
 * what ngx.var reads cost.
 */
import { META_KEY_LOADED_AT } from "./contract";
import { loadPages, respond } from "./pages";
import * as pull from "./pull";
import { loadHostsFile, resolveBackend } from "./resolve";
import { meta, routes } from "./state";
import * as syncListener from "./sync";

const log = ngx.log;
const ERR = ngx.ERR;
const ngxVar = ngx.var;

export function initWorker(): void {
  loadHostsFile();
  loadPages();
  pull.start();
}

function miss(host: string): void {
  const [loadedAt] = meta.get(META_KEY_LOADED_AT);
  if (loadedAt === undefined) {
    respond(503, "no_table", "This edge has not loaded its routing table yet.", host);
    return;
  }
  respond(404, "unknown_host", "No site is configured for this host.", host);
}

/** access_by_lua: Host -> $backend, or the edge's own answer. */
export function access(): void {
  const host = ngxVar.host ?? "";
  const [backend] = routes.get(host);
  if (backend === undefined) {
    miss(host);
    return;
  }
  const [target, err] = resolveBackend(backend as string);
  if (target === undefined) {
    log(ERR, "[router] backend of host ", host, " does not resolve: ", backend, ": ", err);
    respond(502, "backend_unresolvable", "The backend of this site cannot be resolved.", host);
    return;
  }
  ngxVar.backend = target;
}

/** content_by_lua of the internal sync listener. */
export function sync(): void {
  syncListener.content();
}
