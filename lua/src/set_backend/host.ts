/**
 * Host rules, shared word for word by the edge (compiled to Lua) and the
 * control plane (compiled to JS). Only ASCII is accepted here, so byte (Lua)
 * and UTF-16 (JS) indexing agree; the control plane turns Unicode names into
 * punycode before calling in. Pure: no ngx, no Node.
 */

/** RFC 1035 section 2.3.4: 253 characters for a name written without its final dot. */
export const MAX_HOST_LENGTH = 253;
/** RFC 1035 section 2.3.4: 63 octets per label. */
export const MAX_LABEL_LENGTH = 63;

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_A_LOWER = 97;
const CHAR_Z_LOWER = 122;
const CHAR_HYPHEN = 45;
const CHAR_DOT = 46;
const CHAR_STAR = 42;
const CHAR_COLON = 58;

export interface HostResult {
  /** The normalized host, when the input is valid. */
  host?: string;
  /** Why the input is not a host, when it is not. */
  error?: string;
}

function isDigit(code: number): boolean {
  return code >= CHAR_0 && code <= CHAR_9;
}

function isLabelChar(code: number): boolean {
  return isDigit(code) || (code >= CHAR_A_LOWER && code <= CHAR_Z_LOWER) || code === CHAR_HYPHEN;
}

/** Index of the last `code` in text, or -1. (TSTL has no String.lastIndexOf.) */
export function lastIndexOfCode(text: string, code: number): number {
  for (let i = text.length - 1; i >= 0; i--) {
    if (text.charCodeAt(i) === code) {
      return i;
    }
  }
  return -1;
}

/** True when text is 1 to 5 digits whose value is a TCP port (1-65535). */
export function isPort(text: string): boolean {
  const length = text.length;
  if (length < 1 || length > 5) {
    return false;
  }
  let value = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) {
      return false;
    }
    value = value * 10 + (code - CHAR_0);
  }
  return value >= 1 && value <= 65535;
}

/**
 * Checks one label (already lower case) against RFC 1123: letters, digits and
 * hyphens, 1 to 63 of them, no hyphen first or last. Returns an error or nil.
 */
function labelError(label: string): string | undefined {
  const length = label.length;
  if (length === 0) {
    return "empty label";
  }
  if (length > MAX_LABEL_LENGTH) {
    return "label longer than 63 characters";
  }
  for (let i = 0; i < length; i++) {
    if (!isLabelChar(label.charCodeAt(i))) {
      return "label '" + label + "' has a character other than a-z, 0-9 and '-'";
    }
  }
  if (label.charCodeAt(0) === CHAR_HYPHEN || label.charCodeAt(length - 1) === CHAR_HYPHEN) {
    return "label '" + label + "' starts or ends with '-'";
  }
  return undefined;
}

/**
 * Normalizes a host the way the edge sees it: lower case, a port stripped,
 * one trailing dot stripped; then checks RFC 1123 labels and the length.
 * A wildcard is allowed only when `allowWildcard` is set, and only as the
 * whole leftmost label followed by at least two labels (`*.example.com`).
 */
export function normalizeHost(input: string, allowWildcard: boolean): HostResult {
  let host = input.toLowerCase();
  const colon = lastIndexOfCode(host, CHAR_COLON);
  if (colon >= 0) {
    if (!isPort(host.substring(colon + 1))) {
      return { error: "port after ':' must be a number from 1 to 65535" };
    }
    host = host.substring(0, colon);
  }
  const length = host.length;
  if (length > 0 && host.charCodeAt(length - 1) === CHAR_DOT) {
    host = host.substring(0, length - 1);
  }
  if (host.length === 0) {
    return { error: "host is empty" };
  }
  if (host.length > MAX_HOST_LENGTH) {
    return { error: "host is longer than 253 characters" };
  }
  let start = 0;
  let labelCount = 0;
  while (start <= host.length) {
    let stop = host.indexOf(".", start);
    if (stop < 0) {
      stop = host.length;
    }
    const label = host.substring(start, stop);
    labelCount++;
    if (labelCount === 1 && label.length === 1 && label.charCodeAt(0) === CHAR_STAR) {
      if (!allowWildcard) {
        return { error: "a wildcard is not allowed here" };
      }
    } else {
      const error = labelError(label);
      if (error !== undefined) {
        return { error: error };
      }
    }
    start = stop + 1;
  }
  if (host.charCodeAt(0) === CHAR_STAR && labelCount < 3) {
    return { error: "a wildcard needs at least two labels after it, as in *.example.com" };
  }
  return { host: host };
}
