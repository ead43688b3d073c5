import { ApiError } from "./api-error";

/** A whole-number query parameter from 0 to max, or the fallback when absent; 400 otherwise. */
export function wholeNumber(raw: string | undefined, name: string, fallback: number, max: number): number {
  if (raw === undefined) {
    return fallback;
  }
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value > max) {
    throw new ApiError(400, "invalid_query", `${name} must be a whole number from 0 to ${max}`);
  }
  return value;
}
