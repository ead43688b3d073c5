/**
 * Phase entry points. Every *_by_lua_block in openresty/ is a one-line call
 * into this module; the logic lives in the modules it imports.
 *
 * State: the routes, meta, health and metrics dicts are shared by all workers
 * (shared memory); the parsed-peers and DNS caches, page templates,
 * /etc/hosts table, counters and round-robin position are per worker.
 * On an exact hit for a host whose backends are IP addresses or /etc/hosts
 * names, the access phase does one dict read, one cache read and writes
 * ngx.ctx; nothing else.
 */
import { META_KEY_LOADED_AT } from "./contract";
import * as balancer from "./balancer";
import { recordFailure } from "./health";
import * as metrics from "./metrics";
import { loadPages, respond, upstreamFailureStatus } from "./pages";
import { peersOf } from "./peer_cache";
import * as pull from "./pull";
import { loadResolvers, resolvePeers } from "./resolve";
import { lookup } from "./router";
import { meta, routes } from "./state";
import * as syncListener from "./sync";

const log = ngx.log;
const ERR = ngx.ERR;
const ngxVar = ngx.var;

export function initWorker(): void {
  loadResolvers();
  loadPages();
  metrics.start();
  pull.start();
}

function miss(host: string): void {
  const [loadedAt] = meta.get(META_KEY_LOADED_AT);
  if (loadedAt === undefined) {
    metrics.count(metrics.NO_TABLE);
    respond(503, "no_table", "This edge has not loaded its routing table yet.", host);
    return;
  }
  metrics.count(metrics.LOOKUP_MISS);
  respond(404, "unknown_host", "No site is configured for this host.", host);
}

/** access_by_lua: Host -> this request's peers in ngx.ctx, or the edge's own answer. */
export function access(): void {
  const host = ngxVar.host ?? "";
  const value = lookup(routes, host);
  if (value === undefined) {
    miss(host);
    return;
  }
  let [peers, err] = peersOf(value);
  if (peers !== undefined && peers.dynamic) {
    [peers, err] = resolvePeers(peers);
  }
  if (peers === undefined) {
    log(ERR, "[router] backend of host ", host, " does not resolve: ", value, ": ", err);
    metrics.count(metrics.UNRESOLVABLE);
    respond(502, "backend_unresolvable", "The backend of this site cannot be resolved.", host);
    return;
  }
  ngx.ctx.set_backend_peers = peers;
}

/** balancer_by_lua of the set_backend upstream. */
export function balance(): void {
  balancer.balance();
}

/** log_by_lua of routed locations. */
export function logRequest(): void {
  metrics.countStatus(ngx.status);
}

/** content_by_lua of @set_backend_upstream_error: every try failed. */
export function upstreamError(): void {
  const status = upstreamFailureStatus(ngxVar.upstream_status ?? "");
  // The balancer is not called after the last try, so its failure is counted here.
  const [lastPeer] = string.match(ngxVar.upstream_addr ?? "", "([^%s,]+)%s*$");
  if (lastPeer !== undefined) {
    recordFailure(lastPeer);
  }
  metrics.count(metrics.UPSTREAM_FAILURE);
  const host = ngxVar.host ?? "";
  if (status === 504) {
    respond(504, "backend_timeout", "The backend of this site did not answer in time.", host);
  } else {
    respond(502, "backend_unavailable", "No backend of this site answered.", host);
  }
}

/** content_by_lua of the internal sync listener. */
export function sync(): void {
  syncListener.content();
}
