/**
 * Reading an import: NDJSON (one {"host", "backend"|"backends"} per line), a
 * JSON array of the same objects, or an nginx `map $host $var { ... }` block,
 * the file platforms migrate from. Each item keeps its line number so errors
 * point at it. Pure: validation of hosts and backends happens afterwards.
 */

export type ImportFormat = "ndjson" | "json" | "nginx-map";
export const IMPORT_FORMATS: ImportFormat[] = ["ndjson", "json", "nginx-map"];

export interface ImportItem {
  line: number;
  host: unknown;
  backend?: unknown;
  backends?: unknown;
  /** Fields other than host, backend and backends: refused, as in the API. */
  unknownFields: string[];
}

export interface ParsedImport {
  items: ImportItem[];
  errors: string[];
}

function item(line: number, value: unknown, errors: string[]): ImportItem | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    errors.push(`line ${line}: expected an object {"host", "backend" or "backends"}`);
    return undefined;
  }
  const record = value as Record<string, unknown>;
  return {
    line,
    host: record.host,
    backend: record.backend,
    backends: record.backends,
    unknownFields: Object.keys(record).filter((key) => !["host", "backend", "backends"].includes(key)),
  };
}

export function parseNdjson(text: string): ParsedImport {
  const result: ParsedImport = { items: [], errors: [] };
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "") {
      return;
    }
    try {
      const parsed = item(index + 1, JSON.parse(line), result.errors);
      if (parsed) {
        result.items.push(parsed);
      }
    } catch (error) {
      result.errors.push(`line ${index + 1}: not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
  });
  return result;
}

export function parseJsonArray(text: string): ParsedImport {
  const result: ParsedImport = { items: [], errors: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    result.errors.push(`the body is not JSON: ${error instanceof Error ? error.message : String(error)}`);
    return result;
  }
  if (!Array.isArray(parsed)) {
    result.errors.push("the body must be a JSON array of entries");
    return result;
  }
  // Array items have no line of their own; their position (1-based) stands in for it.
  parsed.forEach((value, index) => {
    const entry = item(index + 1, value, result.errors);
    if (entry) {
      result.items.push(entry);
    }
  });
  return result;
}

/**
 * nginx's map with `hostnames`: `name value;`, `.example.com value;` (the
 * name and every name below it), `*.example.com value;`. `default`,
 * `hostnames` and `volatile` are skipped; regular expressions and `include`
 * cannot be turned into entries and are reported.
 */
export function parseNginxMap(text: string): ParsedImport {
  const result: ParsedImport = { items: [], errors: [] };
  const lines = text.split("\n");
  let inside = false;
  lines.forEach((raw, index) => {
    const number = index + 1;
    let line = raw.replace(/#.*$/, "").trim();
    if (!inside) {
      const opening = /^map\s+\$\S+\s+\$\S+\s*\{(.*)$/.exec(line);
      if (opening) {
        inside = true;
        line = (opening[1] ?? "").trim();
      } else {
        if (line !== "") {
          result.errors.push(`line ${number}: expected 'map $host $variable {'`);
        }
        return;
      }
    }
    if (line.startsWith("}")) {
      inside = false;
      return;
    }
    if (line === "") {
      return;
    }
    const match = /^("[^"]*"|'[^']*'|\S+)\s+("[^"]*"|'[^']*'|\S+?)\s*;$/.exec(line) ?? /^(hostnames|volatile)\s*;$/.exec(line);
    if (!match) {
      result.errors.push(`line ${number}: expected 'name value;'`);
      return;
    }
    const key = (match[1] ?? "").replace(/^["']|["']$/g, "");
    const value = (match[2] ?? "").replace(/^["']|["']$/g, "");
    if (["default", "hostnames", "volatile"].includes(key)) {
      return;
    }
    if (key.startsWith("~") || key === "include") {
      result.errors.push(`line ${number}: '${key}' (a regular expression or an include) cannot become an entry`);
      return;
    }
    if (key.startsWith(".")) {
      // nginx: ".example.com" matches example.com and every name below it.
      result.items.push({ line: number, host: key.slice(1), backend: value, unknownFields: [] });
      result.items.push({ line: number, host: `*${key}`, backend: value, unknownFields: [] });
      return;
    }
    result.items.push({ line: number, host: key, backend: value, unknownFields: [] });
  });
  if (inside) {
    result.errors.push(`line ${lines.length}: the map block is not closed with '}'`);
  }
  return result;
}

export function parseImport(format: ImportFormat, text: string): ParsedImport {
  if (format === "ndjson") {
    return parseNdjson(text);
  }
  if (format === "json") {
    return parseJsonArray(text);
  }
  return parseNginxMap(text);
}
