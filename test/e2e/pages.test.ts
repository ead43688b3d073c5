import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Stack } from "../helpers/stack";

/** An operator replaces the edge's pages with templates of their own, without touching Lua. */
describe("operator page templates", () => {
  let stack: Stack;

  beforeAll(async () => {
    const pages = mkdtempSync(join(tmpdir(), "set-backend-pages-"));
    // nginx workers read the templates; they run as an unprivileged user when the master is root.
    chmodSync(pages, 0o755);
    writeFileSync(join(pages, "error.html"), "<p>custom {{status}} for {{host}} ({{reason}}, {{request_id}})</p>\n");
    writeFileSync(join(pages, "error.json"), '{"custom": true, "error": "{{reason}}", "host": "{{host}}"}\n');
    writeFileSync(join(pages, "404.html"), "<h1>nothing at {{host}}</h1>\n");
    // The edge names its control plane "localhost" here, so its pulls resolve a name (from /etc/hosts).
    stack = await Stack.start({ edge: { pagesDir: pages }, controlPlaneHostName: "localhost" });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  afterEach(() => {
    expect(stack.unexpectedLogLines()).toEqual([]);
  });

  it("pulls its table from a control plane given by name", async () => {
    expect(await stack.edgeStatus(0)).toMatchObject({ loaded: true, source: "control-plane" });
  });

  it("uses <status>.html for that status", async () => {
    const response = await stack.visit("missing.test");
    expect(response.status).toBe(404);
    expect(response.body).toBe("<h1>nothing at missing.test</h1>\n");
    const escaped = await stack.visit("<b>.test");
    expect(escaped.body).toBe("<h1>nothing at &lt;b&gt;.test</h1>\n");
  });

  it("uses error.json where no <status>.json exists, and escapes values for JSON", async () => {
    const response = await stack.visit('quote"d.test', "/", { headers: { accept: "application/json" } });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toEqual({ custom: true, error: "unknown_host", host: 'quote"d.test' });
  });

  it("uses error.html for other statuses, with every placeholder filled and HTML escaped", async () => {
    await stack.admin("POST", "/entries.json", { host: "unresolvable.test", backend: "nowhere.invalid:80" });
    stack.expectLogLines(/does not resolve/);
    const response = await stack.visit("unresolvable.test");
    expect(response.status).toBe(502);
    expect(response.body).toMatch(/^<p>custom 502 for unresolvable\.test \(backend_unresolvable, [0-9a-f]{32}\)<\/p>\n$/);
  });
});
