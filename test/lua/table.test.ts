import { runLua } from "../helpers/lua";

/**
 * The routing table logic (lua/src/set_backend/table.ts) on a table-backed
 * dict under LuaJIT: revisions decide, full dicts report, snapshots replace.
 */
const TABLE = "set_backend.table";

describe("applying pushed changes", () => {
  it("stores a change with its revision as the entry's flags and moves the table revision", () => {
    const { results, dicts } = runLua(TABLE, [
      { fn: "applyBatch", args: ["$routes", "$meta", [{ host: "a.com", backends: ["10.0.0.1:80"], revision: 3 }]] },
    ]);
    expect(results[0]?.value).toEqual({ revision: 3, applied: 1, skipped: 0, errors: {} });
    expect(dicts.routes["a.com"]).toEqual({ value: "10.0.0.1:80", flags: 3 });
    expect(dicts.meta["revision"]?.value).toBe(3);
  });

  it("stores several backends as one value, in order", () => {
    const { dicts } = runLua(TABLE, [
      { fn: "applyBatch", args: ["$routes", "$meta", [{ host: "a.com", backends: ["10.0.0.1:80", "[::1]:81", "files.example:82"], revision: 1 }]] },
    ]);
    expect(dicts.routes["a.com"]).toEqual({ value: "10.0.0.1:80 [::1]:81 files.example:82", flags: 1 });
  });

  it("never rolls an entry back when an older change arrives after a newer one", () => {
    const { results, dicts } = runLua(TABLE, [
      { fn: "applyBatch", args: ["$routes", "$meta", [{ host: "a.com", backends: ["10.0.0.2:80"], revision: 7 }]] },
      { fn: "applyBatch", args: ["$routes", "$meta", [{ host: "a.com", backends: ["10.0.0.1:80"], revision: 5 }]] },
      { fn: "applyBatch", args: ["$routes", "$meta", [{ host: "a.com", backends: ["10.0.0.1:80"], revision: 7 }]] },
    ]);
    expect(results[1]?.value).toMatchObject({ applied: 0, skipped: 1, revision: 7 });
    expect(results[2]?.value).toMatchObject({ applied: 0, skipped: 1, revision: 7 });
    expect(dicts.routes["a.com"]).toEqual({ value: "10.0.0.2:80", flags: 7 });
  });

  it("deletes a host on a change without a backend", () => {
    const { dicts } = runLua(TABLE, [
      { fn: "applyBatch", args: ["$routes", "$meta", [{ host: "a.com", backends: ["10.0.0.1:80"], revision: 1 }]] },
      { fn: "applyBatch", args: ["$routes", "$meta", [{ host: "a.com", revision: 2 }]] },
    ]);
    expect(dicts.routes["a.com"]).toBeUndefined();
    expect(dicts.meta["revision"]?.value).toBe(2);
  });

  it("refuses malformed changes one by one and applies the valid ones", () => {
    const { results, dicts } = runLua(TABLE, [
      {
        fn: "applyBatch",
        args: [
          "$routes",
          "$meta",
          [
            { host: "Upper.com", backends: ["10.0.0.1:80"], revision: 1 },
            { host: "b.com", backends: ["no-port"], revision: 2 },
            { host: "e.com", backend: "10.0.0.1:80", revision: 3 },
            { host: "c.com", backends: ["10.0.0.1:80"], revision: 0 },
            { host: "d.com", backends: ["10.0.0.1:80"], revision: 1.5 },
            { backends: ["10.0.0.1:80"], revision: 4 },
            "not an object",
            { host: "ok.com", backends: ["10.0.0.1:80"], revision: 6 },
          ],
        ],
      },
    ]);
    const result = results[0]?.value as { applied: number; errors: string[]; revision: number };
    expect(result.applied).toBe(1);
    expect(result.errors).toHaveLength(7);
    expect(result.errors[0]).toContain("not a normalized host");
    expect(result.errors[1]).toContain("bad backend");
    // A field the edge does not know (an older or newer control plane) is refused, not ignored.
    expect(result.errors[2]).toContain("unknown field 'backend'");
    // A batch with refused changes must not claim the table is current.
    expect(result.revision).toBe(0);
    expect(Object.keys(dicts.routes)).toEqual(["ok.com"]);
  });

  it("reports a full dict as an error instead of evicting", () => {
    const { results, dicts } = runLua(
      TABLE,
      [
        {
          fn: "applyBatch",
          args: [
            "$routes",
            "$meta",
            [
              { host: "a.com", backends: ["10.0.0.1:80"], revision: 1 },
              { host: "b.com", backends: ["10.0.0.1:80"], revision: 2 },
              { host: "c.com", backends: ["10.0.0.1:80"], revision: 3 },
            ],
          ],
        },
      ],
      { routesCapacity: 2 },
    );
    const result = results[0]?.value as { applied: number; errors: string[]; revision: number };
    expect(result.applied).toBe(2);
    expect(result.errors).toEqual([expect.stringContaining("no memory")]);
    expect(Object.keys(dicts.routes).sort()).toEqual(["a.com", "b.com"]);
    expect(result.revision).toBe(0);
  });
});

describe("loading a snapshot", () => {
  it("replaces the table, keeping entries pushed after the snapshot was taken", () => {
    const { results, dicts } = runLua(TABLE, [
      {
        fn: "applyBatch",
        args: [
          "$routes",
          "$meta",
          [
            { host: "gone.com", backends: ["10.0.0.1:80"], revision: 2 },
            { host: "kept.com", backends: ["10.0.0.1:80"], revision: 3 },
            { host: "newer.com", backends: ["10.0.0.9:80"], revision: 12 },
          ],
        ],
      },
      {
        fn: "loadSnapshot",
        args: [
          "$routes",
          "$meta",
          10,
          [
            { host: "kept.com", backends: ["10.0.0.2:80"], revision: 8 },
            { host: "added.com", backends: ["10.0.0.3:80"], revision: 9 },
          ],
        ],
      },
    ]);
    expect(results[1]?.value).toMatchObject({ errors: {}, revision: 12 });
    expect(dicts.routes).toEqual({
      "kept.com": { value: "10.0.0.2:80", flags: 8 },
      "added.com": { value: "10.0.0.3:80", flags: 9 },
      "newer.com": { value: "10.0.0.9:80", flags: 12 },
    });
  });

  it("loads an empty snapshot as an empty, loaded table at its revision", () => {
    const { results, dicts } = runLua(TABLE, [{ fn: "loadSnapshot", args: ["$routes", "$meta", 4, []] }]);
    expect(results[0]?.value).toMatchObject({ revision: 4, applied: 0 });
    expect(dicts.routes).toEqual({});
    expect(dicts.meta["revision"]?.value).toBe(4);
  });
});
