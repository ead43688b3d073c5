/**
 * The internal sync listener: the control plane pushes changes here and reads
 * the edge's status. nginx binds it to loopback or a private address; every
 * request must also carry the shared secret.
 */
import * as cjson from "cjson.safe";
import {
  BACKEND_SEPARATOR,
  Change,
  ChangeBatchResult,
  EDGE_CHANGES_PATH,
  EDGE_METRICS_PATH,
  EDGE_RESYNC_PATH,
  EDGE_TABLE_PATH,
  EDGE_STATUS_PATH,
  EdgeStatus,
  META_KEY_DICT_FULL,
  META_KEY_LAST_ERROR,
  META_KEY_LAST_SYNC_AT,
  META_KEY_LOADED_AT,
  META_KEY_SOURCE,
  SYNC_SECRET_HEADER,
  TOMBSTONE_VALUE,
} from "./contract";
import { SYNC_SECRET } from "./config";
import * as disk from "./disk";
import { withWriteLock } from "./lock";
import { render as renderMetrics } from "./metrics";
import { recordError, requestPull, requestResync } from "./signals";
import { meta, routes } from "./state";
import { applyBatch, entryCount, tableRevision } from "./table";

function reply(status: number, body: object): void {
  const [text] = cjson.encode(body);
  ngx.status = status;
  ngx.header["Content-Type"] = "application/json";
  ngx.print(text ?? "{}");
  ngx.exit(200);
}

function fail(status: number, code: string, message: string): void {
  reply(status, { error: code, message: message });
}

export function status(): EdgeStatus {
  const [loadedAt] = meta.get(META_KEY_LOADED_AT);
  const [source] = meta.get(META_KEY_SOURCE);
  const [lastSyncAt] = meta.get(META_KEY_LAST_SYNC_AT);
  const [lastError] = meta.get(META_KEY_LAST_ERROR);
  const [dictFull] = meta.get(META_KEY_DICT_FULL);
  return {
    revision: tableRevision(meta),
    loaded: loadedAt !== undefined,
    loaded_at: loadedAt as number | undefined,
    source: source as string | undefined,
    last_sync_at: lastSyncAt as number | undefined,
    entries: entryCount(meta),
    free_bytes: routes.free_space(),
    capacity_bytes: routes.capacity(),
    dict_full: dictFull === true,
    last_error: lastError as string | undefined,
  };
}

function applyPush(): void {
  ngx.req.read_body();
  const body = ngx.req.get_body_data();
  if (body === undefined) {
    // client_body_buffer_size on the sync listener is as large as
    // client_max_body_size, so a body on disk means a misconfigured listener.
    fail(413, "body_too_large", "push body is empty or larger than the sync listener's buffer");
    return;
  }
  const [decoded, decodeErr] = cjson.decode(body);
  if (decoded === undefined || typeof decoded !== "object") {
    fail(400, "invalid_json", "push body is not a JSON object: " + (decodeErr ?? "wrong type"));
    return;
  }
  const batch = decoded as { previous?: unknown; changes?: unknown };
  if (typeof batch.changes !== "object" || typeof batch.previous !== "number") {
    fail(400, "invalid_batch", "push body needs 'previous' (a revision) and a 'changes' array");
    return;
  }
  const previous = batch.previous;
  const changes = batch.changes as unknown[];
  const [result, lockErr] = withWriteLock(meta, () => {
    const applied = applyBatch(routes, meta, previous, changes);
    if (applied.errors.length === 0 && changes.length > 0) {
      const [saved, saveErr] = disk.appendJournal(body);
      if (saved === undefined) {
        ngx.log(ngx.ERR, "[disk] ", saveErr);
      }
    }
    return applied;
  });
  if (result === undefined) {
    ngx.log(ngx.ERR, "[sync] push not applied: ", lockErr);
    recordError("push not applied: " + lockErr);
    fail(500, "apply_failed", "push not applied: " + lockErr);
    return;
  }
  if (result.errors.length > 0) {
    // One line per push, however many changes it refused: a full dict refuses thousands.
    ngx.log(ngx.ERR, "[sync] change refused: ", result.errors[0], " (", result.errors.length, " refused in this push)");
    recordError(result.errors[0] as string);
  }
  meta.safe_set(META_KEY_LAST_SYNC_AT, ngx.now());
  if (!result.contiguous) {
    // This edge missed a change before this batch: worker 0 pulls what is missing.
    ngx.log(ngx.NOTICE, "[sync] push after revision ", previous, " found the table at ", result.revision, "; pulling the gap");
    requestPull();
  }
  setmetatable(result.errors, cjson.empty_array_mt as LuaMetatable<string[]>);
  reply(200, result as ChangeBatchResult);
}

/** Every live entry, for audits and tests: get_keys(0) locks the dict while it lists the keys. */
function dumpTable(): { revision: number; entries: Change[] } {
  const entries: Change[] = [];
  for (const host of routes.get_keys(0)) {
    const [value, flags] = routes.get(host);
    if (typeof value === "string" && value !== TOMBSTONE_VALUE) {
      const backends: string[] = [];
      for (const [backend] of string.gmatch(value, "[^" + BACKEND_SEPARATOR + "]+")) {
        backends.push(backend as string);
      }
      entries.push({ host, backends, revision: flags ?? 0 });
    }
  }
  setmetatable(entries, cjson.empty_array_mt as LuaMetatable<Change[]>);
  return { revision: tableRevision(meta), entries };
}

/** The secret from its own header, or as a bearer token (what Prometheus scrapers send). */
function givenSecret(): string | undefined {
  const headers = ngx.req.get_headers();
  const secret = headers[SYNC_SECRET_HEADER];
  if (typeof secret === "string") {
    return secret;
  }
  const authorization = headers["authorization"];
  if (typeof authorization === "string") {
    const [token] = string.match(authorization, "^[Bb]earer%s+(%S+)%s*$");
    return token;
  }
  return undefined;
}

/** content_by_lua handler of the sync listener. */
export function content(): void {
  if (SYNC_SECRET === "" || givenSecret() !== SYNC_SECRET) {
    ngx.log(ngx.WARN, "[sync] refused a request without the right secret from ", ngx.var.remote_addr);
    fail(401, "unauthorized", "missing or wrong " + SYNC_SECRET_HEADER);
    return;
  }
  const method = ngx.req.get_method();
  const uri = ngx.var.uri;
  if (uri === EDGE_CHANGES_PATH && method === "POST") {
    applyPush();
  } else if (uri === EDGE_STATUS_PATH && method === "GET") {
    reply(200, status());
  } else if (uri === EDGE_TABLE_PATH && method === "GET") {
    reply(200, dumpTable());
  } else if (uri === EDGE_RESYNC_PATH && method === "POST") {
    requestResync();
    reply(202, { status: "a full snapshot will be loaded at the next pull" });
  } else if (uri === EDGE_METRICS_PATH && method === "GET") {
    ngx.header["Content-Type"] = "text/plain; version=0.0.4";
    ngx.print(renderMetrics());
    ngx.exit(200);
  } else {
    fail(404, "not_found", "no such sync endpoint");
  }
}
