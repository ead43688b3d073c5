/**
 * Filling the table from the control plane: one worker (id 0) pulls a full
 * snapshot at start and retries with backoff until it has one. Until then
 * the edge answers 503 for every host it does not know.
 */
import * as cjson from "cjson.safe";
import { META_KEY_LOADED_AT, META_KEY_SOURCE, SNAPSHOT_PATH, SYNC_SECRET_HEADER } from "./contract";
import { CONTROL_PLANE_URL, SYNC_SECRET } from "./config";
import { httpGet } from "./http_client";
import { withWriteLock } from "./lock";
import { meta, routes } from "./state";
import { loadSnapshot } from "./table";
import { recordError } from "./sync";

/** First retry after a failed pull; doubles up to PULL_RETRY_MAX_S. */
const PULL_RETRY_MIN_S = 0.5;
const PULL_RETRY_MAX_S = 5;
/** A 100,000-entry snapshot is about 6 MB of JSON; on loopback it arrives well within this. */
const SNAPSHOT_TIMEOUT_MS = 30000;

function pullSnapshot(): LuaMultiReturn<[number, undefined] | [undefined, string]> {
  const headers: { [name: string]: string } = {};
  headers[SYNC_SECRET_HEADER] = SYNC_SECRET;
  const [response, err] = httpGet(CONTROL_PLANE_URL, SNAPSHOT_PATH, headers, SNAPSHOT_TIMEOUT_MS);
  if (response === undefined) {
    return $multi(undefined, err);
  }
  if (response.status !== 200) {
    return $multi(undefined, "control plane answered " + response.status + ": " + string.sub(response.body, 1, 200));
  }
  const [decoded, decodeErr] = cjson.decode(response.body);
  if (decoded === undefined || typeof decoded !== "object") {
    return $multi(undefined, "snapshot is not a JSON object: " + (decodeErr ?? "wrong type"));
  }
  const snapshot = decoded as { revision?: unknown; entries?: unknown };
  if (typeof snapshot.revision !== "number" || typeof snapshot.entries !== "object") {
    return $multi(undefined, "snapshot needs a revision and an entries array");
  }
  const revision = snapshot.revision;
  const entries = snapshot.entries as unknown[];
  const [result, lockErr] = withWriteLock(meta, () => loadSnapshot(routes, meta, revision, entries));
  if (result === undefined) {
    return $multi(undefined, lockErr);
  }
  if (result.errors.length > 0) {
    return $multi(undefined, result.errors.length + " snapshot entries refused, first: " + result.errors[0]);
  }
  meta.safe_set(META_KEY_SOURCE, "control-plane");
  meta.safe_set(META_KEY_LOADED_AT, ngx.now());
  return $multi(result.revision, undefined);
}

function pullUntilLoaded(this: void, premature: boolean, delay: number): void {
  if (premature) {
    return;
  }
  const [revision, err] = pullSnapshot();
  if (revision === undefined) {
    ngx.log(ngx.WARN, "[sync] snapshot pull from ", CONTROL_PLANE_URL, " failed, retrying in ", delay, "s: ", err);
    recordError("snapshot pull failed: " + err);
    const [ok, timerErr] = ngx.timer.at(delay, (premature2) => pullUntilLoaded(premature2, math.min(delay * 2, PULL_RETRY_MAX_S)));
    if (ok === undefined) {
      ngx.log(ngx.ERR, "[sync] cannot schedule the next snapshot pull: ", timerErr);
    }
    return;
  }
  ngx.log(ngx.NOTICE, "[sync] table loaded from the control plane at revision ", revision);
}

/** Starts the pull loop in worker 0 only; the dict is shared, one loader is enough. */
export function start(): void {
  if (ngx.worker.id() !== 0) {
    return;
  }
  const [ok, err] = ngx.timer.at(0, (premature) => pullUntilLoaded(premature, PULL_RETRY_MIN_S));
  if (ok === undefined) {
    ngx.log(ngx.ERR, "[sync] cannot start the snapshot pull: ", err);
  }
}
