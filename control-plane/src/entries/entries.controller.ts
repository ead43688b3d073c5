import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res } from "@nestjs/common";
import type { Response } from "express";
import { UpsertEntryDto } from "./dto/upsert-entry.dto";
import { EntriesService, WriteResult } from "./entries.service";
import { EntryView, entryView } from "./entry.view";

/**
 * Header naming the edges that did not confirm a write in time, each with
 * why: `http://10.0.0.5:8082 (timeout), http://10.0.0.6:8082 (no memory)`.
 * The write is committed either way; those edges catch up by pulling.
 */
export const LAGGING_EDGES_HEADER = "X-Set-Backend-Lagging-Edges";

function reportLaggingEdges(response: Response, result: WriteResult): void {
  const lagging = result.edges
    .filter((edge) => !edge.confirmed)
    .map((edge) => `${edge.edge} (${(edge.error ?? "not confirmed").replace(/[\r\n(),]+/g, " ").slice(0, 200)})`);
  if (lagging.length > 0) {
    response.setHeader(LAGGING_EDGES_HEADER, lagging.join(", "));
  }
}

/** The seed's REST API: /entries.json and /entries/<url_encoded_host>.json. */
@Controller()
export class EntriesController {
  constructor(private readonly entries: EntriesService) {}

  @Post("entries.json")
  async upsert(@Body() body: UpsertEntryDto, @Res({ passthrough: true }) response: Response): Promise<EntryView> {
    const result = await this.entries.upsert(body.host, body.backend, body.backends);
    response.status(result.created ? 201 : 200);
    reportLaggingEdges(response, result);
    return entryView(result.entry);
  }

  @Get("entries.json")
  async index(): Promise<EntryView[]> {
    return (await this.entries.findAll()).map(entryView);
  }

  @Get("entries/:host.json")
  async show(@Param("host") host: string): Promise<EntryView> {
    return entryView(await this.entries.findOne(host));
  }

  @Delete("entries/:host.json")
  @HttpCode(204)
  async remove(@Param("host") host: string, @Res({ passthrough: true }) response: Response): Promise<void> {
    reportLaggingEdges(response, await this.entries.remove(host));
  }
}
