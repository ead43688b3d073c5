/**
 * Passive health, nginx's max_fails/fail_timeout for Lua-chosen peers: a
 * peer that fails PASSIVE_MAX_FAILS tries within PASSIVE_FAIL_TIMEOUT_S is
 * skipped for PASSIVE_FAIL_TIMEOUT_S, then comes back by itself (the key
 * expires). Shared by all workers through the health dict; losing this state
 * (LRU eviction, restart) only means a failing peer gets tried once more.
 */
import { PASSIVE_FAIL_TIMEOUT_S, PASSIVE_MAX_FAILS } from "./config";
import { health } from "./state";


/** True while the peer "address:port" is being skipped. */
export function isDown(key: string): boolean {
  const [down] = health.get("down:" + key);
  return down !== undefined;
}

/** Counts one failed try of a peer; marks it down once it reaches the limit. */
export function recordFailure(key: string): void {
  const [fails] = health.incr("fails:" + key, 1, 0, PASSIVE_FAIL_TIMEOUT_S);
  if (fails !== undefined && fails >= PASSIVE_MAX_FAILS) {
    health.safe_set("down:" + key, true, PASSIVE_FAIL_TIMEOUT_S);
    health.delete("fails:" + key);
    ngx.log(ngx.WARN, "[balancer] backend ", key, " failed ", fails, " time(s); skipping it for ", PASSIVE_FAIL_TIMEOUT_S, "s");
  }
}
