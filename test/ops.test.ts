import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, closeSync, openSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpRequest } from "../scripts/lib/http";
import { ManagedProcess, waitUntil } from "../scripts/lib/process";
import { freePort } from "../scripts/lib/ports";

/**
 * The operations files that can be checked without Docker: the systemd
 * units, the http-level include and the container's nginx config (filled the
 * way docs/operations.md and docker/edge/start.sh fill them, then given to
 * Debian's nginx, and the include also run), the Dockerfiles, the load balancer's config, and the
 * operations guide's references to metrics and files.
 */
const root = join(__dirname, "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const NGINX = "/usr/sbin/nginx";
const MODULES = ["/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so"];
const LUA_PATH = join(root, "build", "lua");
const OPENRESTY_DIR = join(root, "openresty");

type Unit = Map<string, Array<[string, string]>>;

/** systemd's INI dialect: [Section], Key=Value, # or ; comments. Anything else is an error. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Array<[string, string]> | undefined;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) {
      return;
    }
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = [];
      unit.set(header[1] as string, section);
      return;
    }
    const pair = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!pair || section === undefined) {
      throw new Error(`line ${index + 1} is not Key=Value inside a section: ${raw}`);
    }
    section.push([pair[1] as string, pair[2] as string]);
  });
  return unit;
}

function values(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([name]) => name === key).map(([, value]) => value);
}

function one(unit: Unit, section: string, key: string): string {
  const found = values(unit, section, key);
  if (found.length !== 1) {
    throw new Error(`[${section}] ${key} appears ${found.length} times`);
  }
  return found[0] as string;
}

function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Z_]+)\}/g)].map((match) => match[1] as string))].sort();
}

/** The documented way to fill a template: envsubst with the list of names, so nginx's own $variables stay. */
function fill(template: string, names: string[], given: Record<string, string>): string {
  const list = names.map((name) => "${" + name + "}").join(" ");
  const output = execFileSync("envsubst", [list], { input: read(template), env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...given } }).toString();
  expect(placeholders(output)).toEqual([]);
  return output;
}

/** The envsubst name lists in docker/edge/start.sh, by the template each one fills. */
function startScriptLists(): Map<string, string[]> {
  const lists = new Map<string, string[]>();
  for (const match of read("docker/edge/start.sh").matchAll(/envsubst '([^']+)' \\\n\s*< "\$app\/([^"]+)"/g)) {
    lists.set(match[2] as string, placeholders(match[1] as string));
  }
  return lists;
}

function nginxTest(prefix: string, conf: string): { status: number | null; output: string } {
  // nginx opens /dev/stdout (the container's access log), which fails on the socket node gives a child: use a file.
  const stdout = openSync(join(prefix, "logs", "nginx-t.out"), "w");
  try {
    const result = spawnSync(NGINX, ["-t", "-p", prefix, "-c", conf, "-e", join(prefix, "logs", "error.log")], { encoding: "utf8", stdio: ["ignore", stdout, "pipe"] });
    return { status: result.status, output: result.stderr + readFileSync(join(prefix, "logs", "nginx-t.out"), "utf8") };
  } finally {
    closeSync(stdout);
  }
}

/** A prefix the workers (nobody, under a root master) can use. */
function makePrefix(): string {
  const prefix = mkdtempSync(join(tmpdir(), "set-backend-ops-"));
  chmodSync(prefix, 0o755);
  for (const folder of ["conf", "logs", "tmp", "state"]) {
    mkdirSync(join(prefix, folder), { recursive: true, mode: 0o755 });
  }
  return prefix;
}

const HTTP_INCLUDE = "openresty/set_backend_http.conf.template";
const prefixes: string[] = [];

beforeAll(() => {
  if (!existsSync(join(LUA_PATH, "set_backend", "edge.lua"))) {
    execFileSync("npm", ["run", "build:lua"], { cwd: root, stdio: "ignore" });
  }
});

afterAll(() => {
  for (const prefix of prefixes) {
    rmSync(prefix, { recursive: true, force: true });
  }
});

describe("systemd units", () => {
  const edge = parseUnit(read("systemd/set-backend-edge.service"));
  const controlPlane = parseUnit(read("systemd/set-backend-control-plane.service"));

  it("both parse as INI with [Unit], [Service] and [Install], secrets from an EnvironmentFile, restarts and hardening", () => {
    for (const unit of [edge, controlPlane]) {
      expect([...unit.keys()]).toEqual(["Unit", "Service", "Install"]);
      expect(one(unit, "Service", "EnvironmentFile")).toMatch(/^\/etc\/set-backend\/[\w-]+\.env$/);
      expect(one(unit, "Service", "Restart")).toBe("on-failure");
      expect(one(unit, "Service", "NoNewPrivileges")).toBe("yes");
      expect(one(unit, "Service", "ProtectSystem")).toBe("strict");
      expect(one(unit, "Service", "User")).not.toBe("root");
      // LuaJIT and V8 both write machine code: this would kill them.
      expect(values(unit, "Service", "MemoryDenyWriteExecute")).toEqual([]);
      expect(one(unit, "Install", "WantedBy")).toBe("multi-user.target");
      const environment = values(unit, "Service", "Environment").join(" ");
      for (const secret of ["ADMIN_TOKEN", "SYNC_SECRET=", "SET_BACKEND_SYNC_SECRET", "DATABASE_URL"]) {
        expect(environment).not.toContain(secret);
      }
    }
  });

  it("runs the edge as nginx -p <prefix> -c <conf>, tests the config first, reloads with HUP and stops with QUIT", () => {
    const start = /^\/\S+\/(nginx|openresty) -p (\S+) -c (\S+) -e (\S+)$/.exec(one(edge, "Service", "ExecStart"));
    expect(start).not.toBeNull();
    const [, , prefix, conf, errorLog] = start as RegExpExecArray;
    expect(values(edge, "Service", "ExecStartPre")).toContain(`/usr/sbin/nginx -t -q -p ${prefix} -c ${conf} -e ${errorLog}`);
    expect(errorLog).toBe(`${prefix}/logs/error.log`);
    expect(one(edge, "Service", "ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(one(edge, "Service", "KillSignal")).toBe("SIGQUIT");
    expect(one(edge, "Service", "Type")).toBe("simple");
    // The state folder sits in the prefix, which systemd creates for the unit's user.
    expect(`/var/lib/${one(edge, "Service", "StateDirectory")}`).toBe(prefix);
    const environment = values(edge, "Service", "Environment");
    expect(environment).toContain(`SET_BACKEND_STATE_DIR=${prefix}/state`);
    expect(values(edge, "Service", "ExecStartPre").join(" ")).toContain(`${prefix}/state`);
    expect(environment.some((line) => line.startsWith("SET_BACKEND_CONTROL_PLANE_URL=http://"))).toBe(true);
  });

  it("runs the control plane's compiled main.js from its working directory", () => {
    const directory = one(controlPlane, "Service", "WorkingDirectory");
    const start = one(controlPlane, "Service", "ExecStart");
    expect(start).toBe(`/usr/bin/node ${directory}/dist/control-plane/src/main.js`);
    expect(existsSync(join(root, "control-plane", "src", "main.ts"))).toBe(true);
    expect(values(controlPlane, "Service", "ExecReload")).toEqual([]);
  });

  it("passes systemd-analyze verify without a complaint, where systemd-analyze exists", () => {
    const analyze = spawnSync("systemd-analyze", ["verify", join(root, "systemd", "set-backend-edge.service"), join(root, "systemd", "set-backend-control-plane.service")], {
      encoding: "utf8",
    });
    if (analyze.error !== undefined) {
      return;
    }
    expect(analyze.stderr.trim()).toBe("");
  });
});

describe("the include for an existing http block", () => {
  const template = read(HTTP_INCLUDE);
  const names = placeholders(template);

  it("has the placeholders the guide lists, and docker/edge/start.sh fills", () => {
    expect(names).toEqual(["LUA_PATH", "PROXY_CONNECT_TIMEOUT", "PROXY_READ_TIMEOUT", "ROUTES_DICT_SIZE", "SYNC_LISTEN", "UPSTREAM_KEEPALIVE"]);
    const documented = /envsubst '([^']+)'\s*\\?\s*\n?\s*< openresty\/set_backend_http\.conf\.template/.exec(read("docs/operations.md"));
    expect(placeholders(documented?.[1] ?? "")).toEqual(names);
    expect(startScriptLists().get(HTTP_INCLUDE)).toEqual(names);
  });

  it("is the one copy of the http part: the project's own nginx.conf.template includes it and declares none of it", () => {
    const edgeTemplate = read("openresty/nginx.conf.template");
    expect(edgeTemplate).toMatch(/^include \$\{OPENRESTY_DIR\}\/set_backend_main\.conf;$/m);
    expect(edgeTemplate).toMatch(/^\s+include \$\{PREFIX\}\/conf\/set_backend_http\.conf;$/m);
    expect(edgeTemplate).not.toMatch(/lua_shared_dict|init_by_lua|balancer_by_lua|^\s*env /m);
    const lines = template.split("\n").map((line) => line.trim());
    for (const wanted of [
      "lua_shared_dict set_backend_routes ${ROUTES_DICT_SIZE};",
      "lua_shared_dict set_backend_meta 1m;",
      "lua_shared_dict set_backend_health 4m;",
      "lua_shared_dict set_backend_metrics 1m;",
      'init_by_lua_block { require("set_backend.edge") }',
      'init_worker_by_lua_block { require("set_backend.edge").initWorker() }',
      'balancer_by_lua_block { require("set_backend.edge").balance() }',
      "keepalive ${UPSTREAM_KEEPALIVE};",
      "listen ${SYNC_LISTEN};",
      'content_by_lua_block { require("set_backend.edge").sync() }',
    ]) {
      expect([wanted, lines.includes(wanted)]).toEqual([wanted, true]);
    }
    expect(template).not.toMatch(/^\s*env /m);
  });

  it("has main-context env lines for every SET_BACKEND_* setting the Lua reads", () => {
    const read_by_lua = [...read("lua/src/set_backend/config.ts").matchAll(/setting\("(SET_BACKEND_\w+)"/g)].map((match) => match[1]).sort();
    const declared = [...read("openresty/set_backend_main.conf").matchAll(/^env (SET_BACKEND_\w+);$/gm)].map((match) => match[1]).sort();
    expect(read_by_lua.length).toBeGreaterThan(5);
    expect(declared).toEqual(read_by_lua);
  });

  describe("filled with test values, in a tiny config of one's own", () => {
    let prefix: string;
    let conf: string;
    let ports: { listen: number; sync: number; controlPlane: number };
    const secret = "ops-test-sync-secret-0123456789";

    beforeAll(async () => {
      prefix = makePrefix();
      prefixes.push(prefix);
      ports = { listen: await freePort(), sync: await freePort(), controlPlane: await freePort() };
      writeFileSync(
        join(prefix, "conf", "set_backend_http.conf"),
        fill(HTTP_INCLUDE, names, {
          LUA_PATH,
          ROUTES_DICT_SIZE: "8m",
          PROXY_CONNECT_TIMEOUT: "2s",
          PROXY_READ_TIMEOUT: "10s",
          UPSTREAM_KEEPALIVE: "16",
          SYNC_LISTEN: `127.0.0.1:${ports.sync}`,
        }),
      );
      conf = join(prefix, "conf", "nginx.conf");
      writeFileSync(
        conf,
        [
          ...MODULES.map((module) => `load_module ${module};`),
          "worker_processes 2;",
          "daemon off;",
          `pid ${prefix}/logs/nginx.pid;`,
          `include ${OPENRESTY_DIR}/set_backend_main.conf;`,
          "events { worker_connections 256; }",
          "http {",
          ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `    ${kind}_temp_path ${prefix}/tmp/${kind};`),
          "    access_log off;",
          `    include ${prefix}/conf/set_backend_http.conf;`,
          "    server {",
          `        listen 127.0.0.1:${ports.listen};`,
          `        include ${OPENRESTY_DIR}/set_backend_server.conf;`,
          "        location / {",
          `            include ${OPENRESTY_DIR}/set_backend.conf;`,
          "            proxy_pass http://$backend$request_uri;",
          "        }",
          "    }",
          "}",
          "",
        ].join("\n"),
      );
      if (process.getuid?.() === 0) {
        chownSync(join(prefix, "state"), 65534, 65534);
      }
    });

    it("passes nginx -t (syntax, directives, includes and listeners)", () => {
      const result = nginxTest(prefix, conf);
      expect(result.output).toContain("test is successful");
      expect(result.status).toBe(0);
    });

    it("does not start with a wrong Lua path: init_by_lua must find set_backend.edge (nginx -t does not run it)", () => {
      const broken = join(prefix, "conf", "broken-http.conf");
      writeFileSync(broken, readFileSync(join(prefix, "conf", "set_backend_http.conf"), "utf8").replaceAll(LUA_PATH, join(prefix, "nowhere")));
      const brokenConf = join(prefix, "conf", "broken.conf");
      writeFileSync(brokenConf, readFileSync(conf, "utf8").replace(join(prefix, "conf", "set_backend_http.conf"), broken));
      const result = spawnSync(NGINX, ["-p", prefix, "-c", brokenConf, "-e", join(prefix, "logs", "broken-error.log")], {
        encoding: "utf8",
        timeout: 5000,
        stdio: ["ignore", "ignore", "pipe"],
      });
      expect(result.status).not.toBe(0);
      expect(result.signal).toBeNull();
      expect(result.stderr + readFileSync(join(prefix, "logs", "broken-error.log"), "utf8")).toContain("module 'set_backend.edge' not found");
    });

    it("runs: the sync listener answers with the secret, and a routed request gets 503 no_table before any table", async () => {
      const edge = new ManagedProcess("ops-edge", NGINX, ["-p", prefix, "-c", conf, "-e", join(prefix, "logs", "error.log")], {
        env: {
          ...process.env,
          SET_BACKEND_CONTROL_PLANE_URL: `http://127.0.0.1:${ports.controlPlane}`,
          SET_BACKEND_SYNC_SECRET: secret,
          SET_BACKEND_STATE_DIR: join(prefix, "state"),
          SET_BACKEND_PAGES_DIR: join(OPENRESTY_DIR, "pages"),
        },
        logFile: join(prefix, "logs", "nginx.out"),
      });
      try {
        const sync = `http://127.0.0.1:${ports.sync}`;
        const status = await waitUntil(
          async () => {
            const response = await httpRequest(`${sync}/status`, { headers: { "x-set-backend-secret": secret } }).catch(() => undefined);
            return response?.status === 200 ? response : undefined;
          },
          10000,
          "the sync listener",
        );
        expect(JSON.parse(status.body)).toMatchObject({ loaded: false, revision: 0, dict_full: false });
        expect((await httpRequest(`${sync}/status`)).status).toBe(401);
        const metrics = await httpRequest(`${sync}/metrics`, { headers: { authorization: `Bearer ${secret}` } });
        expect(metrics.body).toMatch(/^set_backend_table_loaded 0$/m);
        expect(metrics.body).toMatch(/^set_backend_routes_dict_capacity_bytes \d+$/m);
        const routed = await httpRequest(`http://127.0.0.1:${ports.listen}/`, { headers: { host: "any.example.com", accept: "application/json" } });
        expect(routed.status).toBe(503);
        expect(JSON.parse(routed.body)).toMatchObject({ error: "no_table" });
      } finally {
        await edge.stop("SIGQUIT");
      }
    });
  });
});

describe("the edge container's config (docker/edge)", () => {
  it("fills every placeholder from start.sh's lists and passes nginx -t with Debian's modules", async () => {
    const lists = startScriptLists();
    const main = "docker/edge/nginx.conf.template";
    expect(lists.get(main)).toEqual(placeholders(read(main)));
    const prefix = makePrefix();
    prefixes.push(prefix);
    writeFileSync(
      join(prefix, "conf", "set_backend_http.conf"),
      fill(HTTP_INCLUDE, lists.get(HTTP_INCLUDE) ?? [], {
        LUA_PATH,
        ROUTES_DICT_SIZE: "8m",
        PROXY_CONNECT_TIMEOUT: "5s",
        PROXY_READ_TIMEOUT: "60s",
        UPSTREAM_KEEPALIVE: "256",
        SYNC_LISTEN: `127.0.0.1:${await freePort()}`,
      }),
    );
    const conf = join(prefix, "conf", "nginx.conf");
    writeFileSync(
      conf,
      fill(main, lists.get(main) ?? [], {
        // In the image, OpenResty has the modules built in and this is a comment.
        LOAD_MODULES: MODULES.map((module) => `load_module ${module};`).join("\n"),
        WORKER_PROCESSES: "1",
        WORKER_CONNECTIONS: "256",
        PREFIX: prefix,
        ERROR_LOG_LEVEL: "notice",
        OPENRESTY_DIR,
        DNS_RESOLVER: "127.0.0.11",
        // The container names the control plane; nginx -t here needs an address.
        CONTROL_PLANE_ADDRESS: `127.0.0.1:${await freePort()}`,
        EDGE_LISTEN: `127.0.0.1:${await freePort()}`,
        ADMIN_HOST: "l.io",
        ADMIN_MAX_BODY: "64m",
      }),
    );
    const result = nginxTest(prefix, conf);
    expect(result.output).toContain("test is successful");
    expect(result.status).toBe(0);
  });

  it("start.sh makes the state folder the workers' own, and runs OpenResty in the foreground", () => {
    const script = read("docker/edge/start.sh");
    expect(script).toMatch(/^chown nobody:nogroup "\$state"$/m);
    expect(read("docker/edge/nginx.conf.template")).toMatch(/^user nobody nogroup;$/m);
    expect(script).toMatch(/^exec openresty -p "\$prefix" -c "\$prefix\/conf\/nginx.conf"/m);
    // Exported, LUA_PATH would become LuaJIT's own search path.
    expect(script).not.toMatch(/export[^\n]*LUA_PATH/);
  });
});

describe("Dockerfiles", () => {
  function stages(path: string): string[] {
    return read(path).split(/^FROM /m).slice(1);
  }

  it("builds the control plane with npm ci and npm run build, and runs it as a non-root user with production dependencies only", () => {
    const [build, final] = stages("docker/control-plane.Dockerfile");
    expect(build).toMatch(/^RUN npm ci\b/m);
    expect(build).toMatch(/^RUN npm run build$/m);
    expect(final).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(final).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    const user = /^USER (\S+)$/m.exec(final ?? "")?.[1];
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user);
    expect(final).toMatch(/"dist\/control-plane\/src\/main.js"/);
  });

  it("builds the edge on the official OpenResty image with the compiled Lua, openresty/ and the start script", () => {
    const all = stages("docker/edge.Dockerfile");
    const final = all.at(-1) ?? "";
    expect(final).toMatch(/^openresty\/openresty:\S+/);
    expect(all[0]).toMatch(/^RUN npm run build:lua$/m);
    expect(final).toMatch(/^COPY --from=build \/app\/build\/lua \/app\/build\/lua$/m);
    expect(final).toMatch(/^COPY openresty \/app\/openresty$/m);
    expect(final).toMatch(/^ENTRYPOINT \["\/app\/docker\/edge\/start.sh"\]$/m);
    expect(final).toMatch(/^STOPSIGNAL SIGQUIT$/m);
  });

  it("keeps secrets, local state and build output out of the build context", () => {
    const ignored = read(".dockerignore").split("\n");
    for (const entry of ["compose.env", ".data", "node_modules", "dist", "build", ".git"]) {
      expect(ignored).toContain(entry);
    }
  });
});

describe("the load balancer", () => {
  it("sends traffic to both edges with an active check that needs a loaded table", () => {
    const config = read("docker/lb/haproxy.cfg");
    expect(config).toMatch(/^\s*http-check expect status 404$/m);
    expect(config).toMatch(/^\s*bind :8080$/m);
    // Debian's haproxy (scripts/setup.mjs --tests installs it) checks the file.
    const check = spawnSync("haproxy", ["-c", "-f", join(root, "docker", "lb", "haproxy.cfg")], { encoding: "utf8" });
    expect(check.error).toBeUndefined();
    expect(check.stdout + check.stderr).toContain("Configuration file is valid");
    expect(check.status).toBe(0);
  });
});

describe("docs/operations.md", () => {
  const guide = read("docs/operations.md");

  it("names only metrics the edges or the control plane serve", () => {
    const served = new Set([
      ...[...read("lua/src/set_backend/metrics.ts").matchAll(/["'](set_backend_[a-z_]+)[ {]/g)].map((match) => match[1]),
      ...[...read("control-plane/src/metrics/metrics.service.ts").matchAll(/name: "(set_backend_[a-z_]+)"/g)].map((match) => match[1]),
    ]);
    const histogramSeries = /_(count|sum|bucket)$/;
    const named = new Set([...guide.matchAll(/\b(set_backend_[a-z_]+)(?![\w.])/g)].map((match) => match[1] as string).filter((name) => !/^set_backend_(routes|meta|health|metrics)$/.test(name)));
    expect(named.size).toBeGreaterThan(5);
    for (const name of named) {
      expect([name, served.has(name) || served.has(name.replace(histogramSeries, ""))]).toEqual([name, true]);
    }
  });

  it("quotes the bytes per entry the benchmark measured, and points at files that exist", () => {
    const measured = (JSON.parse(read("bench/results/latest.json")) as { memory: { bytesPerEntry: number } }).memory.bytesPerEntry;
    expect(guide).toContain(`> Measured: ${measured} bytes per entry`);
    for (const path of new Set([...guide.matchAll(/`((?:test|docker|systemd|openresty|lua|scripts|migrations)\/[\w./-]+\.\w+)`/g)].map((match) => match[1] as string))) {
      expect([path, existsSync(join(root, path))]).toEqual([path, true]);
    }
  });
});
