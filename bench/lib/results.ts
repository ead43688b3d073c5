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
  writes?: { latency: WriteSummary; idle: WrkResult[]; underLoad: WrkResult[]; load: WriteSummary[]; ratioPerRound: number[]; cpuRatioPerRound: number[]; writesOnly?: { load: WriteSummary; edgeACpuUsPerWrite: number; edgeBCpuUsPerWrite: number } };
  targets: Target[];
  errors: string[];
  notes: string[];
}
