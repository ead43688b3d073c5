import { Entry } from "./entry.entity";

/** An entry as the API shows it. */
export interface EntryView {
  host: string;
  backend: string;
  revision: number;
  created_at: string;
  updated_at: string;
}

export function entryView(entry: Entry): EntryView {
  return {
    host: entry.host,
    backend: entry.backend,
    revision: entry.revision,
    created_at: entry.createdAt.toISOString(),
    updated_at: entry.updatedAt.toISOString(),
  };
}
