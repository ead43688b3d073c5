/**
 * One write lock for the routing table, shared by all workers. Shared dict
 * operations are atomic one by one, but "read revision, then write" is not:
 * two workers applying pushes for the same host could interleave and roll
 * it back. safe_add is atomic and never evicts, so it makes a mutex.
 * (lua-resty-lock does the same; neither Debian nor this project ships it.)
 */
import { META_KEY_WRITE_LOCK } from "./contract";

/** A holder that dies keeps the lock at most this long. Longer than any snapshot load. */
const LOCK_TTL_S = 60;
/** How long a writer waits for the lock before giving up. */
const LOCK_WAIT_S = 30;
/** Poll step while waiting; pushes are small, so the wait is usually one step. */
const LOCK_POLL_S = 0.001;

/** Runs fn while holding the lock; fn's error is caught, logged by the caller, and releases the lock. */
export function withWriteLock<T>(meta: NgxSharedDict, fn: (this: void) => T): LuaMultiReturn<[T, undefined] | [undefined, string]> {
  const deadline = ngx.now() + LOCK_WAIT_S;
  while (true) {
    const [ok, err] = meta.safe_add(META_KEY_WRITE_LOCK, ngx.worker.pid(), LOCK_TTL_S);
    if (ok) {
      break;
    }
    if (err !== "exists") {
      return $multi(undefined, "lock failed: " + err);
    }
    if (ngx.now() > deadline) {
      return $multi(undefined, "lock wait timed out after " + LOCK_WAIT_S + "s");
    }
    ngx.sleep(LOCK_POLL_S);
  }
  const [ok, resultOrError] = pcall(fn);
  meta.delete(META_KEY_WRITE_LOCK);
  if (!ok) {
    return $multi(undefined, tostring(resultOrError));
  }
  return $multi(resultOrError as T, undefined);
}
