import { EntryChange } from "./entry-change.entity";
import { Entry } from "./entry.entity";

/** An entry as the API shows it. */
export interface EntryView {
  host: string;
  /** The first backend: the seed's single-backend form. */
  backend: string;
  /** Every backend; requests spread over them. */
  backends: string[];
  revision: number;
  created_at: string;
  updated_at: string;
}

export function entryView(entry: Entry): EntryView {
  return {
    host: entry.host,
    backend: entry.backends[0] ?? "",
    backends: entry.backends,
    revision: entry.revision,
    created_at: entry.createdAt.toISOString(),
    updated_at: entry.updatedAt.toISOString(),
  };
}

/** A recorded change as the API shows it; old/new are null where the host had no entry. */
export interface ChangeView {
  revision: number;
  host: string;
  changed_at: string;
  actor: string | null;
  old: { backends: string[] } | null;
  new: { backends: string[] } | null;
}

export function changeView(change: EntryChange): ChangeView {
  return {
    revision: change.revision,
    host: change.host,
    changed_at: change.changedAt.toISOString(),
    actor: change.actor,
    old: change.oldBackends === null ? null : { backends: change.oldBackends },
    new: change.backends === null ? null : { backends: change.backends },
  };
}
