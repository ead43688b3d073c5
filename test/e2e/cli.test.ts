import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../scripts/lib/postgres";
import { freePort } from "../../scripts/lib/ports";
import { Stack } from "../helpers/stack";

/** The real CLI binary (the package's bin) against a real stack, as a script would run it. */
describe("the set-backend CLI", () => {
  let stack: Stack;
  let directory: string;

  beforeAll(async () => {
    stack = await Stack.start();
    directory = mkdtempSync(join(tmpdir(), "set-backend-cli-"));
    chmodSync(directory, 0o755);
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(stack.unexpectedLogLines()).toEqual([]);
  });

  function cli(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
    const bin = (require(join(repoRoot(), "package.json")) as { bin: Record<string, string> }).bin["set-backend"] as string;
    const run = spawnSync(process.execPath, [join(repoRoot(), bin), ...args], {
      env: { ...process.env, SET_BACKEND_URL: stack.edgeUrl(), SET_BACKEND_TOKEN: stack.adminToken, ...env },
      encoding: "utf8",
      timeout: 60000,
    });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  }

  it("adds, shows, lists and removes entries", () => {
    expect(cli(["add", "one.cli.test", "10.0.0.1:80"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^created one\.cli\.test\t10\.0\.0\.1:80 \(revision \d+\)\n$/) });
    expect(cli(["add", "one.cli.test", "10.0.0.1:80", "10.0.0.2:80"]).stdout).toMatch(/^updated one\.cli\.test\t10\.0\.0\.1:80 10\.0\.0\.2:80/);
    expect(cli(["add", "two.cli.test", "10.0.0.3:80"]).code).toBe(0);
    expect(cli(["show", "one.cli.test"]).stdout).toMatch(/^one\.cli\.test\t10\.0\.0\.1:80 10\.0\.0\.2:80\trevision \d+\tupdated /);
    expect(cli(["list", "--suffix", "cli.test"]).stdout).toBe("one.cli.test\t10.0.0.1:80 10.0.0.2:80\ntwo.cli.test\t10.0.0.3:80\n");
    expect(JSON.parse(cli(["--json", "list", "--suffix", "cli.test"]).stdout)).toHaveLength(2);
    expect(cli(["rm", "two.cli.test"])).toMatchObject({ code: 0, stdout: "deleted two.cli.test\n" });
    expect(cli(["show", "two.cli.test"])).toMatchObject({ code: 1, stderr: expect.stringContaining("not_found") });
  });

  it("imports a file with a dry run, reports a refused import line by line with exit 1, and exports", () => {
    const good = join(directory, "good.ndjson");
    writeFileSync(good, Array.from({ length: 50 }, (_, i) => JSON.stringify({ host: `i${i}.import.cli.test`, backend: "10.0.0.1:80" })).join("\n"));
    expect(cli(["import", good, "--dry-run"])).toMatchObject({ code: 0, stdout: "would import 50 entries: 50 new, 0 updated\n" });
    // Not a terminal: no progress bar on stderr.
    expect(cli(["import", good])).toMatchObject({ code: 0, stdout: "imported 50 entries: 50 new, 0 updated\n", stderr: "" });
    const bad = join(directory, "bad.ndjson");
    writeFileSync(bad, '{"host": "ok.cli.test", "backend": "10.0.0.1:80"}\n{"host": "bad_host", "backend": "10.0.0.1:80"}\n');
    const refused = cli(["import", bad]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("invalid_import");
    expect(refused.stderr).toContain("line 2: host 'bad_host'");
    const exported = cli(["export"]);
    expect(exported.code).toBe(0);
    expect(exported.stdout.trim().split("\n")).toContain('{"host":"i7.import.cli.test","backends":["10.0.0.1:80"]}');
  });

  it("draws an upload progress bar when stderr is a terminal", () => {
    // About 1.2 MB, so the upload goes out in several 256 KiB chunks.
    const file = join(directory, "large.ndjson");
    const count = 15000;
    writeFileSync(file, Array.from({ length: count }, (_, i) => JSON.stringify({ host: `p${i}.progress.cli.test`, backend: "10.0.0.1:80" })).join("\n"));
    const bin = (require(join(repoRoot(), "package.json")) as { bin: Record<string, string> }).bin["set-backend"] as string;
    // script(1) from util-linux runs the CLI on a pseudo-terminal and copies what it draws.
    const run = spawnSync("script", ["-q", "-e", "-c", `'${process.execPath}' '${join(repoRoot(), bin)}' import '${file}'`, "/dev/null"], {
      env: { ...process.env, SET_BACKEND_URL: stack.edgeUrl(), SET_BACKEND_TOKEN: stack.adminToken },
      encoding: "utf8",
      timeout: 60000,
    });
    expect(run.status).toBe(0);
    const frames = run.stdout.split("\r").filter((frame) => frame.startsWith("uploading ["));
    expect(frames.length).toBeGreaterThanOrEqual(4);
    expect(frames[0]).toMatch(/^uploading \[#*-+\] \d+%$/);
    expect(frames[frames.length - 1]).toBe(`uploading [${"#".repeat(30)}] 100%`);
    // The bar ends its line (the terminal shows \n as \r\n) before the result.
    expect(run.stdout).toContain(`100%\r\nimported ${count} entries: ${count} new, 0 updated\r\n`);
  });

  it("tells readiness with its exit code", () => {
    const status = cli(["status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^ready\tdatabase up at revision \d+\nready\thttp:\/\/127\.0\.0\.1:\d+\trevision \d+\tcontrol-plane\n$/);
  });

  it("uses exit codes a script can rely on: 1 refused, 2 usage, 3 unreachable", async () => {
    expect(cli(["list"], { SET_BACKEND_TOKEN: "wrong-token-wrong-token" }).code).toBe(1);
    expect(cli(["add", "only-a-host.cli.test"]).code).toBe(2);
    expect(cli(["no-such-command"]).code).toBe(2);
    const closed = `http://127.0.0.1:${await freePort()}`;
    expect(cli(["list"], { SET_BACKEND_URL: closed })).toMatchObject({ code: 3, stderr: expect.stringContaining("cannot reach") });
  });
});
