import { runLua } from "../helpers/lua";

/**
 * The routing table logic (lua/src/set_backend/table.ts) on a table-backed
 * dict under LuaJIT: revisions decide, gaps are noticed, deletes leave
 * tombstones, full dicts report, snapshots replace.
 */
const TABLE = "set_backend.table";
const batch = (previous: number, changes: unknown[]) => ({ fn: "applyBatch", args: ["$routes", "$meta", previous, changes] });
const snapshot = (revision: number, entries: unknown[]) => ({ fn: "loadSnapshot", args: ["$routes", "$meta", revision, entries] });
const ip = (n: number) => [`10.0.0.${n}:80`];

describe("applying pushed changes", () => {
  it("stores a change with its revision as the entry's flags, and moves the table revision when it follows it", () => {
    const { results, dicts } = runLua(TABLE, [batch(0, [{ host: "a.com", backends: ip(1), revision: 3 }])]);
    expect(results[0]?.value).toEqual({ revision: 3, applied: 1, skipped: 0, errors: {}, contiguous: true });
    expect(dicts.routes["a.com"]).toEqual({ value: "10.0.0.1:80", flags: 3 });
    expect(dicts.meta["revision"]?.value).toBe(3);
    expect(dicts.meta["entries"]?.value).toBe(1);
  });

  it("stores several backends as one value, in order", () => {
    const { dicts } = runLua(TABLE, [batch(0, [{ host: "a.com", backends: ["10.0.0.1:80", "[::1]:81", "files.example:82"], revision: 1 }])]);
    expect(dicts.routes["a.com"]).toEqual({ value: "10.0.0.1:80 [::1]:81 files.example:82", flags: 1 });
  });

  it("never rolls an entry back when an older or duplicated change arrives after a newer one", () => {
    const { results, dicts } = runLua(TABLE, [
      batch(6, [{ host: "a.com", backends: ip(2), revision: 7 }]),
      batch(4, [{ host: "a.com", backends: ip(1), revision: 5 }]),
      batch(6, [{ host: "a.com", backends: ip(1), revision: 7 }]),
    ]);
    expect(results[1]?.value).toMatchObject({ applied: 0, skipped: 1 });
    expect(results[2]?.value).toMatchObject({ applied: 0, skipped: 1 });
    expect(dicts.routes["a.com"]).toEqual({ value: "10.0.0.2:80", flags: 7 });
  });

  it("deletes with a tombstone, so an older change arriving late does not bring the host back", () => {
    const { dicts } = runLua(TABLE, [
      batch(0, [{ host: "a.com", backends: ip(1), revision: 1 }]),
      batch(2, [{ host: "a.com", revision: 3 }]),
      batch(1, [{ host: "a.com", backends: ip(9), revision: 2 }]),
    ]);
    expect(dicts.routes["a.com"]).toEqual({ value: "", flags: 3 });
    expect(dicts.meta["entries"]?.value).toBe(0);
  });

  it("applies a batch that follows a gap, but keeps the revision until the gap is filled", () => {
    const { results } = runLua(TABLE, [
      batch(0, [{ host: "a.com", backends: ip(1), revision: 3 }]),
      // Revision 4 and 5 were lost; 6 arrives.
      batch(5, [{ host: "c.com", backends: ip(3), revision: 6 }]),
      // A pull fills the gap.
      batch(3, [
        { host: "b.com", backends: ip(2), revision: 4 },
        { host: "a.com", revision: 5 },
      ]),
      // The pull's next page brings 6 again: skipped, and the revision reaches it.
      batch(5, [{ host: "c.com", backends: ip(3), revision: 6 }]),
    ]);
    expect(results[1]?.value).toMatchObject({ applied: 1, contiguous: false, revision: 3 });
    expect(results[2]?.value).toMatchObject({ applied: 2, contiguous: true, revision: 5 });
    expect(results[3]?.value).toMatchObject({ applied: 0, skipped: 1, contiguous: true, revision: 6 });
  });

  it("refuses malformed changes one by one, applies the valid ones, and keeps the revision", () => {
    const { results, dicts } = runLua(TABLE, [
      batch(0, [
        { host: "Upper.com", backends: ip(1), revision: 1 },
        { host: "b.com", backends: ["no-port"], revision: 2 },
        { host: "e.com", backend: "10.0.0.1:80", revision: 3 },
        { host: "c.com", backends: ip(1), revision: 0 },
        { host: "d.com", backends: ip(1), revision: 1.5 },
        { host: "f.com", backends: [], revision: 4 },
        { backends: ip(1), revision: 4 },
        "not an object",
        { host: "ok.com", backends: ip(1), revision: 6 },
      ]),
    ]);
    const result = results[0]?.value as { applied: number; errors: string[]; revision: number };
    expect(result.applied).toBe(1);
    expect(result.errors).toHaveLength(8);
    expect(result.errors[0]).toContain("not a normalized host");
    expect(result.errors[1]).toContain("bad backend");
    // A field the edge does not know (an older or newer control plane) is refused, not ignored.
    expect(result.errors[2]).toContain("unknown field 'backend'");
    expect(result.errors[5]).toContain("0 backends");
    // A batch with refused changes must not claim the table is current.
    expect(result.revision).toBe(0);
    expect(Object.keys(dicts.routes)).toEqual(["ok.com"]);
  });

  it("reports a full dict as an error, flags it, and evicts nothing", () => {
    const { results, dicts } = runLua(
      TABLE,
      [
        batch(0, [
          { host: "a.com", backends: ip(1), revision: 1 },
          { host: "b.com", backends: ip(1), revision: 2 },
          { host: "c.com", backends: ip(1), revision: 3 },
        ]),
      ],
      { routesCapacity: 2 },
    );
    const result = results[0]?.value as { applied: number; errors: string[]; revision: number };
    expect(result.applied).toBe(2);
    expect(result.errors).toEqual([expect.stringContaining("no memory")]);
    expect(Object.keys(dicts.routes).sort()).toEqual(["a.com", "b.com"]);
    expect(result.revision).toBe(0);
    expect(dicts.meta["dict_full"]?.value).toBe(true);
  });
});

describe("loading a snapshot", () => {
  it("replaces the table, keeping what was pushed after the snapshot was taken", () => {
    const { results, dicts } = runLua(TABLE, [
      batch(0, [
        { host: "gone.com", backends: ip(1), revision: 2 },
        { host: "kept.com", backends: ip(1), revision: 3 },
        { host: "newer.com", backends: ip(9), revision: 12 },
      ]),
      snapshot(10, [
        { host: "kept.com", backends: ip(2), revision: 8 },
        { host: "added.com", backends: ip(3), revision: 9 },
      ]),
    ]);
    expect(results[1]?.value).toMatchObject({ errors: {}, revision: 12 });
    expect(dicts.routes).toEqual({
      "kept.com": { value: "10.0.0.2:80", flags: 8 },
      "added.com": { value: "10.0.0.3:80", flags: 9 },
      "newer.com": { value: "10.0.0.9:80", flags: 12 },
    });
    expect(dicts.meta["entries"]?.value).toBe(3);
  });

  it("keeps a delete pushed after the snapshot was taken, even into a table with no live entry", () => {
    const { dicts } = runLua(TABLE, [
      batch(0, [{ host: "deleted.com", revision: 12 }]),
      snapshot(10, [
        { host: "deleted.com", backends: ip(1), revision: 8 },
        { host: "other.com", backends: ip(2), revision: 9 },
      ]),
    ]);
    expect(dicts.routes["deleted.com"]).toEqual({ value: "", flags: 12 });
    expect(dicts.routes["other.com"]).toEqual({ value: "10.0.0.2:80", flags: 9 });
    expect(dicts.meta["entries"]?.value).toBe(1);
  });

  it("loads a snapshot into an empty table by adding each entry, with the same result", () => {
    const { results, dicts } = runLua(TABLE, [
      snapshot(9, [
        { host: "a.com", backends: ip(1), revision: 4 },
        { host: "b.com", backends: ip(2), revision: 9 },
      ]),
    ]);
    expect(results[0]?.value).toMatchObject({ applied: 2, skipped: 0, errors: {}, revision: 9 });
    expect(dicts.routes).toEqual({ "a.com": { value: "10.0.0.1:80", flags: 4 }, "b.com": { value: "10.0.0.2:80", flags: 9 } });
    expect(dicts.meta["entries"]?.value).toBe(2);
  });

  it("keeps the newest of a host a snapshot repeats, even when loading into an empty table", () => {
    const { results, dicts } = runLua(TABLE, [
      snapshot(9, [
        { host: "a.com", backends: ip(9), revision: 9 },
        { host: "a.com", backends: ip(5), revision: 5 },
        { host: "b.com", backends: ip(2), revision: 2 },
        { host: "b.com", backends: ip(3), revision: 3 },
      ]),
    ]);
    expect(results[0]?.value).toMatchObject({ applied: 3, skipped: 1, errors: {} });
    expect(dicts.routes).toEqual({ "a.com": { value: "10.0.0.9:80", flags: 9 }, "b.com": { value: "10.0.0.3:80", flags: 3 } });
    expect(dicts.meta["entries"]?.value).toBe(2);
  });

  it("checks a snapshot's entries with cheap patterns: wrong case, bad characters and a missing port are still refused", () => {
    const { results, dicts } = runLua(TABLE, [
      snapshot(9, [
        { host: "Upper.com", backends: ip(1), revision: 1 },
        { host: "a b.com", backends: ip(1), revision: 2 },
        { host: "ok.com", backends: ["10.0.0.1"], revision: 3 },
        { host: "ok.com", backends: ip(1), revision: 4, extra: true },
      ]),
    ]);
    expect((results[0]?.value as { errors: string[] }).errors).toEqual([
      expect.stringContaining("not a normalized host"),
      expect.stringContaining("not a normalized host"),
      expect.stringContaining("not host:port"),
      expect.stringContaining("unknown field 'extra'"),
    ]);
    expect(dicts.routes).toEqual({});
  });

  it("loads an empty snapshot as an empty table at its revision", () => {
    const { results, dicts } = runLua(TABLE, [snapshot(4, [])]);
    expect(results[0]?.value).toMatchObject({ revision: 4, applied: 0 });
    expect(dicts.routes).toEqual({});
    expect(dicts.meta["revision"]?.value).toBe(4);
  });
});
