import { readFileSync, statSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";

/** Exit codes scripts can rely on. */
export const EXIT_OK = 0;
/** The API refused the call (4xx), or `status` found something not ready. */
export const EXIT_REFUSED = 1;
/** The command line itself is wrong. */
export const EXIT_USAGE = 2;
/** The API could not be reached, or failed (5xx). */
export const EXIT_UNAVAILABLE = 3;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  /** The edge (or control plane) base URL. */
  url: string;
  /** Host header of the admin API. */
  adminHost: string;
  token: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The token from --token, SET_BACKEND_TOKEN, or the admin-token file `npm start` writes. */
export function findToken(given: string | undefined): string {
  const token = given ?? process.env.SET_BACKEND_TOKEN;
  if (token) {
    return token;
  }
  const file = join(process.env.DATA_DIR || ".data", "admin-token");
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    throw new CliError(`no token: pass --token, set SET_BACKEND_TOKEN, or run where ${file} exists`, EXIT_USAGE);
  }
}

/**
 * One admin API call. `upload` streams a file as the body and reports
 * progress (bytes sent, total) as it goes.
 */
export function call(
  options: ClientOptions,
  method: string,
  path: string,
  body?: string | { file: string; onProgress: (sent: number, total: number) => void },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, options.url);
    const headers: Record<string, string> = { host: options.adminHost, authorization: `Bearer ${options.token}` };
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", (error) => reject(new CliError(`cannot reach ${options.url}: ${error.message}`, EXIT_UNAVAILABLE)));
    if (body === undefined || typeof body === "string") {
      if (body !== undefined) {
        req.setHeader("content-type", "application/json");
      }
      req.end(body);
      return;
    }
    const total = statSync(body.file).size;
    req.setHeader("content-length", String(total));
    req.setHeader("content-type", "text/plain");
    const data = readFileSync(body.file);
    const chunkSize = 256 * 1024;
    let sent = 0;
    const writeMore = (): void => {
      while (sent < data.length) {
        const chunk = data.subarray(sent, sent + chunkSize);
        sent += chunk.length;
        body.onProgress(sent, total);
        if (!req.write(chunk)) {
          req.once("drain", writeMore);
          return;
        }
      }
      req.end();
    };
    writeMore();
  });
}

/** Turns an answer that is not 2xx into a CliError with the API's message and details. */
export function check(answer: Answer): Answer {
  if (answer.status >= 200 && answer.status < 300) {
    return answer;
  }
  let message = `HTTP ${answer.status}`;
  try {
    const error = JSON.parse(answer.body) as { error?: string; message?: string; details?: string[] };
    message = `${error.error ?? answer.status}: ${error.message ?? ""}${error.details ? `\n  ${error.details.join("\n  ")}` : ""}`;
  } catch {
    message = `HTTP ${answer.status}: ${answer.body.slice(0, 200)}`;
  }
  throw new CliError(message, answer.status >= 500 || answer.status === 0 ? EXIT_UNAVAILABLE : EXIT_REFUSED);
}

/** The next page's path from a `Link: <…>; rel="next"` header, if any. */
export function nextPage(answer: Answer): string | undefined {
  const link = answer.headers.link;
  return typeof link === "string" ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
}
