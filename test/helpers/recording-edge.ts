import { createServer, IncomingMessage, Server } from "node:http";
import { freePort } from "../../scripts/lib/ports";

export interface RecordedPush {
  secret: string | undefined;
  body: { previous?: number; changes: Array<{ host: string; backends?: string[]; revision: number }> };
}

/**
 * A sync listener that records what the control plane pushes and confirms
 * it as an edge would. For control-plane tests that look at the wire format;
 * end-to-end tests use real edges.
 */
export async function startRecordingEdge(): Promise<{ url: string; pushes: RecordedPush[]; close: () => Promise<void> }> {
  const pushes: RecordedPush[] = [];
  const port = await freePort();
  const server: Server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || "{}") as RecordedPush["body"];
      pushes.push({ secret: request.headers["x-set-backend-secret"] as string | undefined, body });
      const revision = Math.max(0, ...(body.changes ?? []).map((change) => change.revision));
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ revision, applied: body.changes?.length ?? 0, skipped: 0, errors: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    pushes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
