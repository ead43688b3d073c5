import { runLua } from "../helpers/lua";

/**
 * Snapshots in the column form (contract.SnapshotColumns) under LuaJIT on
 * table-backed dicts: they load exactly as the entries form does, and are
 * checked with the same cheap patterns.
 */
const TABLE = "set_backend.table";
const SNAPSHOT = "set_backend.snapshot";
const push = (previous: number, changes: unknown[]) => ({ module: TABLE, fn: "applyBatch", args: ["$routes", "$meta", previous, changes] });
const columns = (revision: number, hosts: unknown[], backends: unknown[], revisions: unknown[]) => ({
  module: TABLE,
  fn: "loadSnapshotColumns",
  args: ["$routes", "$meta", revision, hosts, backends, revisions],
});
const entries = (revision: number, list: unknown[]) => ({ module: TABLE, fn: "loadSnapshot", args: ["$routes", "$meta", revision, list] });

describe("a snapshot in the column form", () => {
  it("leaves the same table as the entries form, pushed newer entries kept and absent ones removed", () => {
    const before = [push(0, [
      { host: "gone.com", backends: ["10.0.0.1:80"], revision: 2 },
      { host: "kept.com", backends: ["10.0.0.1:80"], revision: 3 },
      { host: "newer.com", backends: ["10.0.0.9:80"], revision: 12 },
    ])];
    const viaEntries = runLua(TABLE, [
      ...before,
      entries(10, [
        { host: "kept.com", backends: ["10.0.0.2:80", "[::1]:81"], revision: 8 },
        { host: "*.wild.com", backends: ["files.example:82"], revision: 9 },
        { host: "newer.com", backends: ["10.0.0.3:80"], revision: 7 },
      ]),
    ]);
    const viaColumns = runLua(TABLE, [
      ...before,
      columns(10, ["kept.com", "*.wild.com", "newer.com"], ["10.0.0.2:80 [::1]:81", "files.example:82", "10.0.0.3:80"], [8, 9, 7]),
    ]);
    expect(viaColumns.results[1]?.value).toEqual(viaEntries.results[1]?.value);
    expect(viaColumns.results[1]?.value).toMatchObject({ applied: 2, skipped: 1, errors: {}, revision: 12 });
    expect(viaColumns.dicts).toEqual(viaEntries.dicts);
    expect(viaColumns.dicts.routes["newer.com"]).toEqual({ value: "10.0.0.9:80", flags: 12 });
    expect(viaColumns.dicts.routes["gone.com"]).toBeUndefined();
  });

  it.each([
    ["a host in upper case", "Upper.com", "10.0.0.1:80", 1, "is not a normalized host"],
    ["a host with a space", "a b.com", "10.0.0.1:80", 1, "is not a normalized host"],
    ["a host that is not a string", 7, "10.0.0.1:80", 1, "is not a normalized host"],
    ["a backend without a port", "a.com", "10.0.0.1", 1, "bad backend"],
    ["a second backend without a port", "a.com", "10.0.0.1:80 10.0.0.2", 1, "bad backend"],
    ["two spaces between backends", "a.com", "10.0.0.1:80  10.0.0.2:80", 1, "separated by single spaces"],
    ["no backend", "a.com", "", 1, "separated by single spaces"],
    ["17 backends", "a.com", Array.from({ length: 17 }, (_, i) => `10.0.0.${i}:80`).join(" "), 1, "not 1 to 16"],
    ["a revision of 0", "a.com", "10.0.0.1:80", 0, "no valid revision"],
    ["a fractional revision", "a.com", "10.0.0.1:80", 1.5, "no valid revision"],
  ])("refuses %s and keeps the table's revision", (_name, host, backends, revision, message) => {
    const { results } = runLua(TABLE, [columns(5, [host, "ok.com"], [backends, "10.0.0.1:80"], [revision, 2])]);
    const result = results[0]?.value as { errors: string[]; revision: number };
    expect(result.errors).toEqual([expect.stringContaining(message)]);
    expect(result.revision).toBe(0);
  });

  it("refuses columns of different lengths and stores nothing", () => {
    const { results, dicts } = runLua(TABLE, [columns(5, ["a.com", "b.com"], ["10.0.0.1:80"], [1, 2])]);
    expect((results[0]?.value as { errors: string[] }).errors).toEqual([expect.stringContaining("differ in length")]);
    expect(dicts.routes).toEqual({});
  });
});

describe("decoding a snapshot body", () => {
  it.each([
    ["the entries form", '{"revision":3,"entries":[{"host":"a.com","backends":["10.0.0.1:80"],"revision":3}]}', { form: "entries", revision: 3 }],
    ["the column form", '{"revision":4,"hosts":["a.com"],"backends":["10.0.0.1:80"],"revisions":[4]}', { form: "columns", revision: 4 }],
    ["an empty table in the column form", '{"revision":0,"hosts":[],"backends":[],"revisions":[]}', { form: "columns", revision: 0 }],
  ])("takes %s", (_name, body, expected) => {
    const { results } = runLua(SNAPSHOT, [{ fn: "decodeSnapshot", args: [body] }]);
    expect(results[0]?.value).toMatchObject(expected);
  });

  it.each([
    ["text that is not JSON", "not json", "not a JSON object"],
    ["no revision", '{"entries":[]}', "no valid revision"],
    ["a negative revision", '{"revision":-1,"hosts":[],"backends":[],"revisions":[]}', "no valid revision"],
    ["a fractional revision", '{"revision":5.5,"entries":[]}', "no valid revision"],
    ["columns without revisions", '{"revision":1,"hosts":[],"backends":[]}', "neither entries nor hosts"],
  ])("refuses %s", (_name, body, message) => {
    const { results } = runLua(SNAPSHOT, [{ fn: "decodeSnapshot", args: [body] }]);
    expect(results[0]?.value).toBeNull();
    expect(results[0]?.second).toEqual(expect.stringContaining(message));
  });
});
