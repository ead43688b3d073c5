import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Ports are picked below the kernel's ephemeral range: a port from that range
 * (what listen(0) hands out) can be taken, between our check and the server's
 * bind, as the local port of any outgoing connection on the machine, and
 * nginx then fails with "Address already in use". Each jest worker draws
 * from its own slice, so parallel test files do not pick the same port.
 */
const LOWEST_PORT = 10000;
const SLICES = 16;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOWEST_PORT + SLICES * 100 ? low : 32768;
  } catch {
    return 32768;
  }
}

const sliceSize = Math.floor((ephemeralLow() - LOWEST_PORT) / SLICES);
const slice = (Math.max(1, Number(process.env.JEST_WORKER_ID ?? 1)) - 1) % SLICES;
const sliceStart = LOWEST_PORT + slice * sliceSize;
/** Ports this process already handed out: each is given once. */
const handedOut = new Set<number>();

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago, outside the ephemeral range, not handed out before by this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < sliceSize; attempt++) {
    const port = sliceStart + Math.floor(Math.random() * sliceSize);
    if (!handedOut.has(port) && (await isFree(port))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${sliceStart}-${sliceStart + sliceSize - 1}`);
}
