/**
 * Per worker: each distinct dict value parsed once (peers.ts), kept in an
 * LRU keyed by the value itself, with this worker's /etc/hosts table.
 */
import * as lrucache from "resty.lrucache";
import { parsePeers, Peers } from "./peers";

/**
 * Keyed by distinct backend sets, which follow fileservers rather than
 * sites: thousands, not millions. 10,000 slots of a few hundred bytes is a
 * few MB per worker at most.
 */
const PARSED_CACHE_ITEMS = 10000;

function newCache(): lrucache.LruCache<Peers> {
  const [cache, err] = lrucache.new<Peers>(PARSED_CACHE_ITEMS);
  if (cache === undefined) {
    error("[router] cannot create the peers cache: " + err);
  }
  return cache;
}

const parsedCache = newCache();

/** /etc/hosts, name -> address. Set by setHostsTable at init_worker. */
let hostsTable = new LuaTable<string, string>();

export function setHostsTable(table: LuaTable<string, string>): void {
  hostsTable = table;
}

/** The /etc/hosts address of a name, if it has one. */
export function hostsAddress(name: string): string | undefined {
  return hostsTable.get(string.lower(name));
}

/** Parsed peers for a stored value, from this worker's cache. */
export function peersOf(value: string): LuaMultiReturn<[Peers, undefined] | [undefined, string]> {
  const [cached] = parsedCache.get(value);
  if (cached !== undefined) {
    return $multi(cached, undefined);
  }
  const [peers, err] = parsePeers(value, hostsTable);
  if (peers === undefined) {
    return $multi(undefined, err);
  }
  parsedCache.set(value, peers);
  return $multi(peers, undefined);
}
