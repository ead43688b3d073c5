import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { crc32 } from "node:zlib";

/**
 * Host names of a benchmark table of `size` entries: size - 1 exact hosts
 * and one wildcard. An exact host is 25 characters, the "typical entry" of
 * the memory target: s0000001.example-host.com.
 */
export const EXACT_PATTERN = "s%07d.example-host.com";
export const WILDCARD_ENTRY = "*.wild.example-host.com";
/** Matched by WILDCARD_ENTRY only: an exact miss, then one wildcard read. */
export const WILDCARD_PATTERN = "w%07d.wild.example-host.com";
/** In no table: an exact miss, a miss on *.example-host.com, then the edge's 404. */
export const UNKNOWN_PATTERN = "u%07d.example-host.com";
/** Hosts are numbered with 7 digits, and stay below 2^21 so a number fits beside a CRC-32 in a double (snapshotBody). */
export const MAX_TABLE_SIZE = 2_000_000;

/** sprintf of the patterns above, for one number. */
export function hostFor(pattern: string, index: number): string {
  return pattern.replace("%07d", String(index).padStart(7, "0"));
}

export function exactHosts(size: number): string[] {
  const hosts: string[] = [];
  for (let i = 1; i < size; i++) {
    hosts.push(hostFor(EXACT_PATTERN, i));
  }
  return hosts;
}

/**
 * GET /internal/snapshot?format=columns (what edges ask for) for a table of
 * `size` entries, all pointing at backend, as the control plane would serve
 * it (revision i for the i-th). Built as buffers once: a million entries are
 * about 45 MB of JSON.
 */
export function snapshotBody(size: number, backend: string): Buffer {
  if (size < 0 || size > MAX_TABLE_SIZE) {
    throw new Error(`table size ${size} out of range`);
  }
  const column = (item: (i: number) => string): Buffer[] => {
    const parts: Buffer[] = [Buffer.from("[")];
    // Joining in slices keeps each intermediate string small.
    for (let first = 1; first <= size; first += 10000) {
      const slice: string[] = [];
      for (let i = first; i < first + 10000 && i <= size; i++) {
        slice.push(item(i));
      }
      parts.push(Buffer.from((first > 1 ? "," : "") + slice.join(",")));
    }
    parts.push(Buffer.from("]"));
    return parts;
  };
  const quotedBackend = JSON.stringify(backend);
  // In the order of CRC-32 of the host, as the control plane sends it on Postgres 18.
  const hostOf = (i: number) => (i < size ? hostFor(EXACT_PATTERN, i) : WILDCARD_ENTRY);
  const keys = new Float64Array(size);
  for (let i = 1; i <= size; i++) {
    keys[i - 1] = crc32(hostOf(i)) * 2 ** 21 + i;
  }
  keys.sort();
  const revisionAt = (position: number) => (keys[position - 1] as number) % 2 ** 21;
  return Buffer.concat([
    Buffer.from(`{"revision":${size},"hosts":`),
    ...column((position) => `"${hostOf(revisionAt(position))}"`),
    Buffer.from(`,"backends":`),
    ...column(() => quotedBackend),
    Buffer.from(`,"revisions":`),
    ...column((position) => String(revisionAt(position))),
    Buffer.from("}"),
  ]);
}

/**
 * A stand-in control plane for an edge that only needs a table: serves one
 * snapshot (the edge pulls it over HTTP/1.0 and reads until close, so
 * Content-Length and close suffice) and answers every later pull of changes
 * with "nothing new", as a control plane whose table does not change would.
 * One server per edge, so a re-pull always gets that edge's own table.
 */
export class SnapshotServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(body: Buffer, revision: number): Promise<SnapshotServer> {
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://stub");
      if (url.pathname === "/internal/snapshot") {
        response.writeHead(200, { "content-type": "application/json", "content-length": body.length, connection: "close" });
        response.end(body);
        return;
      }
      if (url.pathname === "/internal/changes") {
        const since = Number(url.searchParams.get("since") ?? revision);
        const page = JSON.stringify({ previous: since, changes: [], head: revision, complete: true });
        response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(page), connection: "close" });
        response.end(page);
        return;
      }
      response.writeHead(404, { connection: "close" }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new SnapshotServer(server, (server.address() as AddressInfo).port);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
