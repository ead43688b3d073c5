import { spawnSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");
const HARNESS = join(ROOT, "test", "lua", "harness.lua");
const BUILD = join(ROOT, "build", "lua");

export interface LuaCall {
  /** Module of this call, when not the run's. */
  module?: string;
  fn: string;
  args: unknown[];
}

export interface LuaCallResult {
  value?: unknown;
  second?: unknown;
  third?: unknown;
  raised?: string;
}

export interface DictEntry {
  value: string | number | boolean;
  flags: number;
}

export interface LuaRun {
  results: LuaCallResult[];
  dicts: { routes: Record<string, DictEntry>; meta: Record<string, DictEntry> };
}

/**
 * Calls functions of a generated Lua module (build/lua, from `npm run build`)
 * under LuaJIT, the VM nginx runs it on, and returns what they returned.
 */
export function runLua(module: string, calls: LuaCall[], options: { routesCapacity?: number } = {}): LuaRun {
  const run = spawnSync(process.env.LUAJIT ?? "luajit", [HARNESS, BUILD], {
    input: JSON.stringify({ module, calls, routesCapacity: options.routesCapacity }),
    encoding: "utf8",
  });
  if (run.error) {
    throw run.error;
  }
  if (run.status !== 0) {
    throw new Error(`luajit failed (${run.status}): ${run.stderr}`);
  }
  return JSON.parse(run.stdout) as LuaRun;
}

/** JSON null from Lua's nil, as the harness writes it. */
export function fromLua(value: unknown): unknown {
  return value === null ? undefined : value;
}
