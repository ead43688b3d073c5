import { connect } from "node:net";
import { waitUntil } from "../../scripts/lib/process";
import { EchoBackend, startEchoBackend } from "../helpers/backend";
import { startTestDns, TestDns } from "../helpers/dns-server";
import { freePort } from "../../scripts/lib/ports";
import { Stack } from "../helpers/stack";

/**
 * Sends one raw HTTP/1.1 request (with Connection: close) and returns the
 * status code. The write side stays open: nginx takes a half-closed client
 * for one that went away.
 */
function rawRequest(port: number, text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(text));
    let data = "";
    socket.on("data", (chunk) => (data += chunk.toString()));
    socket.on("end", () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.on("error", reject);
  });
}

/**
 * The edge's request path with real backends: wildcards, several backends,
 * retries, passive health, keepalive, DNS, the edge's own answers, logs and
 * metrics.
 */
describe("the request path", () => {
  let stack: Stack;
  let dns: TestDns;
  let a: EchoBackend;
  let b: EchoBackend;

  const post = (host: string, backends: string[]) => stack.admin("POST", "/entries.json", { host, backends });

  beforeAll(async () => {
    dns = await startTestDns();
    stack = await Stack.start({
      edge: { resolvers: dns.address, proxyReadTimeout: "1s", proxyConnectTimeout: "1s", failTimeoutSeconds: 30 },
    });
    a = await startEchoBackend("a");
    b = await startEchoBackend("b");
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await stack?.stop();
    await dns?.close();
  });

  afterEach(() => {
    expect(stack.unexpectedLogLines()).toEqual([]);
  });

  describe("wildcards", () => {
    beforeAll(async () => {
      expect((await post("*.example.com", [`127.0.0.1:${a.port}`])).status).toBe(201);
      expect((await post("*.deep.example.com", [`127.0.0.1:${b.port}`])).status).toBe(201);
      expect((await post("exact.deep.example.com", [`127.0.0.1:${a.port}`])).status).toBe(201);
    });

    it.each([
      ["a name one level below", "x.example.com", "a"],
      ["a name several levels below", "x.y.z.example.com", "a"],
      ["the longest wildcard suffix", "x.deep.example.com", "b"],
      ["the longest suffix at any depth", "w.x.deep.example.com", "b"],
      ["an exact entry over a wildcard", "exact.deep.example.com", "a"],
    ])("routes %s (%s)", async (_name, host, backendName) => {
      const response = await stack.visit(host);
      expect(response.status).toBe(200);
      expect(response.headers["x-backend-name"]).toBe(backendName);
    });

    it("does not route the wildcard's own suffix", async () => {
      expect((await stack.visit("example.com")).status).toBe(404);
    });

    it("does not treat a Host written as a wildcard as a name", async () => {
      expect((await stack.visit("*.example.com")).status).toBe(404);
    });

    it("shows and deletes a wildcard entry by its URL-encoded host", async () => {
      expect((await stack.admin("GET", "/entries/%2A.example.com.json")).status).toBe(200);
      expect((await stack.admin("DELETE", "/entries/%2A.example.com.json")).status).toBe(204);
      expect((await stack.visit("x.example.com")).status).toBe(404);
    });
  });

  it("shows every change on the next request of every worker", async () => {
    // Parallel requests on fresh connections reach both workers.
    const names = async (host: string) => {
      const responses = await Promise.all(Array.from({ length: 24 }, () => stack.visit(host, "/", { headers: { connection: "close" } })));
      return new Set(responses.map((response) => (response.status === 200 ? String(response.headers["x-backend-name"]) : String(response.status))));
    };
    expect((await post("cached.cache.test", [`127.0.0.1:${a.port}`])).status).toBe(201);
    expect(await names("cached.cache.test")).toEqual(new Set(["a"]));
    expect((await stack.admin("PUT", "/entries/cached.cache.test.json", { backends: [`127.0.0.1:${b.port}`] })).status).toBe(200);
    expect(await names("cached.cache.test")).toEqual(new Set(["b"]));
    // A wildcard, then the exact entry's delete: the exact route must give way to the wildcard.
    expect((await post("*.cache.test", [`127.0.0.1:${a.port}`])).status).toBe(201);
    expect(await names("cached.cache.test")).toEqual(new Set(["b"]));
    expect((await stack.admin("DELETE", "/entries/cached.cache.test.json")).status).toBe(204);
    expect(await names("cached.cache.test")).toEqual(new Set(["a"]));
    expect((await stack.admin("DELETE", `/entries/${encodeURIComponent("*.cache.test")}.json`)).status).toBe(204);
    expect(await names("cached.cache.test")).toEqual(new Set(["404"]));
  });

  it("routes an absolute-form request line by its host, as nginx's $host does", async () => {
    await post("absolute.test", [`127.0.0.1:${a.port}`]);
    const port = Number(new URL(stack.edgeUrl()).port);
    await expect(rawRequest(port, "GET http://Absolute.Test/x HTTP/1.1\r\nHost: unknown.test\r\nConnection: close\r\n\r\n")).resolves.toBe(200);
    await expect(rawRequest(port, "GET http://unknown.test/x HTTP/1.1\r\nHost: absolute.test\r\nConnection: close\r\n\r\n")).resolves.toBe(404);
  });

  it("lets nginx refuse Host headers it considers invalid before any Lua runs", async () => {
    const port = Number(new URL(stack.edgeUrl()).port);
    await expect(rawRequest(port, "GET / HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n")).resolves.toBe(400);
    await expect(rawRequest(port, "GET / HTTP/1.1\r\nHost: ..\r\nConnection: close\r\n\r\n")).resolves.toBe(400);
  });

  it("shows both backend forms consistently and spreads requests over the backends", async () => {
    const created = await post("spread.test", [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
    expect(JSON.parse(created.body)).toMatchObject({
      backend: `127.0.0.1:${a.port}`,
      backends: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`],
    });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      seen.add(String((await stack.visit("spread.test")).headers["x-backend-name"]));
    }
    expect([...seen].sort()).toEqual(["a", "b"]);
  });

  it("retries a refusing backend on the next one, then skips it for a while", async () => {
    const closedPort = await freePort();
    await post("retry.test", [`127.0.0.1:${closedPort}`, `127.0.0.1:${a.port}`]);
    stack.expectLogLines(new RegExp(`connect\\(\\) failed \\(111: Connection refused\\) while connecting to upstream.*upstream: "http://127\\.0\\.0\\.1:${closedPort}/`));
    for (let i = 0; i < 10; i++) {
      const response = await stack.visit("retry.test");
      expect(response.status).toBe(200);
      expect(response.headers["x-backend-name"]).toBe("a");
    }
    // Passive health: after its first failure the refusing peer is skipped, so only one try hit it.
    const refusals = stack.errorLog().split("\n").filter((line) => line.includes(`127.0.0.1:${closedPort}/`) && line.includes("[error]"));
    expect(refusals).toHaveLength(1);
    expect(stack.errorLog()).toContain(`[balancer] backend 127.0.0.1:${closedPort} failed 1 time(s); skipping it`);
  });

  it("keeps routing while one of two backends is killed mid-test", async () => {
    const victim = await startEchoBackend("victim");
    const survivor = await startEchoBackend("survivor");
    try {
      await post("kill.test", [`127.0.0.1:${victim.port}`, `127.0.0.1:${survivor.port}`]);
      stack.expectLogLines(/while connecting to upstream/, /upstream prematurely closed connection/);
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        if (i === 10) {
          await victim.close();
        }
        statuses.push((await stack.visit("kill.test")).status);
      }
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      expect(victim.requests.length).toBeGreaterThan(0);
    } finally {
      await survivor.close();
    }
  });

  it("answers its own 502 page when no backend answers, as JSON when asked", async () => {
    const closed1 = await freePort();
    const closed2 = await freePort();
    await post("down.test", [`127.0.0.1:${closed1}`, `127.0.0.1:${closed2}`]);
    stack.expectLogLines(/connect\(\) failed \(111: Connection refused\) while connecting to upstream/, /\[balancer\] backend/);
    const response = await stack.visit("down.test", "/", { headers: { accept: "application/json" } });
    expect(response.status).toBe(502);
    expect(JSON.parse(response.body)).toMatchObject({ error: "backend_unavailable", host: "down.test", request_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const html = await stack.visit("down.test");
    expect(html.status).toBe(502);
    expect(html.body).toContain("No backend of this site answered.");
  });

  it("answers its own 504 page when the backend is too slow, and retries a slow GET but not a slow POST", async () => {
    const slow = await startEchoBackend("slow", { delayMs: 3000 });
    try {
      stack.expectLogLines(/upstream timed out \(110: Connection timed out\) while reading response header from upstream/);
      await post("slow.test", [`127.0.0.1:${slow.port}`]);
      const alone = await stack.visit("slow.test", "/", { headers: { accept: "application/json" } });
      expect(alone.status).toBe(504);
      expect(JSON.parse(alone.body)).toMatchObject({ error: "backend_timeout" });

      await post("slow-or-fast.test", [`127.0.0.1:${slow.port}`, `127.0.0.1:${a.port}`]);
      // Passive health may already skip the slow peer; look at what each try did instead.
      const get = await stack.visit("slow-or-fast.test");
      expect(get.status).toBe(200);
      const before = slow.requests.length;
      await stack.admin("POST", "/entries.json", { host: "slow-post.test", backends: [`127.0.0.1:${slow.port}`, `127.0.0.1:${b.port}`] });
      const posted = await stack.visit("slow-post.test", "/", { method: "POST", body: "x", headers: { "content-type": "text/plain" } });
      if (slow.requests.length > before) {
        // The POST reached the slow peer first: nginx must not send it again elsewhere.
        expect(posted.status).toBe(504);
        expect(b.requests.filter((request) => request.method === "POST")).toEqual([]);
      } else {
        expect(posted.status).toBe(200);
      }
    } finally {
      await slow.close();
    }
  });

  it("reuses idle connections to a backend (keepalive through the balancer)", async () => {
    const pooled = await startEchoBackend("pooled");
    try {
      await post("pool.test", [`127.0.0.1:${pooled.port}`]);
      for (let i = 0; i < 40; i++) {
        expect((await stack.visit("pool.test")).status).toBe(200);
      }
      // Two workers, each may open its own connection; never one per request.
      expect(pooled.connections()).toBeLessThanOrEqual(2);
    } finally {
      await pooled.close();
    }
  });

  it("resolves backend names through DNS without blocking, and follows the record after its TTL", async () => {
    const first = await startEchoBackend("first", { address: "127.0.0.2" });
    // The same port on another loopback address: only the DNS answer tells them apart.
    const second = await startEchoBackend("second", { address: "127.0.0.3", port: first.port });
    try {
      dns.records.set("files.dns.test", { addresses: ["127.0.0.2"], ttl: 1 });
      await post("dns.test", [`files.dns.test:${first.port}`]);
      expect((await stack.visit("dns.test")).headers["x-backend-name"]).toBe("first");
      expect(dns.queries).toContain("files.dns.test/1");

      dns.records.set("files.dns.test", { addresses: ["127.0.0.3"], ttl: 1 });
      await waitUntil(async () => (await stack.visit("dns.test")).headers["x-backend-name"] === "second", 10000, "the edge to follow the new DNS answer");
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("answers 502 for a name DNS does not know, naming Host and backend in the log", async () => {
    await post("nxdomain.test", ["missing.dns.test:80"]);
    stack.expectLogLines(/\[router\] backend of host nxdomain\.test does not resolve: missing\.dns\.test:80: name 'missing\.dns\.test': DNS error 3/);
    const response = await stack.visit("nxdomain.test", "/", { headers: { accept: "application/json" } });
    expect(response.status).toBe(502);
    expect(JSON.parse(response.body)).toMatchObject({ error: "backend_unresolvable", host: "nxdomain.test" });
  });

  it("sends the request id to the backend and logs it with Host, backend, upstream status and time", async () => {
    await post("logged.test", [`127.0.0.1:${a.port}`]);
    const response = await stack.visit("logged.test", "/logged");
    const requestId = String(JSON.parse(response.body).headers["x-request-id"]);
    expect(requestId).toMatch(/^[0-9a-f]{32}$/);
    await waitUntil(() => stack.accessLog().includes(requestId), 5000, "the access log line");
    const line = stack.accessLog().split("\n").find((entry) => entry.includes(requestId)) ?? "";
    expect(line).toContain("GET /logged HTTP/1.1");
    expect(line).toContain("host=logged.test");
    expect(line).toContain(`backend=127.0.0.1:${a.port}`);
    expect(line).toContain("upstream_status=200");
    expect(line).toMatch(/upstream_time=\d+\.\d{3}/);
  });

  it("publishes counters in Prometheus text on the sync listener, behind the secret", async () => {
    await stack.visit("no-such-site.test");
    const url = `${stack.syncUrl()}/metrics`;
    const denied = await fetch(url);
    expect(denied.status).toBe(401);
    await waitUntil(
      async () => {
        const text = await (await fetch(url, { headers: { authorization: `Bearer ${stack.syncSecret}` } })).text();
        const misses = Number(/^set_backend_lookup_misses_total (\d+)$/m.exec(text)?.[1] ?? 0);
        const ok = Number(/^set_backend_requests_total\{class="2xx"\} (\d+)$/m.exec(text)?.[1] ?? 0);
        const failures = Number(/^set_backend_upstream_failures_total (\d+)$/m.exec(text)?.[1] ?? 0);
        return misses >= 1 && ok >= 10 && failures >= 1;
      },
      5000,
      "the counters to be flushed",
    );
  });
});
