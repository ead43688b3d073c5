/**
 * Backend rules, shared by the edge (Lua) and the control plane (JS), ASCII
 * only so both languages index the same. A backend is `host:port` where host
 * is an IPv4 address, a bracketed IPv6 address or a DNS name. Pure.
 */
import { isPort, lastIndexOfCode, normalizeHost } from "./host";

export type BackendKind = "ipv4" | "ipv6" | "name";

export interface ParsedBackend {
  /** The address part as nginx wants it in `host:port` (IPv6 keeps its brackets). */
  host?: string;
  port?: number;
  kind?: BackendKind;
  error?: string;
}

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_DOT = 46;
const CHAR_COLON = 58;
const CHAR_A_LOWER = 97;
const CHAR_F_LOWER = 102;

function isIpv4(text: string): boolean {
  let octets = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= CHAR_0 && code <= CHAR_9) {
      // A leading zero would make "010" ambiguous (octal for some parsers).
      if (digits === 1 && value === 0) {
        return false;
      }
      value = value * 10 + (code - CHAR_0);
      digits++;
      if (value > 255) {
        return false;
      }
    } else if (code === CHAR_DOT && digits > 0) {
      octets++;
      digits = 0;
      value = 0;
    } else {
      return false;
    }
  }
  return digits > 0 && octets === 3;
}

/** True for text such as "1.2.3.4.5" or "300.1.1.1", which must not pass as a DNS name. */
function isDigitsAndDots(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!((code >= CHAR_0 && code <= CHAR_9) || code === CHAR_DOT)) {
      return false;
    }
  }
  return true;
}

/** Loose IPv6 check (hex digits, colons, dots for an embedded IPv4, at least two colons); nginx checks the rest. */
function isIpv6(text: string): boolean {
  let colons = 0;
  if (text.length < 2 || text.length > 45) {
    return false;
  }
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === CHAR_COLON) {
      colons++;
    } else if (!((code >= CHAR_0 && code <= CHAR_9) || (code >= CHAR_A_LOWER && code <= CHAR_F_LOWER) || code === CHAR_DOT)) {
      return false;
    }
  }
  return colons >= 2;
}

/** Parses `host:port`. Case is folded; the result's host is what nginx should connect to. */
export function parseBackend(input: string): ParsedBackend {
  const text = input.toLowerCase();
  const colon = lastIndexOfCode(text, CHAR_COLON);
  if (colon < 0) {
    return { error: "backend must be host:port, as in localhost:3000" };
  }
  const portText = text.substring(colon + 1);
  if (!isPort(portText)) {
    return { error: "backend port must be a number from 1 to 65535" };
  }
  const port = Number(portText);
  const hostPart = text.substring(0, colon);
  if (hostPart.length === 0) {
    return { error: "backend host is empty" };
  }
  if (hostPart.charCodeAt(0) === 91) {
    // "[" ... "]"
    if (hostPart.charCodeAt(hostPart.length - 1) !== 93 || !isIpv6(hostPart.substring(1, hostPart.length - 1))) {
      return { error: "backend IPv6 address must be written in brackets, as in [::1]:3000" };
    }
    return { host: hostPart, port: port, kind: "ipv6" };
  }
  if (isIpv4(hostPart)) {
    return { host: hostPart, port: port, kind: "ipv4" };
  }
  if (isDigitsAndDots(hostPart)) {
    return { error: "backend host is not a valid IPv4 address" };
  }
  if (hostPart.charCodeAt(hostPart.length - 1) === CHAR_DOT) {
    return { error: "backend host must not end with '.'" };
  }
  const name = normalizeHost(hostPart, false);
  if (name.error !== undefined) {
    return { error: "backend host is not an IP address or a valid DNS name: " + name.error };
  }
  return { host: name.host, port: port, kind: "name" };
}
