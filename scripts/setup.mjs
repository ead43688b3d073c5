// Installs what set-backend needs and is missing, before anything else runs:
// OpenResty's pieces from Debian's packages (and, for the tests, LuaJIT),
// then the npm dependencies. Only Node built-ins: node_modules may not exist yet.
//
//   node scripts/setup.mjs           what `npm start` needs
//   node scripts/setup.mjs --tests   what `npm test` needs as well
//   node scripts/setup.mjs --bench   what `npm run bench` needs as well
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Debian package -> a file that shows it is installed. */
const RUNTIME_PACKAGES = {
  nginx: "/usr/sbin/nginx",
  "libnginx-mod-http-lua": "/usr/lib/nginx/modules/ngx_http_lua_module.so",
  "libnginx-mod-http-ndk": "/usr/lib/nginx/modules/ndk_http_module.so",
  "lua-resty-core": "/usr/share/lua/5.1/resty/core.lua",
  "lua-resty-lrucache": "/usr/share/lua/5.1/resty/lrucache.lua",
  "lua-cjson": "/usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so",
  // lua-resty-dns, which Debian installs as nginx.dns.resolver.
  "lua-nginx-dns": "/usr/share/lua/5.1/nginx/dns/resolver.lua",
};
/**
 * The tests run the generated Lua under OpenResty's LuaJIT branch (never
 * Debian's `luajit`: it removes the nginx Lua module), and check the compose
 * load balancer's config with haproxy.
 */
const TEST_PACKAGES = { luajit2: "/usr/bin/luajit", haproxy: "/usr/sbin/haproxy" };
/** `npm run bench` drives load with wrk. */
const BENCH_PACKAGES = { wrk: "/usr/bin/wrk" };

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", cwd: ROOT, ...options });
  if (result.status !== 0) {
    console.error(`'${command} ${args.join(" ")}' failed`);
    process.exit(result.status ?? 1);
  }
}

export function ensureSystemPackages({ tests = false, bench = false } = {}) {
  if (process.env.NGINX_BIN) {
    // An OpenResty installation of the user's own; nothing to install.
    return;
  }
  const wanted = { ...RUNTIME_PACKAGES, ...(tests ? TEST_PACKAGES : {}), ...(bench ? BENCH_PACKAGES : {}) };
  const missing = Object.keys(wanted).filter((name) => !existsSync(wanted[name]));
  if (missing.length === 0) {
    return;
  }
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) {
    console.error(`set-backend needs Debian packages that are missing: ${missing.join(", ")}. As root, run:\n\n  ${command}\n`);
    process.exit(1);
  }
  console.log(`installing from Debian: ${missing.join(" ")}`);
  run("sh", ["-c", command], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

export function ensureNodeModules() {
  if (!existsSync(join(ROOT, "node_modules", ".package-lock.json"))) {
    console.log("installing npm dependencies (npm ci)");
    run("npm", ["ci", "--no-audit", "--no-fund"]);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureSystemPackages({ tests: process.argv.includes("--tests"), bench: process.argv.includes("--bench") });
  ensureNodeModules();
}
