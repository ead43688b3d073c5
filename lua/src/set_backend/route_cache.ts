/**
 * Per worker: Host -> the parsed peers of its entry, in front of the routes
 * dict. The dict is a red-black tree in shared memory: with a million
 * entries a read walks about twenty nodes, each a likely cache miss, and
 * takes the dict's lock. A hit here is one dict read of a single hot key
 * (the change count, change_feed.ts) and one Lua table read.
 *
 * Each request first compares the change count with the one this worker saw
 * last and drops the hosts that changed since (or everything, when the feed
 * cannot say which), so a change is visible to every worker's next request
 * once the writer has applied it, as without the cache. Only hits whose
 * backends need no DNS are kept, a wildcard hit under the Host that was
 * asked for; unknown hosts are not. Past ROUTE_CACHE_ENTRIES the cache
 * starts over empty.
 */
import { changedHosts, changeSeq } from "./change_feed";
import { ROUTE_CACHE_ENTRIES } from "./config";
import { Peers } from "./peers";
import { meta } from "./state";

let cache = new LuaTable<string, Peers>();
let size = 0;
/** The change count this worker's cache reflects; -1 before the first request. */
let seen = -1;

/**
 * Cache key of a host: its MD5 digest, not the host itself. LuaJIT hashes a
 * string from four of its bytes, so a million names like s0000001.example.com
 * share a few thousand hashes, and every new string of that shape (each
 * request's Host) walks a long chain of live look-alikes when it is created.
 * Digests are spread over all bytes, and the Host strings stay short-lived.
 */
const keyOf = ngx.md5_bin;

function dropAll(): void {
  cache = new LuaTable<string, Peers>();
  size = 0;
}

/** Brings this worker's cache up to the table's current change count. */
function catchUp(current: number): void {
  const hosts = seen < 0 ? undefined : changedHosts(meta, seen, current);
  if (hosts === undefined) {
    dropAll();
  } else {
    for (const host of hosts) {
      const key = keyOf(host);
      if (cache.has(key)) {
        cache.delete(key);
        size--;
      }
    }
  }
  seen = current;
}

/** The cached peers of host, if any; first drops what changed since the last call. */
export function cachedPeers(host: string): Peers | undefined {
  const current = changeSeq(meta);
  if (current !== seen) {
    catchUp(current);
  }
  return cache.get(keyOf(host));
}

/** Keeps peers for host (static peers of an entry only: the caller checks). */
export function keepPeers(host: string, peers: Peers): void {
  if (ROUTE_CACHE_ENTRIES <= 0) {
    return;
  }
  if (size >= ROUTE_CACHE_ENTRIES) {
    dropAll();
  }
  cache.set(keyOf(host), peers);
  size++;
}
