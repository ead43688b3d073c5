// `npm start`: installs what is missing, builds, then runs dist/scripts/start.js.
// Only Node built-ins here: this runs before node_modules exists.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);

// OpenResty's pieces, from Debian's packages.
export const DEBIAN_PACKAGES = ["nginx", "libnginx-mod-http-lua", "libnginx-mod-http-ndk", "lua-resty-core", "lua-resty-lrucache", "lua-cjson"];
const NEEDED_FILES = [
  "/usr/lib/nginx/modules/ngx_http_lua_module.so",
  "/usr/share/lua/5.1/resty/core.lua",
  "/usr/share/lua/5.1/resty/lrucache.lua",
  "/usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so",
];

function run(command, args) {
  const result = spawnSync(command, args, { stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`'${command} ${args.join(" ")}' failed`);
    process.exit(result.status ?? 1);
  }
}

function hasOpenResty() {
  if (process.env.NGINX_BIN) return true;
  const nginx = spawnSync("sh", ["-c", "command -v nginx"], { encoding: "utf8" }).stdout.trim();
  return nginx !== "" && NEEDED_FILES.every((file) => existsSync(file));
}

if (!hasOpenResty()) {
  const command = `apt-get update && apt-get install -y --no-install-recommends ${DEBIAN_PACKAGES.join(" ")}`;
  if (process.getuid?.() !== 0) {
    console.error(`nginx with lua-nginx-module is missing. As root, run:\n\n  ${command}\n`);
    process.exit(1);
  }
  console.log(`installing OpenResty's pieces from Debian: ${DEBIAN_PACKAGES.join(" ")}`);
  run("sh", ["-c", `DEBIAN_FRONTEND=noninteractive ${command}`]);
}

if (!existsSync(join(root, "node_modules", ".package-lock.json"))) {
  console.log("installing npm dependencies");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}

run("npm", ["run", "--silent", "build"]);

const require = createRequire(import.meta.url);
await require(join(root, "dist", "scripts", "start.js")).main();
