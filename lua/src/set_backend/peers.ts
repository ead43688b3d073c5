/**
 * Stored backends -> the peers the balancer connects to. Pure: peer_cache.ts
 * keeps the results per worker. IP literals and /etc/hosts names are final
 * at parse time; other names are marked for DNS (resolve.ts).
 */
import { parseBackend } from "./backend";

export interface Peers {
  count: number;
  /** Address nginx connects to (IPv6 in brackets), or the DNS name when `dynamic`. */
  addresses: string[];
  ports: number[];
  /** "address:port", the key of a peer's passive-health state. */
  keys: string[];
  /** True when some address is a DNS name still to resolve. */
  dynamic: boolean;
  /** Per peer: true when addresses[i] is a DNS name. */
  isName: boolean[];
}

/**
 * Parses a stored value ("a:1 b:2"); names found in `hosts` (/etc/hosts) are
 * replaced by their address. Returns nil and why when it cannot.
 */
export function parsePeers(value: string, hosts: LuaTable<string, string>): LuaMultiReturn<[Peers, undefined] | [undefined, string]> {
  const peers: Peers = { count: 0, addresses: [], ports: [], keys: [], dynamic: false, isName: [] };
  for (const [word] of string.gmatch(value, "%S+")) {
    const parsed = parseBackend(word as string);
    if (parsed.error !== undefined || parsed.host === undefined || parsed.port === undefined) {
      return $multi(undefined, "stored backend '" + word + "' is invalid: " + parsed.error);
    }
    let address = parsed.host;
    let isName = false;
    if (parsed.kind === "name") {
      const fromHosts = hosts.get(parsed.host);
      if (fromHosts !== undefined) {
        address = fromHosts;
      } else {
        isName = true;
        peers.dynamic = true;
      }
    }
    peers.count++;
    peers.addresses.push(address);
    peers.ports.push(parsed.port);
    peers.keys.push(address + ":" + parsed.port);
    peers.isName.push(isName);
  }
  if (peers.count === 0) {
    return $multi(undefined, "stored value has no backend");
  }
  return $multi(peers, undefined);
}
