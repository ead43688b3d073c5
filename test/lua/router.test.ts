import { runLua } from "../helpers/lua";

/** lua/src/set_backend/router.ts under LuaJIT, on a table-backed dict. */
const ENTRIES = [
  { host: "exact.example.com", backends: ["10.0.0.1:80"], revision: 1 },
  { host: "*.example.com", backends: ["10.0.0.2:80"], revision: 2 },
  { host: "*.deep.example.com", backends: ["10.0.0.3:80"], revision: 3 },
  { host: "*.b.c.d.example.com", backends: ["10.0.0.4:80", "10.0.0.5:80"], revision: 4 },
  { host: "deleted.deep.example.com", backends: ["10.0.0.6:80"], revision: 5 },
  { host: "deleted.deep.example.com", revision: 6 },
];

const CASES: Array<[string, string, string | null]> = [
  ["an exact entry is found", "exact.example.com", "10.0.0.1:80"],
  ["a wildcard covers one label below", "x.example.com", "10.0.0.2:80"],
  ["a wildcard covers several labels below", "x.y.z.example.com", "10.0.0.2:80"],
  ["the longest wildcard suffix wins", "x.deep.example.com", "10.0.0.3:80"],
  ["the longest suffix wins at depth", "a.b.c.d.example.com", "10.0.0.4:80 10.0.0.5:80"],
  ["a shorter suffix catches what the longest does not", "a.c.d.example.com", "10.0.0.2:80"],
  ["a wildcard does not cover its own suffix", "example.com", null],
  ["a wildcard does not cover its suffix's parent", "com", null],
  ["a Host written as a wildcard is not a name", "*.example.com", null],
  ["a Host written as a deeper wildcard is not a name", "*.x.example.com", null],
  ["a deleted exact entry (a tombstone) does not hide the wildcard", "deleted.deep.example.com", "10.0.0.3:80"],
  ["an unrelated host misses", "example.org", null],
  ["an empty host misses", "", null],
];

describe("router.lookup", () => {
  const run = runLua("set_backend.router", [
    { module: "set_backend.table", fn: "applyBatch", args: ["$routes", "$meta", 0, ENTRIES] },
    ...CASES.map(([, host]) => ({ fn: "lookup", args: ["$routes", host] })),
  ]);

  it.each(CASES.map((c, i) => [c[0], c, i] as const))("%s", (_name, [, , expected], i) => {
    expect(run.results[i + 1]?.value).toBe(expected);
  });
});

describe("router.wildcardCandidates", () => {
  it.each([
    ["a.b.example.com", ["*.b.example.com", "*.example.com"]],
    ["x.example.com", ["*.example.com"]],
    ["example.com", []],
    ["localhost", []],
  ])("tries %s as %j, longest suffix first", (host, expected) => {
    const { results } = runLua("set_backend.router", [{ fn: "wildcardCandidates", args: [host] }]);
    // cjson writes an empty Lua table as {}.
    expect(results[0]?.value).toEqual(expected.length === 0 ? {} : expected);
  });
});

describe("peers.parsePeers", () => {
  const run = runLua("set_backend.peers", [
    { fn: "parsePeers", args: ["10.0.0.1:80 [::1]:8080 files.example.com:81 localhost:3000", { localhost: "127.0.0.1" }] },
    { fn: "parsePeers", args: ["10.0.0.1:80 bad", {}] },
    { fn: "parsePeers", args: ["", {}] },
  ]);

  it("parses IPv4, IPv6 and names, takes /etc/hosts names as final and marks the others for DNS", () => {
    expect(run.results[0]?.value).toEqual({
      count: 4,
      addresses: ["10.0.0.1", "[::1]", "files.example.com", "127.0.0.1"],
      ports: [80, 8080, 81, 3000],
      keys: ["10.0.0.1:80", "[::1]:8080", "files.example.com:81", "127.0.0.1:3000"],
      dynamic: true,
      isName: [false, false, true, false],
    });
  });
  it("refuses a stored value with an invalid backend", () => {
    expect(run.results[1]).toEqual({ value: null, second: expect.stringContaining("'bad' is invalid") });
  });
  it("refuses an empty stored value", () => {
    expect(run.results[2]).toEqual({ value: null, second: "stored value has no backend" });
  });
});

describe("pages.upstreamFailureStatus", () => {
  it.each([
    ["502", 502],
    ["504", 504],
    ["502, 504", 504],
    ["504, 502", 502],
    ["504 : 502", 502],
    ["", 502],
  ])("reads %j as %i", (upstreamStatus, expected) => {
    const { results } = runLua("set_backend.pages", [{ fn: "upstreamFailureStatus", args: [upstreamStatus] }]);
    expect(results[0]?.value).toBe(expected);
  });
});
