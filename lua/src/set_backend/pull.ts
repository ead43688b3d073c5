/**
 * Keeping the table equal to the control plane's, from the edge's side.
 *
 * At start, worker 0 loads the last good table from disk (if any), so the
 * edge routes at once even when the control plane is unreachable. Then, every
 * SYNC_INTERVAL_S (jittered), it asks the control plane for the changes since
 * its revision and applies them; it loads a full snapshot when it has no
 * table yet, when the change log no longer reaches back to its revision
 * (410), or when the disk journal has grown past the snapshot's size. After
 * a failed pull it backs off, doubling up to PULL_BACKOFF_MAX_S; an edge
 * with no table at all serves nothing but 503s, so it backs off no further
 * than UNLOADED_BACKOFF_MAX_S (a control plane that starts a little later
 * than its edges is then seen within seconds).
 *
 * Any worker that sees a gap in the pushed revisions sets META_KEY_PULL_NOW;
 * worker 0 checks the flag every PULL_NOW_POLL_S and pulls at once.
 */
import * as cjson from "cjson.safe";
import {
  ChangesPage,
  CHANGES_PAGE_LIMIT,
  CHANGES_PATH,
  META_KEY_LAST_SYNC_AT,
  META_KEY_LOADED_AT,
  META_KEY_PULL_NOW,
  META_KEY_RESYNC,
  META_KEY_SOURCE,
  SNAPSHOT_COLUMNS_QUERY,
  SNAPSHOT_PATH,
  SYNC_SECRET_HEADER,
} from "./contract";
import { CONTROL_PLANE_URL, SYNC_INTERVAL_S, SYNC_SECRET } from "./config";
import * as disk from "./disk";
import { httpGet, HttpResponse } from "./http_client";
import { withWriteLock } from "./lock";
import { addressOf } from "./resolve";
import { meta, routes } from "./state";
import { recordError } from "./signals";
import { applySnapshot, decodeSnapshot, snapshotSize } from "./snapshot";
import { applyBatch, tableRevision } from "./table";

const PULL_BACKOFF_MAX_S = 30;
const UNLOADED_BACKOFF_MAX_S = 4;
/** How soon worker 0 notices a gap another worker flagged. */
const PULL_NOW_POLL_S = 0.1;
/** A 1,000,000-entry snapshot is about 60 MB of JSON; on a LAN it arrives well within this. */
const SNAPSHOT_TIMEOUT_MS = 60000;
const CHANGES_TIMEOUT_MS = 10000;
/** Pages of changes one pull applies before it yields to the next tick. */
const PAGES_PER_PULL = 20;
/** Compact the journal into a fresh snapshot once it is this many times the snapshot's size. */
const JOURNAL_COMPACT_RATIO = 1;

function get(path: string, timeoutMs: number): LuaMultiReturn<[HttpResponse, undefined] | [undefined, string]> {
  const headers: { [name: string]: string } = {};
  headers[SYNC_SECRET_HEADER] = SYNC_SECRET;
  return httpGet(CONTROL_PLANE_URL, path, headers, timeoutMs, addressOf);
}

function markSynced(source: string): void {
  meta.safe_set(META_KEY_SOURCE, source);
  meta.safe_set(META_KEY_LAST_SYNC_AT, ngx.now());
  const [loadedAt] = meta.get(META_KEY_LOADED_AT);
  if (loadedAt === undefined) {
    meta.safe_set(META_KEY_LOADED_AT, ngx.now());
  }
}

/** Pulls and loads a full snapshot, then saves its body to disk. */
function pullSnapshot(): LuaMultiReturn<[number, undefined] | [undefined, string]> {
  const [response, err] = get(SNAPSHOT_PATH + "?" + SNAPSHOT_COLUMNS_QUERY, SNAPSHOT_TIMEOUT_MS);
  if (response === undefined) {
    return $multi(undefined, err);
  }
  if (response.status !== 200) {
    return $multi(undefined, "control plane answered " + response.status + ": " + string.sub(response.body, 1, 200));
  }
  const [snapshot, decodeErr] = decodeSnapshot(response.body);
  if (snapshot === undefined) {
    return $multi(undefined, decodeErr);
  }
  const [result, lockErr] = withWriteLock(meta, () => {
    const loaded = applySnapshot(routes, meta, snapshot);
    if (loaded.errors.length === 0) {
      const [saved, saveErr] = disk.writeSnapshot(response.body);
      if (saved === undefined) {
        ngx.log(ngx.ERR, "[disk] ", saveErr);
      }
    }
    return loaded;
  });
  if (result === undefined) {
    return $multi(undefined, lockErr);
  }
  if (result.errors.length > 0) {
    return $multi(undefined, result.errors.length + " snapshot entries refused, first: " + result.errors[0]);
  }
  markSynced("control-plane");
  ngx.log(ngx.NOTICE, "[sync] loaded a snapshot of ", snapshotSize(snapshot), " entries at revision ", snapshot.revision);
  return $multi(result.revision, undefined);
}

/**
 * Pulls the changes since the table's revision, page by page. Returns the
 * new revision, or nil and "gone" when the log no longer reaches back.
 */
function pullChanges(): LuaMultiReturn<[number, undefined] | [undefined, string]> {
  for (let page = 0; page < PAGES_PER_PULL; page++) {
    const since = tableRevision(meta);
    const [response, err] = get(CHANGES_PATH + "?since=" + since + "&limit=" + CHANGES_PAGE_LIMIT, CHANGES_TIMEOUT_MS);
    if (response === undefined) {
      return $multi(undefined, err);
    }
    if (response.status === 410) {
      return $multi(undefined, "gone");
    }
    if (response.status !== 200) {
      return $multi(undefined, "control plane answered " + response.status + ": " + string.sub(response.body, 1, 200));
    }
    const [decoded, decodeErr] = cjson.decode(response.body);
    const changesPage = decoded as Partial<ChangesPage> | undefined;
    if (changesPage === undefined || typeof changesPage !== "object" || typeof changesPage.previous !== "number" || typeof changesPage.changes !== "object") {
      return $multi(undefined, "changes are not {previous, changes}: " + (decodeErr ?? "wrong shape"));
    }
    const previous = changesPage.previous;
    const changes = changesPage.changes as unknown[];
    const [result, lockErr] = withWriteLock(meta, () => {
      const applied = applyBatch(routes, meta, previous, changes);
      if (changes.length > 0 && applied.errors.length === 0) {
        const [line] = cjson.encode({ previous, changes });
        const [saved, saveErr] = disk.appendJournal(line ?? "");
        if (saved === undefined) {
          ngx.log(ngx.ERR, "[disk] ", saveErr);
        }
      }
      return applied;
    });
    if (result === undefined) {
      return $multi(undefined, lockErr);
    }
    if (result.errors.length > 0) {
      ngx.log(ngx.ERR, "[sync] pulled change refused: ", result.errors[0], " (", result.errors.length, " refused in this page)");
      return $multi(undefined, result.errors.length + " pulled changes refused, first: " + result.errors[0]);
    }
    markSynced("control-plane");
    if (changesPage.complete === true) {
      return $multi(result.revision, undefined);
    }
  }
  return $multi(tableRevision(meta), undefined);
}

/** Loads the table saved on disk. Only at start, before the first pull. */
function loadFromDisk(): void {
  const [saved, readErr] = disk.read();
  if (saved === undefined) {
    if (readErr !== undefined) {
      ngx.log(ngx.ERR, "[disk] cannot load the saved table: ", readErr);
      recordError("cannot load the saved table: " + readErr);
    }
    return;
  }
  const [result, lockErr] = withWriteLock(meta, () => {
    const loaded = applySnapshot(routes, meta, saved.snapshot);
    for (const batch of saved.journal) {
      const applied = applyBatch(routes, meta, batch.previous, batch.changes);
      for (const error of applied.errors) {
        loaded.errors.push(error);
      }
    }
    return loaded;
  });
  if (result === undefined || result.errors.length > 0) {
    const reason = result === undefined ? lockErr : result.errors[0];
    ngx.log(ngx.ERR, "[disk] the saved table did not load: ", reason);
    recordError("the saved table did not load: " + reason);
    return;
  }
  meta.safe_set(META_KEY_SOURCE, "disk");
  meta.safe_set(META_KEY_LOADED_AT, ngx.now());
  ngx.log(ngx.NOTICE, "[sync] loaded the saved table from disk at revision ", tableRevision(meta), " (", snapshotSize(saved.snapshot), " entries in the snapshot, ", saved.journal.length, " journal batches)");
}

/** One pull: changes since our revision, or a full snapshot when that cannot work. */
function pullOnce(): LuaMultiReturn<[number, undefined] | [undefined, string]> {
  const [loadedAt] = meta.get(META_KEY_LOADED_AT);
  const [resync] = meta.get(META_KEY_RESYNC);
  if (loadedAt === undefined || resync !== undefined) {
    meta.delete(META_KEY_RESYNC);
    return pullSnapshot();
  }
  if (disk.journalToSnapshotRatio() > JOURNAL_COMPACT_RATIO) {
    ngx.log(ngx.NOTICE, "[disk] the journal outgrew the snapshot; loading a fresh snapshot to compact it");
    return pullSnapshot();
  }
  const [revision, err] = pullChanges();
  if (revision !== undefined) {
    return $multi(revision, undefined);
  }
  if (err === "gone") {
    ngx.log(ngx.NOTICE, "[sync] the change log no longer reaches back to revision ", tableRevision(meta), "; loading a snapshot");
    return pullSnapshot();
  }
  return $multi(undefined, err);
}

/**
 * Runs tick after `delay`. A timer that cannot start ends worker 0's loop, so
 * it is logged, except in a worker that is exiting (a reload or a graceful
 * stop), which starts no new timers by design.
 */
function after(delay: number, tick: (this: void, premature: boolean) => void): void {
  const [ok, err] = ngx.timer.at(delay, tick);
  if (ok === undefined && !ngx.worker.exiting()) {
    ngx.log(ngx.ERR, "[sync] cannot schedule the next pull: ", err);
  }
}

/** Worker 0's loop: next pull after `delay`, polling for a flagged gap meanwhile. */
function schedule(delay: number, failures: number): void {
  const due = ngx.now() + delay;
  const tick = (premature: boolean): void => {
    if (premature) {
      return;
    }
    const [flagged] = meta.get(META_KEY_PULL_NOW);
    if (flagged === undefined && ngx.now() < due) {
      after(PULL_NOW_POLL_S, tick);
      return;
    }
    meta.delete(META_KEY_PULL_NOW);
    const [, err] = pullOnce();
    if (err !== undefined) {
      const [loadedAt] = meta.get(META_KEY_LOADED_AT);
      const backoff = math.min(SYNC_INTERVAL_S * 2 ** (failures + 1), loadedAt === undefined ? UNLOADED_BACKOFF_MAX_S : PULL_BACKOFF_MAX_S);
      ngx.log(ngx.WARN, "[sync] pull from ", CONTROL_PLANE_URL, " failed, next try in ", backoff, "s: ", err);
      recordError("pull failed: " + err);
      schedule(backoff, failures + 1);
      return;
    }
    // ±20% so that many edges started together do not pull in step.
    schedule(SYNC_INTERVAL_S * (0.8 + 0.4 * math.random()), 0);
  };
  after(math.min(delay, PULL_NOW_POLL_S), tick);
}

/** Starts the loop in worker 0 only: the dict is shared, one puller is enough. */
export function start(): void {
  if (ngx.worker.id() !== 0) {
    return;
  }
  // Otherwise every edge draws the same jitter and edges started together pull in step.
  math.randomseed(ngx.now() * 1000 + ngx.worker.pid());
  const [ok, err] = ngx.timer.at(0, (premature) => {
    if (premature) {
      return;
    }
    const [loadedAt] = meta.get(META_KEY_LOADED_AT);
    if (loadedAt === undefined) {
      loadFromDisk();
    }
    schedule(0, 0);
  });
  if (ok === undefined) {
    ngx.log(ngx.ERR, "[sync] cannot start pulling: ", err);
  }
}
