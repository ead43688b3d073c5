/**
 * balancer_by_lua: picks the peer for each try of a request. Peers come from
 * the access phase through ngx.ctx. The first try starts at a per-worker
 * round-robin position; nginx calls again only when its proxy_next_upstream
 * rules allow a retry (error, timeout; never a non-idempotent request that
 * was already sent), and each retry moves to the next peer. Peers being
 * skipped by passive health are passed over unless every peer is.
 */
import * as balancer from "ngx.balancer";
import { isDown, recordFailure } from "./health";
import { Peers } from "./peers";

/** Tries per request at most, the first included; nginx's proxy_next_upstream_tries bounds it too. */
export const MAX_TRIES = 3;

/** Per worker: where the next request starts, so requests spread over the peers. */
let roundRobin = 0;

/** Index of the first peer from `from` on (wrapping) that is not skipped; `from` itself if all are. */
function pickFrom(peers: Peers, from: number): number {
  for (let step = 0; step < peers.count; step++) {
    const index = (from + step) % peers.count;
    if (!isDown(peers.keys[index] as string)) {
      return index;
    }
  }
  return from % peers.count;
}

export function balance(): void {
  const ctx = ngx.ctx;
  const peers = ctx.set_backend_peers as Peers | undefined;
  if (peers === undefined) {
    ngx.log(ngx.ERR, "[balancer] no peers for this request: the location lacks openresty/set_backend.conf");
    ngx.exit(500);
    return;
  }
  if (peers.count === 1) {
    // One peer: nginx makes one try (the upstream has one server and no
    // set_more_tries), so there is no state to keep.
    const [ok, err] = balancer.set_current_peer(peers.addresses[0] as string, peers.ports[0] as number);
    if (!ok) {
      ngx.log(ngx.ERR, "[balancer] cannot use peer ", peers.keys[0], ": ", err);
      ngx.exit(502);
    }
    return;
  }
  let from: number;
  const previous = ctx.set_backend_index as number | undefined;
  if (previous === undefined) {
    from = roundRobin;
    roundRobin = (roundRobin + 1) % 1000000007;
    balancer.set_more_tries(math.min(peers.count, MAX_TRIES) - 1);
  } else {
    const [state] = balancer.get_last_failure();
    if (state !== undefined) {
      recordFailure(peers.keys[previous] as string);
    }
    from = previous + 1;
  }
  const index = pickFrom(peers, from);
  ctx.set_backend_index = index;
  const [ok, err] = balancer.set_current_peer(peers.addresses[index] as string, peers.ports[index] as number);
  if (!ok) {
    ngx.log(ngx.ERR, "[balancer] cannot use peer ", peers.keys[index], ": ", err);
    ngx.exit(502);
  }
}
