/**
 * Names -> addresses without blocking the worker. /etc/hosts is read once per
 * worker at start (names there are final when a value is parsed, peers.ts);
 * other names go to DNS through lua-resty-dns on cosockets, and answers are
 * cached per worker for their TTL. When DNS fails and an expired answer is
 * still cached, that answer is used (and logged) rather than failing the request.
 */
import * as lrucache from "resty.lrucache";
import { RESOLVERS } from "./config";
import { readFile } from "./files";
import { parseHostsFile, parseNameservers } from "./system_files";
import { hostsAddress, setHostsTable } from "./peer_cache";
import { Peers } from "./peers";

const HOSTS_FILE = "/etc/hosts";
const RESOLV_CONF = "/etc/resolv.conf";
/** Per worker: distinct backend names, a few thousand at most. */
const DNS_CACHE_ITEMS = 10000;
/** How long a stale answer is reused before DNS is asked again, after a failed query. */
const STALE_REUSE_S = 5;
/** Per query; lua-resty-dns retries `retrans` times, so the worst case is their product. */
const DNS_TIMEOUT_MS = 1000;
const DNS_RETRANS = 2;

/** lua-resty-dns: OpenResty ships it as resty.dns.resolver, Debian (lua-nginx-dns) as nginx.dns.resolver. */
function loadDnsModule(): DnsResolverModule | undefined {
  for (const name of ["resty.dns.resolver", "nginx.dns.resolver"]) {
    const [ok, module] = pcall(require, name);
    if (ok) {
      return module as DnsResolverModule;
    }
  }
  return undefined;
}

const dns = loadDnsModule();

function newCache(): lrucache.LruCache<string[]> {
  const [cache, err] = lrucache.new<string[]>(DNS_CACHE_ITEMS);
  if (cache === undefined) {
    error("[resolve] cannot create the DNS cache: " + err);
  }
  return cache;
}

/** Per worker: name -> addresses, for the answer's TTL. */
const dnsCache = newCache();
/** Per worker, set at init_worker. */
let nameservers: Array<[string, number]> = [];

/** Reads /etc/hosts and the DNS servers into this worker. Called from init_worker. */
export function loadResolvers(): void {
  const hosts = readFile(HOSTS_FILE);
  if (hosts === undefined) {
    ngx.log(ngx.WARN, "[resolve] cannot read ", HOSTS_FILE, "; names resolve through DNS only");
  }
  setHostsTable(parseHostsFile(hosts ?? ""));
  nameservers = parseNameservers(RESOLVERS, readFile(RESOLV_CONF) ?? "");
  if (dns === undefined) {
    ngx.log(ngx.WARN, "[resolve] lua-resty-dns is not installed; backends given by DNS names will not resolve");
  } else if (nameservers.length === 0) {
    ngx.log(ngx.WARN, "[resolve] no DNS server in SET_BACKEND_RESOLVERS or ", RESOLV_CONF, "; DNS names will not resolve");
  }
}

function query(name: string, qtype: number): LuaMultiReturn<[string[], number] | [undefined, string]> {
  if (dns === undefined || nameservers.length === 0) {
    return $multi(undefined, "no DNS resolver configured");
  }
  const [resolver, newErr] = dns.new({ nameservers, retrans: DNS_RETRANS, timeout: DNS_TIMEOUT_MS });
  if (resolver === undefined) {
    return $multi(undefined, "cannot create a DNS resolver: " + newErr);
  }
  const [answers, queryErr] = resolver.query(name, { qtype });
  if (answers === undefined) {
    return $multi(undefined, "DNS query failed: " + queryErr);
  }
  if (answers.errcode !== undefined) {
    return $multi(undefined, "DNS error " + answers.errcode + ": " + answers.errstr);
  }
  const addresses: string[] = [];
  let ttl = math.huge;
  for (const answer of answers) {
    if (answer.type === qtype && answer.address !== undefined) {
      addresses.push(qtype === dns.TYPE_AAAA ? "[" + answer.address + "]" : answer.address);
      ttl = math.min(ttl, answer.ttl);
    }
  }
  if (addresses.length === 0) {
    return $multi(undefined, "no address records");
  }
  return $multi(addresses, ttl);
}

/** Addresses of a DNS name: cached for its TTL, A records first, AAAA if there are none. */
export function resolveName(name: string): LuaMultiReturn<[string[], undefined] | [undefined, string]> {
  const [fresh, stale] = dnsCache.get(name);
  if (fresh !== undefined) {
    return $multi(fresh, undefined);
  }
  let [addresses, ttlOrErr] = query(name, dns?.TYPE_A ?? 1);
  if (addresses === undefined && dns !== undefined) {
    const [v6, v6TtlOrErr] = query(name, dns.TYPE_AAAA);
    if (v6 !== undefined) {
      addresses = v6;
      ttlOrErr = v6TtlOrErr;
    }
  }
  if (addresses !== undefined) {
    dnsCache.set(name, addresses, ttlOrErr as number);
    return $multi(addresses, undefined);
  }
  if (stale !== undefined) {
    ngx.log(ngx.WARN, "[resolve] ", name, ": ", ttlOrErr, "; using the expired answer for ", STALE_REUSE_S, "s");
    dnsCache.set(name, stale, STALE_REUSE_S);
    return $multi(stale, undefined);
  }
  return $multi(undefined, ttlOrErr as string);
}

/**
 * Peers with every DNS name replaced by its addresses (each address a peer).
 * Peers without names come back as they are: no allocation on that path.
 * Names that fail are dropped while others remain; all failing is an error.
 */
export function resolvePeers(peers: Peers): LuaMultiReturn<[Peers, undefined] | [undefined, string]> {
  if (!peers.dynamic) {
    return $multi(peers, undefined);
  }
  const resolved: Peers = { count: 0, addresses: [], ports: [], keys: [], dynamic: false, isName: [] };
  let lastError = "";
  for (let i = 0; i < peers.count; i++) {
    const address = peers.addresses[i] as string;
    const port = peers.ports[i] as number;
    let list: string[] | undefined = [address];
    let err: string | undefined = undefined;
    if (peers.isName[i]) {
      [list, err] = resolveName(address);
    }
    if (list === undefined) {
      lastError = "name '" + address + "': " + err;
      continue;
    }
    for (const resolvedAddress of list) {
      resolved.count++;
      resolved.addresses.push(resolvedAddress);
      resolved.ports.push(port);
      resolved.keys.push(resolvedAddress + ":" + port);
      resolved.isName.push(false);
    }
  }
  if (resolved.count === 0) {
    return $multi(undefined, lastError);
  }
  return $multi(resolved, undefined);
}

const IPV4 = "^%d+%.%d+%.%d+%.%d+$";

/**
 * One address for a host the edge itself connects to (the control plane):
 * an IP as it is, else /etc/hosts, else DNS. Cosockets given a name would
 * need nginx's `resolver` directive; this uses the same resolvers as backends.
 */
export function addressOf(host: string): LuaMultiReturn<[string, undefined] | [undefined, string]> {
  if (string.find(host, IPV4)[0] !== undefined || string.find(host, ":", 1, true)[0] !== undefined) {
    return $multi(host, undefined);
  }
  const fromHosts = hostsAddress(host);
  if (fromHosts !== undefined) {
    return $multi(fromHosts, undefined);
  }
  const [addresses, err] = resolveName(host);
  if (addresses === undefined || addresses[0] === undefined) {
    return $multi(undefined, "cannot resolve '" + host + "': " + err);
  }
  return $multi(addresses[0], undefined);
}
