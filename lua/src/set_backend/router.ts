/**
 * Host -> stored backends. Takes the dict as a parameter (no ngx), so the
 * unit tests drive it with a table-backed dict.
 *
 * An exact entry is one dict read. On a miss, wildcards are tried from the
 * longest suffix to the shortest: for a.b.example.com, `*.b.example.com` then
 * `*.example.com` (a wildcard covers every depth below its suffix, and needs
 * two labels after the star). The cost grows with the labels of the Host,
 * never with the number of entries.
 */

import { TOMBSTONE_VALUE } from "./contract";

const STAR = 42;

/** The stored value for host: an exact entry first, else the longest wildcard. */
export function lookup(routes: NgxSharedDict, host: string): string | undefined {
  const [exact] = routes.get(host);
  if (exact !== undefined) {
    // A Host written as "*.x.y" is not a name: it must not read a wildcard's key.
    // A tombstone (a deleted exact entry) must not hide a wildcard.
    if (exact !== TOMBSTONE_VALUE && string.byte(host, 1) !== STAR) {
      return exact as string;
    }
  }
  return lookupWildcard(routes, host);
}

function lookupWildcard(routes: NgxSharedDict, host: string): string | undefined {
  if (string.byte(host, 1) === STAR) {
    return undefined;
  }
  let [dot] = string.find(host, ".", 1, true);
  while (dot !== undefined) {
    const [nextDot] = string.find(host, ".", dot + 1, true);
    if (nextDot === undefined) {
      // Fewer than two labels after the star: `*.com` is not a wildcard.
      return undefined;
    }
    const [value] = routes.get("*" + string.sub(host, dot));
    if (value !== undefined && value !== TOMBSTONE_VALUE) {
      return value as string;
    }
    dot = nextDot;
  }
  return undefined;
}

/** The wildcard keys lookup() tries for host, in order. For the unit tests and for people. */
export function wildcardCandidates(host: string): string[] {
  const candidates: string[] = [];
  let [dot] = string.find(host, ".", 1, true);
  while (dot !== undefined) {
    const [nextDot] = string.find(host, ".", dot + 1, true);
    if (nextDot === undefined) {
      break;
    }
    candidates.push("*" + string.sub(host, dot));
    dot = nextDot;
  }
  return candidates;
}
