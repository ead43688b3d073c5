/** The settings of a full or a quick run, and which CPU runs what. */

/** CPU of the nginx under test; everything else runs on the other one. */
export const SERVER_CPU = 0;
export const LOAD_CPU = 1;

export interface Settings {
  mode: "full" | "quick";
  rounds: number;
  durationS: number;
  warmupS: number;
  /** Enough concurrent connections to keep one nginx worker saturated. */
  connections: number;
  /** The unloaded latency runs: one connection, so no queueing in the figure. */
  latencyDurationS: number;
  /** Table size for part 1 (and the map of variant b). */
  tableSize: number;
  sizes: [number, number, number];
  coldStartSize: number;
  writeLatencyCount: number;
  writeRatePerSec: number;
  writeRounds: number;
  bulkImportSize: number;
  /** Routes dict of every edge: room for the largest table (about 128 B an entry, so 1M fits in 256m with margin). */
  dictSize: string;
}

export function settingsFor(quick: boolean): Settings {
  if (quick) {
    return {
      mode: "quick",
      rounds: 2,
      durationS: 3,
      warmupS: 1,
      connections: 32,
      latencyDurationS: 2,
      tableSize: 10_000,
      sizes: [10, 10_000, 100_000],
      coldStartSize: 100_000,
      writeLatencyCount: 200,
      writeRatePerSec: 500,
      writeRounds: 2,
      bulkImportSize: 10_000,
      dictSize: "64m",
    };
  }
  return {
    mode: "full",
    rounds: 4,
    durationS: 6,
    warmupS: 1,
    connections: 32,
    latencyDurationS: 3,
    tableSize: 100_000,
    sizes: [10, 100_000, 1_000_000],
    coldStartSize: 1_000_000,
    writeLatencyCount: 1000,
    writeRatePerSec: 500,
    writeRounds: 3,
    bulkImportSize: 100_000,
    dictSize: "256m",
  };
}
