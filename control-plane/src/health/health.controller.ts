import { Controller, Get, HttpCode, Res } from "@nestjs/common";
import type { Response } from "express";
import { Public } from "../auth/public.decorator";
import { EdgesService } from "../edges/edges.service";
import { EntriesService } from "../entries/entries.service";

interface EdgeReadiness {
  edge: string;
  ready: boolean;
  revision?: number;
  source?: string;
  error?: string;
}

interface Readiness {
  status: "ready" | "not_ready";
  database: { up: boolean; revision?: number; error?: string };
  edges: EdgeReadiness[];
}

@Controller()
export class HealthController {
  constructor(
    private readonly entries: EntriesService,
    private readonly edges: EdgesService,
  ) {}

  /** Liveness: the process answers. */
  @Public()
  @Get("healthz")
  @HttpCode(200)
  healthz(): { status: "ok" } {
    return { status: "ok" };
  }

  /**
   * Readiness: Postgres answers, and every configured edge has loaded a table
   * at least as new as the database's revision. 503 with the reason otherwise.
   */
  @Public()
  @Get("readyz")
  async readyz(@Res({ passthrough: true }) response: Response): Promise<Readiness> {
    let database: Readiness["database"];
    try {
      database = { up: true, revision: await this.entries.currentRevision() };
    } catch (error) {
      database = { up: false, error: error instanceof Error ? error.message : String(error) };
    }
    const edges = (await this.edges.statuses()).map((outcome): EdgeReadiness => {
      if (outcome.status === undefined) {
        return { edge: outcome.edge, ready: false, error: outcome.error };
      }
      const { revision, loaded, source } = outcome.status;
      const current = database.revision === undefined || revision >= database.revision;
      const error = !loaded
        ? "edge has not loaded a table"
        : !current
          ? `edge at revision ${revision}, database at ${database.revision}`
          : undefined;
      return { edge: outcome.edge, ready: loaded && current, revision, source, ...(error ? { error } : {}) };
    });
    const ready = database.up && edges.every((edge) => edge.ready);
    response.status(ready ? 200 : 503);
    return { status: ready ? "ready" : "not_ready", database, edges };
  }
}
