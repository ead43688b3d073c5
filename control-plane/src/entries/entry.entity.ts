import { Column, Entity, PrimaryColumn } from "typeorm";
import { bigintToNumber } from "./bigint.transformer";

/** One routed host: the current state that edges serve. */
@Entity({ name: "entries" })
export class Entry {
  /** Normalized host (lower case, punycode, no port, no trailing dot), or a wildcard such as *.example.com. */
  @PrimaryColumn({ type: "varchar", length: 253 })
  host: string;

  /** Backends as host:port, in the order given; requests spread over them. */
  @Column({ type: "text", array: true })
  backends: string[];

  /** Revision of the change that last wrote this entry (entry_changes.revision). */
  @Column({ type: "bigint", transformer: bigintToNumber })
  revision: number;

  @Column({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @Column({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}
