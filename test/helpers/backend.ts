import { createServer, IncomingHttpHeaders, Server } from "node:http";
import { freePort } from "./ports";

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface EchoBackend {
  port: number;
  name: string;
  requests: SeenRequest[];
  close: () => Promise<void>;
}

/**
 * A real HTTP backend on 127.0.0.1: answers 200 with what it received, as
 * JSON, and records every request.
 */
export async function startEchoBackend(name = "backend"): Promise<EchoBackend> {
  const port = await freePort();
  const requests: SeenRequest[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const seen: SeenRequest = { method: request.method ?? "", url: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks).toString() };
      requests.push(seen);
      response.setHeader("content-type", "application/json");
      response.setHeader("x-backend-name", name);
      response.end(JSON.stringify(seen));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    name,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
