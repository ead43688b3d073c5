/**
 * Small notes the edge's parts leave each other in the meta dict. Their own
 * module so that sync.ts and pull.ts, which both write them, need not import
 * each other (a require loop in Lua).
 */
import { META_KEY_LAST_ERROR, META_KEY_PULL_NOW, META_KEY_RESYNC } from "./contract";
import { meta } from "./state";

/** Records the last sync error for the status endpoint; never evicts (safe_set). */
export function recordError(message: string): void {
  meta.safe_set(META_KEY_LAST_ERROR, ngx.now() + " " + message);
}

/** Asks worker 0 to pull now (a push showed that this edge missed a change). The flag expires if nobody acts on it. */
export function requestPull(): void {
  meta.safe_set(META_KEY_PULL_NOW, true, 60);
}

/** Asks worker 0 to load a full snapshot now, replacing the table in place. */
export function requestResync(): void {
  meta.safe_set(META_KEY_RESYNC, true, 60);
  requestPull();
}
