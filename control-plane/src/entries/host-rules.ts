import { domainToASCII } from "node:url";
import { parseBackend } from "../../../lua/src/set_backend/backend";
import { MAX_BACKENDS } from "../../../lua/src/set_backend/contract";
import { normalizeHost } from "../../../lua/src/set_backend/host";

/**
 * The API's side of the host and backend rules. The rules themselves are the
 * functions the edge runs (lua/src/set_backend/host.ts, backend.ts); this
 * adds the one step Lua does not do: Unicode names become punycode first,
 * with Node's maintained IDNA implementation.
 */

export type Checked<T = string> = { value: T; error?: undefined } | { value?: undefined; error: string };

const NON_ASCII = /[^\x00-\x7f]/;
/** ASCII other than letters, digits, '.' and '-'; domainToASCII would silently drop a path after '/'. */
const ASCII_NOT_IN_NAMES = /[\x00-\x2c\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]/;

/** An entry's host: a name, or a wildcard `*.example.com` that matches every name below example.com. */
export function checkHost(input: string): Checked {
  let text = input;
  if (NON_ASCII.test(text)) {
    const port = /:(\d+)$/.exec(text);
    const name = port ? text.slice(0, port.index) : text;
    if (ASCII_NOT_IN_NAMES.test(name)) {
      return { error: "host has a character other than letters, digits, '.' and '-'" };
    }
    const ascii = domainToASCII(name);
    if (ascii === "") {
      return { error: "host is not a valid internationalized domain name" };
    }
    text = port ? `${ascii}:${port[1]}` : ascii;
  }
  const result = normalizeHost(text, true);
  return result.host !== undefined ? { value: result.host } : { error: result.error ?? "invalid host" };
}

/** One backend, canonical form `host:port`. */
export function checkBackend(input: string): Checked {
  const parsed = parseBackend(input);
  if (parsed.error !== undefined || parsed.host === undefined || parsed.port === undefined) {
    return { error: parsed.error ?? "invalid backend" };
  }
  return { value: `${parsed.host}:${parsed.port}` };
}

/** An entry's backends: 1 to MAX_BACKENDS valid ones, each once. */
export function checkBackends(inputs: string[]): Checked<string[]> {
  if (inputs.length === 0 || inputs.length > MAX_BACKENDS) {
    return { error: `an entry has 1 to ${MAX_BACKENDS} backends, got ${inputs.length}` };
  }
  const backends: string[] = [];
  for (const input of inputs) {
    const backend = checkBackend(input);
    if (backend.error !== undefined) {
      return { error: `backend '${input}': ${backend.error}` };
    }
    if (backends.includes(backend.value)) {
      return { error: `backend '${backend.value}' is listed twice` };
    }
    backends.push(backend.value);
  }
  return { value: backends };
}
