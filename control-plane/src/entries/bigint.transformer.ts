import { ValueTransformer } from "typeorm";

/**
 * pg returns bigint columns as strings. Revisions stay below 2^32
 * (contract.MAX_REVISION), far inside a JS number's exact range.
 */
export const bigintToNumber: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
