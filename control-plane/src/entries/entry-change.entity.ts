import { Column, Entity, Generated, Index, PrimaryColumn } from "typeorm";
import { bigintToNumber } from "./bigint.transformer";

/**
 * The change log: one row per committed write, its revision drawn from the
 * database. A delete is a row with null backends (a tombstone). Edges ask
 * for "changes since revision R"; the highest revision is the table's.
 */
@Entity({ name: "entry_changes" })
export class EntryChange {
  @PrimaryColumn({ type: "bigint", transformer: bigintToNumber })
  @Generated("increment")
  revision: number;

  @Index("IDX_entry_changes_host")
  @Column({ type: "varchar", length: 253 })
  host: string;

  /** New backends, or null when the host was deleted. */
  @Column({ type: "text", array: true, nullable: true })
  backends: string[] | null;

  @Column({ name: "changed_at", type: "timestamptz", default: () => "now()" })
  changedAt: Date;

  /** Name of the token that made the change; null for changes older than the history. */
  @Column({ type: "varchar", length: 64, nullable: true })
  actor: string | null;

  /** The backends before the change; null when the host had no entry. */
  @Column({ name: "old_backends", type: "text", array: true, nullable: true })
  oldBackends: string[] | null;
}
