// `npm start`: installs what is missing, builds when a source changed since
// the last build, then runs dist/scripts/start.js.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ensureNodeModules, ensureSystemPackages, ROOT } from "./setup.mjs";

/** What `npm run build` compiles from, and two files it writes every time. */
const SOURCES = ["lua/src", "lua/types", "lua/tsconfig.json", "control-plane/src", "migrations", "scripts", "tsconfig.json", "package.json"];
const OUTPUTS = ["build/lua/set_backend/edge.lua", "dist/control-plane/src/main.js"];

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) {
    return stat.mtimeMs;
  }
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}

// Building only when needed also keeps a running edge from reading Lua files
// while they are being rewritten.
function buildIsCurrent() {
  if (!OUTPUTS.every((output) => existsSync(join(ROOT, output)))) {
    return false;
  }
  const built = Math.min(...OUTPUTS.map((output) => statSync(join(ROOT, output)).mtimeMs));
  return SOURCES.every((source) => !existsSync(join(ROOT, source)) || newestMtime(join(ROOT, source)) <= built);
}

ensureSystemPackages();
ensureNodeModules();
if (!buildIsCurrent()) {
  const build = spawnSync("npm", ["run", "--silent", "build"], { stdio: "inherit", cwd: ROOT });
  if (build.status !== 0) {
    process.exit(build.status ?? 1);
  }
}
const require = createRequire(import.meta.url);
await require(join(ROOT, "dist", "scripts", "start.js")).main();
