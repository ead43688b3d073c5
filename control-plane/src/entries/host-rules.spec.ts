import { BACKEND_CASES, HOST_CASES } from "../../../test/cases/hosts";
import { checkBackend, checkHost } from "./host-rules";

/**
 * The API's checks, held to the same table as the generated Lua
 * (test/lua/host.test.ts). Entries may be wildcards, so the API follows the
 * cases written for a context that allows them, and every case without one.
 */
describe("checkHost", () => {
  const apiCases = HOST_CASES.filter((c) => c.wildcard === true || !c.input.includes("*"));
  it.each(apiCases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const result = checkHost(c.input);
    if (c.host !== undefined) {
      expect(result).toEqual({ value: c.host });
    } else {
      expect(result.value).toBeUndefined();
      expect(result.error).toEqual(expect.stringContaining(c.error ?? ""));
    }
  });

  it.each([
    ["a Unicode name becomes punycode", "Bücher.Example", "xn--bcher-kva.example"],
    ["a Unicode name keeps its port stripped", "bücher.example:8080", "xn--bcher-kva.example"],
    ["a Unicode name loses one trailing dot", "bücher.example.", "xn--bcher-kva.example"],
    ["an already-punycode name stays", "xn--bcher-kva.example", "xn--bcher-kva.example"],
  ])("%s", (_name, input, expected) => {
    expect(checkHost(input)).toEqual({ value: expected });
  });

  it("refuses Unicode that is not a valid name", () => {
    expect(checkHost("a\u00a0b.example").error).toBeDefined();
    expect(checkHost("bücher.example/x").error).toBeDefined();
  });
});

describe("checkBackend", () => {
  it.each(BACKEND_CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const result = checkBackend(c.input);
    if (c.backend !== undefined) {
      expect(result).toEqual({ value: c.backend });
    } else {
      expect(result.value).toBeUndefined();
      expect(result.error).toEqual(expect.stringContaining(c.error ?? ""));
    }
  });
});
