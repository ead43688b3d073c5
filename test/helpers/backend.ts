import { createServer, IncomingHttpHeaders, Server } from "node:http";
import { freePort } from "../../scripts/lib/ports";

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface EchoBackend {
  port: number;
  address: string;
  name: string;
  requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections: () => number;
  close: () => Promise<void>;
}

/**
 * A real HTTP backend on 127.0.0.1: answers 200 with what it received, as
 * JSON, and records every request.
 */
export async function startEchoBackend(name = "backend", options: { address?: string; port?: number; delayMs?: number } = {}): Promise<EchoBackend> {
  const address = options.address ?? "127.0.0.1";
  const port = options.port ?? (await freePort());
  const requests: SeenRequest[] = [];
  let connections = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const seen: SeenRequest = { method: request.method ?? "", url: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks).toString() };
      requests.push(seen);
      const answer = () => {
        response.setHeader("content-type", "application/json");
        response.setHeader("x-backend-name", name);
        response.end(JSON.stringify(seen));
      };
      if (options.delayMs) {
        setTimeout(answer, options.delayMs);
      } else {
        answer();
      }
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  return {
    port,
    address,
    name,
    requests,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
