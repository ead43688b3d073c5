import { runLua } from "../helpers/lua";

/**
 * The change feed behind the workers' route caches
 * (lua/src/set_backend/change_feed.ts, fed by table.ts) under LuaJIT on
 * table-backed dicts: a worker learns which hosts changed, or that it must
 * drop everything, and never keeps a host that changed.
 */
const TABLE = "set_backend.table";
const FEED = "set_backend.change_feed";
const RING = 1024;
const batch = (previous: number, changes: unknown[]) => ({ module: TABLE, fn: "applyBatch", args: ["$routes", "$meta", previous, changes] });
const seq = () => ({ module: FEED, fn: "changeSeq", args: ["$meta"] });
const changed = (seen: number, current: number) => ({ module: FEED, fn: "changedHosts", args: ["$meta", seen, current] });

describe("the change feed for the route caches", () => {
  it("numbers every applied change and names its host", () => {
    const { results } = runLua(TABLE, [
      batch(0, [
        { host: "a.com", backends: ["10.0.0.1:80"], revision: 1 },
        { host: "b.com", backends: ["10.0.0.2:80"], revision: 2 },
      ]),
      seq(),
      changed(0, 2),
      changed(1, 2),
      batch(2, [{ host: "a.com", revision: 3 }]),
      changed(2, 3),
    ]);
    expect(results[1]?.value).toBe(2);
    expect(results[2]?.value).toEqual(["a.com", "b.com"]);
    expect(results[3]?.value).toEqual(["b.com"]);
    expect(results[5]?.value).toEqual(["a.com"]);
  });

  it("does not count a skipped (stale) change", () => {
    const { results } = runLua(TABLE, [
      batch(0, [{ host: "a.com", backends: ["10.0.0.1:80"], revision: 5 }]),
      batch(0, [{ host: "a.com", backends: ["10.0.0.9:80"], revision: 4 }]),
      seq(),
    ]);
    expect(results[2]?.value).toBe(1);
  });

  it("makes readers drop everything when a wildcard changed", () => {
    const { results } = runLua(TABLE, [
      batch(0, [{ host: "a.com", backends: ["10.0.0.1:80"], revision: 1 }]),
      batch(1, [{ host: "*.example.com", backends: ["10.0.0.2:80"], revision: 2 }]),
      changed(0, 2),
      changed(0, 1),
    ]);
    expect(results[2]?.value).toBeNull();
    expect(results[3]?.value).toEqual(["a.com"]);
  });

  it("makes readers drop everything when they fell more than the ring behind, or the count went back", () => {
    const changes = Array.from({ length: RING + 1 }, (_, i) => ({ host: `h${i}.com`, backends: ["10.0.0.1:80"], revision: i + 1 }));
    const { results } = runLua(TABLE, [batch(0, changes), changed(0, RING + 1), changed(1, RING + 1), changed(RING + 1, 3)]);
    expect(results[1]?.value).toBeNull();
    expect((results[2]?.value as string[]).length).toBe(RING);
    expect(results[3]?.value).toBeNull();
  });

  it("makes readers drop everything when a slot was overwritten by a later change", () => {
    const changes = Array.from({ length: RING + 2 }, (_, i) => ({ host: `h${i}.com`, backends: ["10.0.0.1:80"], revision: i + 1 }));
    // Slot of change 2 now holds change RING + 2: a reader at 1 asking up to RING + 1 must not trust it.
    const { results } = runLua(TABLE, [batch(0, changes), changed(1, RING + 1)]);
    expect(results[1]?.value).toBeNull();
  });

  it("moves the count past the ring when a snapshot is loaded, so every cache is dropped", () => {
    const { results } = runLua(TABLE, [
      batch(0, [{ host: "a.com", backends: ["10.0.0.1:80"], revision: 1 }]),
      { module: TABLE, fn: "loadSnapshot", args: ["$routes", "$meta", 5, [{ host: "b.com", backends: ["10.0.0.2:80"], revision: 5 }]] },
      seq(),
      changed(1, 1 + RING + 1),
    ]);
    expect(results[2]?.value).toBeGreaterThan(1 + RING);
    expect(results[3]?.value).toBeNull();
  });
});
