/**
 * Writes the edge's config without starting nginx, for installations that
 * run nginx themselves (a system service):
 *
 *   node dist/scripts/render-edge.js
 *
 * writes <EDGE_PREFIX>/conf/nginx.conf and the set_backend_http.conf it
 * includes, for `nginx -p <EDGE_PREFIX> -c conf/nginx.conf`. Settings come
 * from the environment, with the same names and defaults as `npm start`:
 * EDGE_HOST, EDGE_PORT, EDGE_SYNC_HOST, EDGE_SYNC_PORT, CONTROL_PLANE_ADDRESS,
 * ADMIN_HOST, ROUTES_DICT_SIZE, EDGE_WORKERS, EDGE_PREFIX,
 * PROXY_CONNECT_TIMEOUT, PROXY_READ_TIMEOUT. The sync secret is not written
 * into the files: nginx passes SET_BACKEND_SYNC_SECRET from its own
 * environment to Lua.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EdgeConfig, renderNginxConf } from "./lib/edge";

function env(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : value;
}

const config: EdgeConfig = {
  prefix: env("EDGE_PREFIX", "/var/lib/set-backend/edge"),
  listen: `${env("EDGE_HOST", "127.0.0.1")}:${env("EDGE_PORT", "8080")}`,
  syncListen: `${env("EDGE_SYNC_HOST", "127.0.0.1")}:${env("EDGE_SYNC_PORT", "8082")}`,
  controlPlaneAddress: env("CONTROL_PLANE_ADDRESS", "127.0.0.1:8081"),
  adminHost: env("ADMIN_HOST", "l.io"),
  routesDictSize: env("ROUTES_DICT_SIZE", "64m"),
  proxyConnectTimeout: env("PROXY_CONNECT_TIMEOUT", "5s"),
  proxyReadTimeout: env("PROXY_READ_TIMEOUT", "60s"),
  workerProcesses: process.env.EDGE_WORKERS ? Number(process.env.EDGE_WORKERS) : "auto",
};
const confDir = join(config.prefix, "conf");
mkdirSync(confDir, { recursive: true });
for (const [file, template] of [
  ["set_backend_http.conf", "set_backend_http.conf.template"],
  ["nginx.conf", "nginx.conf.template"],
] as const) {
  writeFileSync(join(confDir, file), renderNginxConf(config, template));
  console.log(`wrote ${join(confDir, file)}`);
}
