import { EchoBackend, SeenRequest, startEchoBackend } from "../helpers/backend";
import { Stack } from "../helpers/stack";

/**
 * The seed's API and routing, end to end: real OpenResty, real control
 * plane, real Postgres, real backends.
 */
describe("the seed's API through the edge", () => {
  let stack: Stack;
  let backend: EchoBackend;

  beforeAll(async () => {
    stack = await Stack.start();
    backend = await startEchoBackend();
  });

  afterAll(async () => {
    await backend?.close();
    await stack?.stop();
  });

  afterEach(() => {
    expect(stack.unexpectedLogLines()).toEqual([]);
  });

  it("creates with 201, updates with 200, lists, shows and deletes, as the seed's curl commands do", async () => {
    const body = `{ "host": "some.host.com", "backend": "localhost:${backend.port}" }`;
    const created = await stack.admin("POST", "/entries.json", body);
    expect(created.status).toBe(201);
    expect(JSON.parse(created.body)).toMatchObject({
      host: "some.host.com",
      backend: `localhost:${backend.port}`,
      revision: expect.any(Number),
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(created.headers["x-set-backend-lagging-edges"]).toBeUndefined();

    const updated = await stack.admin("POST", "/entries.json", body);
    expect(updated.status).toBe(200);
    expect(JSON.parse(updated.body).revision).toBeGreaterThan(JSON.parse(created.body).revision);

    const index = await stack.admin("GET", "/entries.json");
    expect(index.status).toBe(200);
    expect(JSON.parse(index.body)).toEqual([expect.objectContaining({ host: "some.host.com" })]);

    const shown = await stack.admin("GET", "/entries/some.host.com.json");
    expect(shown.status).toBe(200);
    expect(JSON.parse(shown.body).host).toBe("some.host.com");

    const deleted = await stack.admin("DELETE", "/entries/some.host.com.json");
    expect(deleted.status).toBe(204);
    const again = await stack.admin("DELETE", "/entries/some.host.com.json");
    expect(again.status).toBe(404);
    expect(JSON.parse(again.body)).toEqual({ error: "not_found", message: expect.any(String) });
  });

  it("routes by Host the moment the write returns, with method, path, query, body and Host unchanged", async () => {
    await stack.admin("POST", "/entries.json", { host: "some.host.com", backend: `localhost:${backend.port}` });
    const response = await stack.visit("Some.Host.com:8080", "/some/path?q=1&r=%20x", {
      method: "PUT",
      headers: { "content-type": "text/plain", "x-custom": "kept" },
      body: "payload bytes",
    });
    expect(response.status).toBe(200);
    const seen = JSON.parse(response.body) as SeenRequest;
    expect(seen).toMatchObject({ method: "PUT", url: "/some/path?q=1&r=%20x", body: "payload bytes" });
    expect(seen.headers).toMatchObject({
      host: "Some.Host.com:8080",
      "x-custom": "kept",
      "x-forwarded-for": "127.0.0.1",
      "x-forwarded-proto": "http",
      "x-forwarded-host": "some.host.com",
      "x-request-id": expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it("answers the edge's own 404 page for a host after its delete, as HTML or as JSON", async () => {
    await stack.admin("POST", "/entries.json", { host: "gone.host.com", backend: `127.0.0.1:${backend.port}` });
    expect((await stack.visit("gone.host.com")).status).toBe(200);
    expect((await stack.admin("DELETE", "/entries/gone.host.com.json")).status).toBe(204);

    const html = await stack.visit("gone.host.com");
    expect(html.status).toBe(404);
    expect(html.headers["content-type"]).toContain("text/html");
    expect(html.body).toContain("No site is configured for this host.");
    expect(html.body).toContain("gone.host.com");

    const json = await stack.visit("gone.host.com", "/", { headers: { accept: "application/json" } });
    expect(json.status).toBe(404);
    expect(JSON.parse(json.body)).toEqual({ error: "unknown_host", message: expect.any(String), host: "gone.host.com", request_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it("switches a host to its new backend on update", async () => {
    const other = await startEchoBackend("other");
    try {
      await stack.admin("POST", "/entries.json", { host: "moving.host.com", backend: `127.0.0.1:${backend.port}` });
      expect((await stack.visit("moving.host.com")).headers["x-backend-name"]).toBe("backend");
      await stack.admin("POST", "/entries.json", { host: "moving.host.com", backend: `127.0.0.1:${other.port}` });
      expect((await stack.visit("moving.host.com")).headers["x-backend-name"]).toBe("other");
    } finally {
      await other.close();
    }
  });

  it("answers 502 with a page and a log line naming Host and backend when the backend's name does not resolve", async () => {
    await stack.admin("POST", "/entries.json", { host: "unresolvable.host.com", backend: "no-such-name.invalid:80" });
    stack.expectLogLines(/\[router\] backend of host unresolvable\.host\.com does not resolve: no-such-name\.invalid:80/);
    const response = await stack.visit("unresolvable.host.com", "/", { headers: { accept: "application/json" } });
    expect(response.status).toBe(502);
    expect(JSON.parse(response.body)).toMatchObject({ error: "backend_unresolvable" });
    expect(stack.errorLog()).toMatch(/does not resolve: no-such-name\.invalid:80/);
  });

  it.each([
    ["a body that is not JSON", '{ "host": "x.com" ', 400, "invalid_json"],
    ["a missing host", { backend: "localhost:3000" }, 400, "validation_failed"],
    ["a missing backend", { host: "x.com" }, 400, "invalid_backend"],
    ["both backend and backends", { host: "x.com", backend: "localhost:3000", backends: ["localhost:3001"] }, 400, "invalid_backend"],
    ["an empty backends list", { host: "x.com", backends: [] }, 400, "validation_failed"],
    ["a duplicated backend", { host: "x.com", backends: ["localhost:3000", "LOCALHOST:3000"] }, 400, "invalid_backend"],
    ["a backend without a port", { host: "x.com", backend: "localhost" }, 400, "validation_failed"],
    ["an invalid host", { host: "x_y.com", backend: "localhost:3000" }, 400, "validation_failed"],
    ["an unknown field", { host: "x.com", backend: "localhost:3000", weight: 3 }, 400, "validation_failed"],
    ["a JSON array", [], 400, "validation_failed"],
    ["the admin host itself", { host: "L.IO:8080", backend: "localhost:3000" }, 422, "reserved_host"],
  ])("refuses %s with a JSON error and stores nothing", async (_name, body, status, code) => {
    const before = await stack.admin("GET", "/entries.json");
    const response = await stack.admin("POST", "/entries.json", body);
    expect(response.status).toBe(status);
    expect(response.headers["content-type"]).toContain("application/json");
    expect(JSON.parse(response.body)).toMatchObject({ error: code, message: expect.any(String) });
    expect((await stack.admin("GET", "/entries.json")).body).toBe(before.body);
  });

  it.each([
    ["no token", null],
    ["a wrong token", "wrong-token-wrong-token"],
  ])("answers 401 to %s and changes nothing", async (_name, token) => {
    const write = await stack.admin("POST", "/entries.json", { host: "sneaky.com", backend: "localhost:3000" }, token);
    expect(write.status).toBe(401);
    expect(JSON.parse(write.body)).toMatchObject({ error: "unauthorized" });
    expect((await stack.admin("GET", "/entries.json", undefined, token)).status).toBe(401);
    expect((await stack.admin("GET", "/entries/sneaky.com.json")).status).toBe(404);
  });

  it("answers /healthz and /readyz without a token", async () => {
    const health = await stack.admin("GET", "/healthz", undefined, null);
    expect(health.status).toBe(200);
    const ready = await stack.admin("GET", "/readyz", undefined, null);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({
      status: "ready",
      database: { up: true },
      edges: [{ ready: true, source: "control-plane" }],
    });
  });

  it("never answers 500 or a Lua error for any Host a client can send", async () => {
    const hosts = [
      "",
      ".",
      "..",
      "*",
      "*.example.com",
      "a_b.example",
      "é.example",
      "x".repeat(300),
      `${"a".repeat(64)}.com`,
      "[::1]",
      "127.0.0.1",
      "l.io.",
      "some.host.com..",
      "%00",
      "a b",
    ];
    for (const host of hosts) {
      const response = await stack.visit(host).catch((error: Error) => ({ status: -1, body: error.message }));
      // nginx itself refuses malformed Host headers with 400; everything else is a route or our 404.
      expect([host, [400, 404, 200].includes(response.status)]).toEqual([host, true]);
    }
  });
});
