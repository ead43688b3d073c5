// `npm start`: installs what is missing, builds, then runs dist/scripts/start.js.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ensureNodeModules, ensureSystemPackages, ROOT } from "./setup.mjs";

ensureSystemPackages();
ensureNodeModules();
const build = spawnSync("npm", ["run", "--silent", "build"], { stdio: "inherit", cwd: ROOT });
if (build.status !== 0) {
  process.exit(build.status ?? 1);
}
const require = createRequire(import.meta.url);
await require(join(ROOT, "dist", "scripts", "start.js")).main();
