/**
 * One table of host cases that both sides are held to: the generated Lua
 * (test/lua/host.test.ts) and the control plane's checks
 * (control-plane/src/entries/host-rules.spec.ts).
 */
export interface HostCase {
  name: string;
  input: string;
  wildcard?: boolean;
  /** The normalized host, or undefined when the input must be refused. */
  host?: string;
  /** A piece of the error message when refused. */
  error?: string;
}

const label63 = "a".repeat(63);
const name253 = [label63, label63, label63, "a".repeat(61)].join(".");

export const HOST_CASES: HostCase[] = [
  { name: "a plain name stays as it is", input: "some.host.com", host: "some.host.com" },
  { name: "upper case is folded", input: "Some.Host.COM", host: "some.host.com" },
  { name: "a port is stripped", input: "some.host.com:8080", host: "some.host.com" },
  { name: "one trailing dot is stripped", input: "some.host.com.", host: "some.host.com" },
  { name: "a trailing dot before the port is stripped", input: "Some.Host.com.:8080", host: "some.host.com" },
  { name: "a single label is a host", input: "localhost", host: "localhost" },
  { name: "digits and hyphens inside labels are fine", input: "a-1.b2.example", host: "a-1.b2.example" },
  { name: "an IPv4-looking host is made of valid labels", input: "10.0.0.1", host: "10.0.0.1" },
  { name: "a 63-character label is the longest allowed", input: `${label63}.com`, host: `${label63}.com` },
  { name: "253 characters is the longest host", input: name253, host: name253 },
  { name: "a 253-character host with a trailing dot is fine", input: `${name253}.`, host: name253 },
  { name: "an empty host is refused", input: "", error: "empty" },
  { name: "a lone dot is refused", input: ".", error: "empty" },
  { name: "two trailing dots are refused", input: "a.com..", error: "empty label" },
  { name: "an empty label is refused", input: "a..com", error: "empty label" },
  { name: "a leading dot is refused", input: ".a.com", error: "empty label" },
  { name: "a 64-character label is refused", input: `${"a".repeat(64)}.com`, error: "63" },
  { name: "254 characters is refused", input: `${name253}a`, error: "253" },
  { name: "an underscore is refused", input: "a_b.com", error: "character" },
  { name: "a space is refused", input: "a b.com", error: "character" },
  { name: "a leading hyphen is refused", input: "-a.com", error: "'-'" },
  { name: "a trailing hyphen in a label is refused", input: "a-.com", error: "'-'" },
  { name: "a port of zero is refused", input: "a.com:0", error: "port" },
  { name: "a port above 65535 is refused", input: "a.com:65536", error: "port" },
  { name: "an empty port is refused", input: "a.com:", error: "port" },
  { name: "a port with letters is refused", input: "a.com:80a", error: "port" },
  { name: "two colons are refused", input: "a.com:80:80", error: "character" },
  { name: "an IPv6 literal is refused", input: "[::1]:80", error: "character" },
  { name: "a path is refused", input: "a.com/x", error: "character" },
  { name: "a scheme is refused", input: "http://a.com", error: "port" },
  { name: "a wildcard is refused where not allowed", input: "*.example.com", error: "wildcard" },
  { name: "a wildcard leftmost label is allowed where asked", input: "*.Example.com", wildcard: true, host: "*.example.com" },
  { name: "a wildcard needs two labels after it", input: "*.com", wildcard: true, error: "two labels" },
  { name: "a wildcard inside a name is refused", input: "a.*.com", wildcard: true, error: "character" },
  { name: "a partial wildcard label is refused", input: "a*.example.com", wildcard: true, error: "character" },
];

export interface BackendCase {
  name: string;
  input: string;
  /** The canonical host:port, or undefined when refused. */
  backend?: string;
  kind?: "ipv4" | "ipv6" | "name";
  error?: string;
}

export const BACKEND_CASES: BackendCase[] = [
  { name: "the seed's localhost:3000 is a name", input: "localhost:3000", backend: "localhost:3000", kind: "name" },
  { name: "a DNS name with a port", input: "Files-1.Example.com:8080", backend: "files-1.example.com:8080", kind: "name" },
  { name: "an IPv4 address", input: "10.0.0.1:80", backend: "10.0.0.1:80", kind: "ipv4" },
  { name: "an IPv6 address in brackets", input: "[::1]:3000", backend: "[::1]:3000", kind: "ipv6" },
  { name: "a full IPv6 address in brackets", input: "[2001:DB8::1]:443", backend: "[2001:db8::1]:443", kind: "ipv6" },
  { name: "port 1 is the lowest", input: "a.b:1", backend: "a.b:1", kind: "name" },
  { name: "port 65535 is the highest", input: "a.b:65535", backend: "a.b:65535", kind: "name" },
  { name: "no port is refused", input: "localhost", error: "host:port" },
  { name: "port 0 is refused", input: "localhost:0", error: "port" },
  { name: "port 65536 is refused", input: "localhost:65536", error: "port" },
  { name: "an empty host is refused", input: ":80", error: "empty" },
  { name: "a scheme is refused", input: "http://a.com:80", error: "" },
  { name: "a path is refused", input: "a.com:80/x", error: "port" },
  { name: "a space is refused", input: "a .com:80", error: "" },
  { name: "an nginx variable is refused", input: "$host:80", error: "" },
  { name: "IPv6 without brackets is refused", input: "::1:80", error: "" },
  { name: "an IPv4 octet above 255 is refused", input: "256.1.1.1:80", error: "IPv4" },
  { name: "five IPv4 octets are refused", input: "1.2.3.4.5:80", error: "IPv4" },
  { name: "a leading zero in an octet is refused", input: "01.2.3.4:80", error: "IPv4" },
  { name: "a trailing dot is refused", input: "a.com.:80", error: "'.'" },
  { name: "brackets around a name are refused", input: "[a.com]:80", error: "IPv6" },
  { name: "a wildcard is refused", input: "*.a.com:80", error: "" },
];
