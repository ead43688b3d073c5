import { Agent, request as httpRequest } from "node:http";
import { Inject, Injectable, Logger, OnModuleDestroy } from "@nestjs/common";
import {
  Change,
  ChangeBatch,
  ChangeBatchResult,
  EDGE_CHANGES_PATH,
  EDGE_STATUS_PATH,
  EdgeStatus,
  SYNC_SECRET_HEADER,
} from "../../../lua/src/set_backend/contract";
import { edgeSettings } from "../config/settings";
import { MetricsService } from "../metrics/metrics.service";
import type { EdgeSettings } from "../config/settings";

/** What one edge said about one push. */
export interface PushOutcome {
  edge: string;
  confirmed: boolean;
  revision?: number;
  error?: string;
}

export type EdgeStatusOutcome = { edge: string; status: EdgeStatus; error?: undefined } | { edge: string; status?: undefined; error: string };

/**
 * One request to a sync listener with node:http rather than fetch, which
 * spends several times the CPU on each request, reading the whole answer.
 * Rejects on a network error, or after timeoutMs.
 */
function send(
  agent: Agent,
  method: "GET" | "POST",
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const sent = body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) };
    const request = httpRequest(url, { method, agent, headers: sent }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
      response.on("error", fail);
    });
    const timer = setTimeout(() => {
      fail(new Error(`no answer within ${timeoutMs} ms`));
      request.destroy();
    }, timeoutMs);
    function fail(error: Error): void {
      clearTimeout(timer);
      reject(error);
    }
    request.on("error", fail);
    request.end(body);
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Talks to the edges' sync listeners: pushes committed changes, reads status. */
@Injectable()
export class EdgesService implements OnModuleDestroy {
  private readonly logger = new Logger("edges");

  /**
   * Connections to the edges' sync listeners, kept open between pushes, so a
   * write costs no TCP handshake. Idle ones close after 30 s, before the sync
   * listener's keepalive_timeout (75 s) could close them under a push.
   */
  private readonly agent = new Agent({ keepAlive: true, timeout: 30000 });

  constructor(
    @Inject(edgeSettings.KEY) private readonly settings: EdgeSettings,
    private readonly metrics: MetricsService,
  ) {}

  onModuleDestroy(): void {
    this.agent.destroy();
  }

  get edgeUrls(): string[] {
    return this.settings.syncUrls;
  }

  /**
   * Pushes committed changes to every edge in parallel and waits for each to
   * confirm, at most confirmTimeoutMs. Never throws: the changes are already
   * committed, so a failure is reported, not raised, and the edge's own pull
   * brings it up to date.
   */
  async push(previous: number, changes: Change[], timeoutMs = this.settings.confirmTimeoutMs): Promise<PushOutcome[]> {
    const batch: ChangeBatch = { previous, changes };
    const body = JSON.stringify(batch);
    const outcomes = await Promise.all(
      this.settings.syncUrls.map(async (edge) => {
        const started = process.hrtime.bigint();
        const outcome = await this.pushTo(edge, body, timeoutMs);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.metrics.pushDuration.observe({ edge, outcome: outcome.confirmed ? "confirmed" : "failed" }, seconds);
        if (outcome.confirmed) {
          this.metrics.lastConfirmedPush.set({ edge }, Date.now() / 1000);
        }
        return { ...outcome, ms: Math.round(seconds * 1000) };
      }),
    );
    this.logger.log({
      event: "push",
      changes: changes.length,
      first_revision: changes[0]?.revision,
      last_revision: changes.at(-1)?.revision,
      edges: outcomes.map(({ edge, confirmed, ms, error }) => ({ edge, confirmed, ms, ...(error ? { error } : {}) })),
    });
    return outcomes.map(({ ms: _ms, ...outcome }) => outcome);
  }

  private async pushTo(edge: string, body: string, timeoutMs: number): Promise<PushOutcome> {
    try {
      const headers = { "content-type": "application/json", [SYNC_SECRET_HEADER]: this.settings.syncSecret };
      const response = await send(this.agent, "POST", edge + EDGE_CHANGES_PATH, headers, timeoutMs, body);
      if (response.status < 200 || response.status > 299) {
        return this.failed(edge, `edge answered ${response.status}: ${response.text.slice(0, 200)}`);
      }
      const result = JSON.parse(response.text) as ChangeBatchResult;
      if (result.errors.length > 0) {
        return this.failed(edge, `${result.errors.length} change(s) refused, first: ${result.errors[0]}`);
      }
      return { edge, confirmed: true, revision: result.revision };
    } catch (error) {
      return this.failed(edge, messageOf(error));
    }
  }

  private failed(edge: string, error: string): PushOutcome {
    this.logger.warn(`push to ${edge} not confirmed: ${error}`);
    return { edge, confirmed: false, error };
  }

  async statuses(): Promise<EdgeStatusOutcome[]> {
    return Promise.all(
      this.settings.syncUrls.map(async (edge): Promise<EdgeStatusOutcome> => {
        try {
          const response = await send(this.agent, "GET", edge + EDGE_STATUS_PATH, { [SYNC_SECRET_HEADER]: this.settings.syncSecret }, this.settings.confirmTimeoutMs);
          if (response.status !== 200) {
            return { edge, error: `edge answered ${response.status}` };
          }
          return { edge, status: JSON.parse(response.text) as EdgeStatus };
        } catch (error) {
          return { edge, error: messageOf(error) };
        }
      }),
    );
  }
}
