import { waitUntil } from "../../scripts/lib/process";
import { EchoBackend, startEchoBackend } from "../helpers/backend";
import { Stack } from "../helpers/stack";

/** Restarts of edge and control plane: the dict is refilled from the control plane, entries persist. */
describe("restarts", () => {
  let stack: Stack;
  let backend: EchoBackend;

  beforeAll(async () => {
    stack = await Stack.start();
    backend = await startEchoBackend();
    for (const host of ["one.example.com", "two.example.com", "three.example.com"]) {
      expect((await stack.admin("POST", "/entries.json", { host, backend: `localhost:${backend.port}` })).status).toBe(201);
    }
    expect((await stack.admin("DELETE", "/entries/three.example.com.json")).status).toBe(204);
  });

  afterAll(async () => {
    await backend?.close();
    await stack?.stop();
  });

  afterEach(() => {
    expect(stack.unexpectedLogLines()).toEqual([]);
  });

  it("an edge that restarts routes every entry again: its saved table, then the control plane's changes", async () => {
    await stack.stopEdge(0);
    await stack.startEdge(0);
    await stack.waitReady();
    expect((await stack.visit("one.example.com")).status).toBe(200);
    expect((await stack.visit("two.example.com")).status).toBe(200);
    expect((await stack.visit("three.example.com")).status).toBe(404);
  });

  it("an edge that restarts while the control plane is down serves every route from its disk snapshot", async () => {
    await stack.stopEdge(0);
    await stack.stopControlPlane();
    await stack.startEdge(0);
    await waitUntil(async () => (await stack.edgeStatus(0)).loaded, 10000, "the edge to load its saved table");
    expect(await stack.edgeStatus(0)).toMatchObject({ loaded: true, source: "disk", entries: 2 });
    expect((await stack.visit("one.example.com")).status).toBe(200);
    expect((await stack.visit("two.example.com")).status).toBe(200);
    expect((await stack.visit("three.example.com")).status).toBe(404);
    expect(stack.errorLog()).toMatch(/\[sync\] loaded the saved table from disk at revision \d+/);

    await stack.startControlPlane();
    await waitUntil(async () => (await stack.edgeStatus(0)).source === "control-plane", 10000, "the edge to sync with the control plane");
    await stack.waitReady();
  });

  it("an edge with no saved table that starts while the control plane is down answers 503 until it has loaded one", async () => {
    await stack.stopEdge(0);
    await stack.stopControlPlane();
    stack.clearEdgeState(0);
    await stack.startEdge(0);
    // The pull fails and is retried with backoff; a WARN, not an error.
    const waiting = await stack.visit("one.example.com", "/", { headers: { accept: "application/json" } });
    expect(waiting.status).toBe(503);
    expect(JSON.parse(waiting.body)).toMatchObject({ error: "no_table" });
    await waitUntil(() => /\[warn\].*\[sync\] pull from .* failed, next try in/.test(stack.errorLog()), 5000, "the failed pull to be logged");

    await stack.startControlPlane();
    await waitUntil(async () => (await stack.visit("one.example.com")).status === 200, 20000, "the edge to load its table");
    await stack.waitReady();
    expect((await stack.visit("two.example.com")).status).toBe(200);
  });

  it("a control plane that restarts finds the entries of the last one, and so does /readyz", async () => {
    await stack.stopControlPlane();
    await stack.startControlPlane();
    const index = await stack.admin("GET", "/entries.json");
    expect(JSON.parse(index.body).map((entry: { host: string }) => entry.host)).toEqual(["one.example.com", "two.example.com"]);
    await stack.waitReady();
  });

  it("the edge keeps routing by its table while the control plane is down", async () => {
    // A pull that is receiving when its control plane dies gets a reset; nginx logs that at error level.
    stack.expectLogLines(/recv\(\) failed \(104: Connection reset by peer\), context: ngx\.timer/);
    await stack.stopControlPlane("SIGKILL");
    expect((await stack.visit("one.example.com")).status).toBe(200);
    expect((await stack.visit("three.example.com")).status).toBe(404);
    // The admin host proxies to the control plane, which is gone.
    stack.expectLogLines(/connect\(\) failed \(111: Connection refused\) while connecting to upstream.*host: "l\.io"/);
    expect((await stack.admin("GET", "/entries.json")).status).toBe(502);
    await stack.startControlPlane();
  });
});
