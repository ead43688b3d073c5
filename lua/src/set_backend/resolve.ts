/**
 * Turns a stored backend into the `address:port` nginx connects to. IP
 * literals pass through; names are looked up in /etc/hosts (read once per
 * worker at start). Results are kept in a per-worker LRU so the request path
 * parses each distinct backend once.
 */
import * as lrucache from "resty.lrucache";
import { parseBackend } from "./backend";
import { parseHostsFile } from "./hosts_file";

/**
 * Per worker. Distinct backends are fileservers, not sites: a platform has
 * hundreds to a few thousand. 10,000 slots of ~100 bytes is ~1 MB per worker.
 */
const RESOLVED_CACHE_ITEMS = 10000;
const HOSTS_FILE = "/etc/hosts";

function newCache(): lrucache.LruCache<string> {
  const [cache, err] = lrucache.new<string>(RESOLVED_CACHE_ITEMS);
  if (cache === undefined) {
    error("[resolve] cannot create the backend cache: " + err);
  }
  return cache;
}

/** Per worker: stored backend -> "address:port". */
const resolvedCache = newCache();

/** Per worker: name -> address from /etc/hosts, IPv4 preferred. */
let hostsTable = new LuaTable<string, string>();

/** Reads /etc/hosts into this worker's table. Called from init_worker. */
export function loadHostsFile(): void {
  const [file] = io.open(HOSTS_FILE, "r");
  if (file === undefined) {
    ngx.log(ngx.WARN, "[resolve] cannot read ", HOSTS_FILE, "; backends given by name will not resolve");
    return;
  }
  const text = file.read("*a") as string | undefined;
  file.close();
  hostsTable = parseHostsFile(text ?? "");
}

/** Address and port for a stored backend, or nil and why not. */
export function resolveBackend(backend: string): LuaMultiReturn<[string, undefined] | [undefined, string]> {
  const cached = resolvedCache.get(backend);
  if (cached !== undefined) {
    return $multi(cached, undefined);
  }
  const parsed = parseBackend(backend);
  if (parsed.error !== undefined || parsed.host === undefined) {
    return $multi(undefined, parsed.error ?? "unparsable backend");
  }
  let address = parsed.host;
  if (parsed.kind === "name") {
    const found = hostsTable.get(parsed.host);
    if (found === undefined) {
      return $multi(undefined, "name '" + parsed.host + "' is not in " + HOSTS_FILE);
    }
    address = found;
  }
  const target = address + ":" + parsed.port;
  resolvedCache.set(backend, target);
  return $multi(target, undefined);
}
