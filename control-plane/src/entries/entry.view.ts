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
