/** What a run found, as written to bench/results/latest.json. */
import { WriteSummary } from "./control-plane";
import { MachineInfo } from "./machine";
import { Settings } from "./settings";
import { WrkResult } from "./wrk";

export interface VariantRuns {
  key: string;
  label: string;
  loaded: WrkResult[];
  unloaded: WrkResult[];
}

/** Writes with no wrk traffic: what one write costs each process, in µs of CPU. */
export interface WritesOnly {
  load: WriteSummary;
  /** Edge A's worker: proxies the API call and applies the push (CPU 0). */
  edgeACpuUsPerWrite: number;
  /** Edge B's worker: applies the push (CPU 1, the load core). */
  edgeBCpuUsPerWrite: number;
  /** The control plane's process (CPU 1); absent in results from before it was measured. */
  controlPlaneCpuUsPerWrite?: number;
  /** Postgres, all its processes (CPU 1). */
  postgresCpuUsPerWrite?: number;
  /** This script, sending the writes (CPU 1). */
  writerCpuUsPerWrite?: number;
}

export interface Target {
  id: string;
  measure: string;
  target: string;
  measured: string;
  met: boolean | null;
  note?: string;
}

export interface Results {
  command: string;
  date: string;
  machine: MachineInfo;
  loadAverageAfter?: string;
  settings: Settings;
  durationS?: number;
  variants: VariantRuns[];
  ratios: Record<string, { perRound: number[]; median: number }>;
  memory?: { entries: number; usedBytesEmpty: number; usedBytesLarge: number; bytesPerEntry: number; capacity: number };
  edgeLoadMsFromStub: Record<string, number>;
  coldStart?: { entries: number; loadMs: number[]; verified: string };
  diskStart?: { entries: number; loadMs: number; source: string; revision: number; expectedRevision: number };
  bulkImport?: { entries: number; ms: number; status: number; lagging: string | null; revision: number; edgeRevisions: number[]; bodyBytes: number };
  writes?: { latency: WriteSummary; idle: WrkResult[]; underLoad: WrkResult[]; load: WriteSummary[]; ratioPerRound: number[]; cpuRatioPerRound: number[]; writesOnly?: WritesOnly };
  targets: Target[];
  errors: string[];
  notes: string[];
}
