import { domainToASCII } from "node:url";
import { parseBackend } from "../../../lua/src/set_backend/backend";
import { normalizeHost } from "../../../lua/src/set_backend/host";

/**
 * The API's side of the host and backend rules. The rules themselves are the
 * functions the edge runs (lua/src/set_backend/host.ts, backend.ts); this
 * adds the one step Lua does not do: Unicode names become punycode first,
 * with Node's maintained IDNA implementation.
 */

export type Checked = { value: string; error?: undefined } | { value?: undefined; error: string };

const NON_ASCII = /[^\x00-\x7f]/;
/** ASCII other than letters, digits, '.' and '-'; domainToASCII would silently drop a path after '/'. */
const ASCII_NOT_IN_NAMES = /[\x00-\x2c\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]/;

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
  const result = normalizeHost(text, false);
  return result.host !== undefined ? { value: result.host } : { error: result.error ?? "invalid host" };
}

export function checkBackend(input: string): Checked {
  const parsed = parseBackend(input);
  if (parsed.error !== undefined || parsed.host === undefined || parsed.port === undefined) {
    return { error: parsed.error ?? "invalid backend" };
  }
  return { value: `${parsed.host}:${parsed.port}` };
}
