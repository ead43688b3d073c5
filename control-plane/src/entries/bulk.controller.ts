import { ApiBearerAuth } from "@nestjs/swagger";
import { Body, Controller, Get, Post, Query, Res } from "@nestjs/common";
import type { Response } from "express";
import { Actor } from "../auth/actor.decorator";
import { ApiError } from "../common/api-error";
import { EntriesService, ImportResult } from "./entries.service";
import { entryView } from "./entry.view";
import { IMPORT_FORMATS, ImportFormat } from "./import-formats";

/** Paths without ".json" so that they can never be taken for a host named "import" or "export". */
export const IMPORT_PATH = "entries/import";
export const EXPORT_PATH = "entries/export";

function format(raw: string | undefined, fallback: ImportFormat): ImportFormat {
  const value = raw ?? fallback;
  if (!IMPORT_FORMATS.includes(value as ImportFormat)) {
    throw new ApiError(400, "invalid_query", `format must be one of ${IMPORT_FORMATS.join(", ")}`);
  }
  return value as ImportFormat;
}

/** Bulk import (all or nothing, with a dry run) and export. */
@ApiBearerAuth()
@Controller()
export class BulkController {
  constructor(private readonly entries: EntriesService) {}

  /**
   * POST /entries/import?format=ndjson|json|nginx-map[&dry_run=true], the
   * body as text (NDJSON by default). 200 with counts, or 422 listing every
   * problem by line, in which case nothing was imported.
   */
  @Post(IMPORT_PATH)
  async import(
    @Body() body: unknown,
    @Query("format") rawFormat: string | undefined,
    @Query("dry_run") dryRun: string | undefined,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ImportResult> {
    if (typeof body !== "string") {
      throw new ApiError(400, "invalid_body", "send the import as the request body");
    }
    if (dryRun !== undefined && dryRun !== "true" && dryRun !== "false") {
      throw new ApiError(400, "invalid_query", "dry_run must be true or false");
    }
    const result = await this.entries.importEntries(format(rawFormat, "ndjson"), body, actor, dryRun === "true");
    response.status(200);
    return result;
  }

  /** GET /entries/export?format=ndjson|json: every entry, ordered by host, in a form import takes back. */
  @Get(EXPORT_PATH)
  async export(@Query("format") rawFormat: string | undefined, @Res() response: Response): Promise<void> {
    const chosen = format(rawFormat, "ndjson");
    if (chosen === "nginx-map") {
      throw new ApiError(400, "invalid_query", "export writes ndjson or json");
    }
    const entries = (await this.entries.exportEntries()).map((entry) => ({ host: entry.host, backends: entryView(entry).backends }));
    if (chosen === "json") {
      response.type("application/json").send(JSON.stringify(entries));
      return;
    }
    response.type("application/x-ndjson").send(entries.map((entry) => JSON.stringify(entry)).join("\n") + (entries.length > 0 ? "\n" : ""));
  }
}
