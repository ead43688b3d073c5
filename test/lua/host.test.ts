import { BACKEND_CASES, HOST_CASES } from "../cases/hosts";
import { fromLua, runLua } from "../helpers/lua";

/** Host and backend rules, run as the generated Lua under LuaJIT. */
describe("host rules in the generated Lua", () => {
  const run = runLua(
    "set_backend.host",
    HOST_CASES.map((c) => ({ fn: "normalizeHost", args: [c.input, c.wildcard ?? false] })),
  );

  it.each(HOST_CASES.map((c, i) => [c.name, c, i] as const))("%s", (_name, c, i) => {
    const result = run.results[i]?.value as { host?: string; error?: string };
    if (c.host !== undefined) {
      expect(result).toEqual({ host: c.host });
    } else {
      expect(fromLua(result.host)).toBeUndefined();
      expect(result.error).toEqual(expect.stringContaining(c.error ?? ""));
    }
  });
});

describe("backend rules in the generated Lua", () => {
  const run = runLua(
    "set_backend.backend",
    BACKEND_CASES.map((c) => ({ fn: "parseBackend", args: [c.input] })),
  );

  it.each(BACKEND_CASES.map((c, i) => [c.name, c, i] as const))("%s", (_name, c, i) => {
    const result = run.results[i]?.value as { host?: string; port?: number; kind?: string; error?: string };
    if (c.backend !== undefined) {
      expect(result.error).toBeUndefined();
      expect(`${result.host}:${result.port}`).toBe(c.backend);
      expect(result.kind).toBe(c.kind);
    } else {
      expect(result.host).toBeUndefined();
      expect(typeof result.error).toBe("string");
      expect(result.error).toEqual(expect.stringContaining(c.error ?? ""));
    }
  });
});
