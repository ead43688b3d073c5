import { ApiBearerAuth } from "@nestjs/swagger";
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req, Res } from "@nestjs/common";
import type { Request, Response } from "express";
import { Actor } from "../auth/actor.decorator";
import { ApiError } from "../common/api-error";
import { wholeNumber } from "../common/query";
import { ReplaceEntryDto, UpsertEntryDto } from "./dto/upsert-entry.dto";
import { EntriesService, WriteResult } from "./entries.service";
import { ChangeView, changeView, EntryView, entryView } from "./entry.view";

/**
 * Header naming the edges that did not confirm a write in time, each with
 * why: `http://10.0.0.5:8082 (timeout), http://10.0.0.6:8082 (no memory)`.
 * The write is committed either way; those edges catch up by pulling.
 */
export const LAGGING_EDGES_HEADER = "X-Set-Backend-Lagging-Edges";

/** Entries per page of GET /entries.json when the client names no limit, and the most it may ask. */
export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10000;

function reportLaggingEdges(response: Response, result: WriteResult): void {
  const lagging = result.edges
    .filter((edge) => !edge.confirmed)
    .map((edge) => `${edge.edge} (${(edge.error ?? "not confirmed").replace(/[\r\n(),]+/g, " ").slice(0, 200)})`);
  if (lagging.length > 0) {
    response.setHeader(LAGGING_EDGES_HEADER, lagging.join(", "));
  }
}

/**
 * A service returns one item more than a page when there is a next page:
 * drops it, and sets `Link: <path?query>; rel="next"` with the request's own
 * query, `cursorName` set to the last item's cursor.
 */
function finishPage<T>(page: T[], size: number, request: Request, response: Response, cursorName: string, cursorOf: (item: T) => string): T[] {
  if (page.length <= size) {
    return page;
  }
  const shown = page.slice(0, size);
  const url = new URL(request.originalUrl, "http://set-backend");
  url.searchParams.set(cursorName, cursorOf(shown[size - 1] as T));
  response.setHeader("Link", `<${url.pathname}${url.search}>; rel="next"`);
  return shown;
}

/** The seed's REST API: /entries.json and /entries/<url_encoded_host>.json, plus history. */
@ApiBearerAuth()
@Controller()
export class EntriesController {
  constructor(private readonly entries: EntriesService) {}

  @Post("entries.json")
  async upsert(@Body() body: UpsertEntryDto, @Actor() actor: string, @Res({ passthrough: true }) response: Response): Promise<EntryView> {
    const result = await this.entries.upsert(body.host, body.backend, body.backends, actor);
    response.status(result.created ? 201 : 200);
    reportLaggingEdges(response, result);
    return entryView(result.entry);
  }

  /**
   * All entries, as a plain JSON array ordered by host, DEFAULT_PAGE_SIZE at
   * a time: a longer table continues at the `Link: <…>; rel="next"` URL.
   * `?suffix=example.com` keeps example.com and the hosts below it.
   */
  @Get("entries.json")
  async index(
    @Query("limit") limit: string | undefined,
    @Query("cursor") cursor: string | undefined,
    @Query("suffix") suffix: string | undefined,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<EntryView[]> {
    const size = Math.max(1, wholeNumber(limit, "limit", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
    for (const [name, value] of [["cursor", cursor], ["suffix", suffix]] as const) {
      if (value !== undefined && typeof value !== "string") {
        throw new ApiError(400, "invalid_query", `${name} may be given once`);
      }
    }
    const page = await this.entries.findPage(size, cursor, suffix);
    return finishPage(page, size, request, response, "cursor", (entry) => entry.host).map(entryView);
  }

  @Get("entries/:host.json")
  async show(@Param("host") host: string): Promise<EntryView> {
    return entryView(await this.entries.findOne(host));
  }

  /** Replace: idempotent, 201 when it created the entry, 200 when it replaced it. */
  @Put("entries/:host.json")
  async replace(
    @Param("host") host: string,
    @Body() body: ReplaceEntryDto,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<EntryView> {
    const result = await this.entries.upsert(host, body.backend, body.backends, actor);
    response.status(result.created ? 201 : 200);
    reportLaggingEdges(response, result);
    return entryView(result.entry);
  }

  @Delete("entries/:host.json")
  @HttpCode(204)
  async remove(@Param("host") host: string, @Actor() actor: string, @Res({ passthrough: true }) response: Response): Promise<void> {
    reportLaggingEdges(response, await this.entries.remove(host, actor));
  }

  @Get("entries/:host/history.json")
  async history(@Param("host") host: string): Promise<ChangeView[]> {
    return (await this.entries.history(host)).map(changeView);
  }

  /** Every change after `since`, oldest first, paged like the index (cursor: `since`). */
  @Get("changes.json")
  async changes(
    @Query("since") since: string | undefined,
    @Query("limit") limit: string | undefined,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ChangeView[]> {
    const size = Math.max(1, wholeNumber(limit, "limit", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
    const page = await this.entries.changes(wholeNumber(since, "since", 0, Number.MAX_SAFE_INTEGER), size);
    return finishPage(page, size, request, response, "since", (change) => String(change.revision)).map(changeView);
  }
}
