/**
 * The edge's own answers (404 unknown host, 502, 503 never loaded), as HTML
 * by default and JSON when the client accepts it. Templates are files an
 * operator can replace: <dir>/<status>.html or .json first, then
 * error.html / error.json. Placeholders: {{status}}, {{title}}, {{reason}},
 * {{message}}, {{host}}, {{request_id}}. Read once per worker at start.
 */
import * as cjson from "cjson.safe";
import { PAGES_DIR } from "./config";
import { readFile } from "./files";

/**
 * A template split at its placeholders: literal text at even indexes, a
 * placeholder's name at odd ones. A page goes out as these parts through
 * ngx.print, never as one Lua string: LuaJIT hashes a string from four of
 * its bytes, so every page built from one template would share a hash, and
 * creating each new one would compare it with all the pages not yet
 * garbage-collected. Under a flood of unknown hosts that made each 404 cost
 * hundreds of microseconds, growing with the flood.
 */
type CompiledTemplate = string[];

interface PageTemplates {
  html: CompiledTemplate;
  json: CompiledTemplate;
}

function compile(template: string): CompiledTemplate {
  const parts: CompiledTemplate = [];
  let position = 1;
  while (true) {
    const [start, finish, name] = string.find(template, "{{([%w_]+)}}", position);
    if (start === undefined || finish === undefined || name === undefined) {
      parts.push(string.sub(template, position));
      return parts;
    }
    parts.push(string.sub(template, position, start - 1), name as string);
    position = finish + 1;
  }
}

const FALLBACK_HTML = "<!doctype html><title>{{status}} {{title}}</title><h1>{{status}} {{title}}</h1><p>{{message}}</p><p>request id {{request_id}}</p>\n";
const FALLBACK_JSON = '{"error":"{{reason}}","message":"{{message}}","host":"{{host}}","request_id":"{{request_id}}"}\n';

const TITLES: { [status: number]: string } = {
  400: "Bad Request",
  404: "Not Found",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Per worker: status -> templates. */
const templates = new LuaTable<number, PageTemplates>();
let defaultTemplates: PageTemplates = { html: compile(FALLBACK_HTML), json: compile(FALLBACK_JSON) };

/** Loads the templates from PAGES_DIR. Called from init_worker. */
export function loadPages(): void {
  const html = readFile(PAGES_DIR + "/error.html");
  const json = readFile(PAGES_DIR + "/error.json");
  if (html === undefined || json === undefined) {
    ngx.log(ngx.WARN, "[pages] no error.html/error.json in ", PAGES_DIR, "; using built-in pages");
  }
  defaultTemplates = { html: compile(html ?? FALLBACK_HTML), json: compile(json ?? FALLBACK_JSON) };
  for (const [status] of pairs(TITLES)) {
    const statusHtml = readFile(PAGES_DIR + "/" + status + ".html");
    const statusJson = readFile(PAGES_DIR + "/" + status + ".json");
    if (statusHtml !== undefined || statusJson !== undefined) {
      templates.set(status, {
        html: statusHtml === undefined ? defaultTemplates.html : compile(statusHtml),
        json: statusJson === undefined ? defaultTemplates.json : compile(statusJson),
      });
    }
  }
}

const HTML_ESCAPES: { [char: string]: string } = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text: string): string {
  const [escaped] = string.gsub(text, "[&<>\"']", HTML_ESCAPES);
  return escaped;
}

function escapeJson(text: string): string {
  const [encoded] = cjson.encode(text);
  // cjson quotes the string; the template supplies its own quotes.
  return encoded === undefined ? "" : string.sub(encoded, 2, -2);
}

function wantsJson(): boolean {
  const accept = ngx.var.http_accept;
  return accept !== undefined && string.find(accept, "application/json", 1, true)[0] !== undefined;
}

/**
 * Sends the page for status and ends the request. `reason` is a stable code
 * (unknown_host, no_table, backend_unresolvable...), `message` is for a person.
 */
export function respond(status: number, reason: string, message: string, host: string): void {
  const json = wantsJson();
  const page = templates.get(status) ?? defaultTemplates;
  const escape = json ? escapeJson : escapeHtml;
  const values: { [name: string]: string } = {
    status: tostring(status),
    title: escape(TITLES[status] ?? "Error"),
    reason: escape(reason),
    message: escape(message),
    host: escape(host),
    request_id: escape(ngx.var.request_id ?? ""),
  };
  const parts = json ? page.json : page.html;
  const body: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    // An unknown placeholder stays as written, so a typo in a template shows.
    body.push(i % 2 === 0 ? part : (values[part] ?? "{{" + part + "}}"));
  }
  ngx.status = status;
  ngx.header["Content-Type"] = json ? "application/json" : "text/html; charset=utf-8";
  ngx.header["Cache-Control"] = "no-store";
  ngx.print(body);
  ngx.exit(200);
}

/**
 * content_by_lua of the named location that error_page sends nginx's own 502
 * and 504 to (openresty/set_backend_server.conf): every try of the request
 * failed. $upstream_status lists each try; the last decides the status.
 */
export function upstreamFailureStatus(upstreamStatus: string): number {
  const [last] = string.match(upstreamStatus, "(%d+)%s*$");
  return last === "504" ? 504 : 502;
}
