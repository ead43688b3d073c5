#!/usr/bin/env node
/**
 * set-backend: the admin API from a shell. Talks to the edge on the admin
 * host, like the curl commands in the README.
 *
 *   set-backend add some.host.com localhost:3000
 *   set-backend list --suffix host.com
 *   set-backend import entries.ndjson --dry-run
 *
 * Exit codes: 0 done, 1 refused by the API (or not ready), 2 usage, 3 unreachable or server error.
 */
import { Command, CommanderError } from "commander";
import { Answer, call, check, CliError, ClientOptions, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, findToken, nextPage } from "./client";

interface GlobalOptions {
  url: string;
  adminHost: string;
  token?: string;
  json?: boolean;
}

function clientOptions(program: Command): ClientOptions {
  const options = program.opts<GlobalOptions>();
  return { url: options.url, adminHost: options.adminHost, token: findToken(options.token) };
}

function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** A one-line progress bar on stderr, drawn only for a terminal. */
function progressBar(label: string): (sent: number, total: number) => void {
  if (!process.stderr.isTTY) {
    return () => undefined;
  }
  const width = 30;
  return (sent, total) => {
    const share = total === 0 ? 1 : sent / total;
    const filled = Math.round(share * width);
    process.stderr.write(`\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.round(share * 100)}%${share >= 1 ? "\n" : ""}`);
  };
}

function entryLine(entry: { host: string; backends: string[] }): string {
  return `${entry.host}\t${entry.backends.join(" ")}`;
}

/** Set by a command that finished but must still fail the process (status: not ready). */
let commandExitCode = EXIT_OK;

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("set-backend")
    .description("Manage set-backend's routes through its admin API.")
    .option("--url <url>", "edge (or control plane) URL", process.env.SET_BACKEND_URL ?? "http://127.0.0.1:8080")
    .option("--admin-host <host>", "the admin API's host name", process.env.SET_BACKEND_ADMIN_HOST ?? "l.io")
    .option("--token <token>", "admin token (default: SET_BACKEND_TOKEN, then .data/admin-token)")
    .option("--json", "print the API's JSON")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  const json = () => program.opts<GlobalOptions>().json === true;

  program
    .command("add")
    .description("create or replace an entry")
    .argument("<host>", "host name or *.wildcard")
    .argument("<backends...>", "one or more host:port")
    .action(async (host: string, backends: string[]) => {
      const answer = check(await call(clientOptions(program), "PUT", `/entries/${encodeURIComponent(host)}.json`, JSON.stringify({ backends })));
      const entry = JSON.parse(answer.body);
      print(json() ? answer.body : `${answer.status === 201 ? "created" : "updated"} ${entryLine(entry)} (revision ${entry.revision})`);
      const lagging = answer.headers["x-set-backend-lagging-edges"];
      if (typeof lagging === "string") {
        process.stderr.write(`warning: not confirmed by ${lagging}\n`);
      }
    });

  program
    .command("list")
    .description("list entries, all pages")
    .option("--suffix <domain>", "only this domain and the hosts below it")
    .action(async (options: { suffix?: string }) => {
      const client = clientOptions(program);
      let path: string | undefined = `/entries.json${options.suffix ? `?suffix=${encodeURIComponent(options.suffix)}` : ""}`;
      const all: Array<{ host: string; backends: string[] }> = [];
      for (let pages = 0; path !== undefined && pages < 100000; pages++) {
        const answer: Answer = check(await call(client, "GET", path));
        const entries = JSON.parse(answer.body) as Array<{ host: string; backends: string[] }>;
        if (json()) {
          all.push(...entries);
        } else {
          entries.forEach((entry) => print(entryLine(entry)));
        }
        path = nextPage(answer);
      }
      if (json()) {
        print(JSON.stringify(all));
      }
    });

  program
    .command("show")
    .description("show one entry")
    .argument("<host>")
    .action(async (host: string) => {
      const answer = check(await call(clientOptions(program), "GET", `/entries/${encodeURIComponent(host)}.json`));
      const entry = JSON.parse(answer.body);
      print(json() ? answer.body : `${entryLine(entry)}\trevision ${entry.revision}\tupdated ${entry.updated_at}`);
    });

  program
    .command("rm")
    .description("delete an entry")
    .argument("<host>")
    .action(async (host: string) => {
      check(await call(clientOptions(program), "DELETE", `/entries/${encodeURIComponent(host)}.json`));
      print(`deleted ${host}`);
    });

  program
    .command("import")
    .description("import entries from a file, all or nothing")
    .argument("<file>", "NDJSON, a JSON array, or an nginx map")
    .option("--format <format>", "ndjson, json or nginx-map", "ndjson")
    .option("--dry-run", "check and count, write nothing")
    .action(async (file: string, options: { format: string; dryRun?: boolean }) => {
      const query = `?format=${encodeURIComponent(options.format)}${options.dryRun ? "&dry_run=true" : ""}`;
      const answer = check(await call(clientOptions(program), "POST", `/entries/import${query}`, { file, onProgress: progressBar("uploading") }));
      const result = JSON.parse(answer.body) as { dry_run: boolean; total: number; created: number; updated: number; edges: Array<{ edge: string; confirmed: boolean; error?: string }> };
      if (json()) {
        print(answer.body);
      } else {
        print(`${result.dry_run ? "would import" : "imported"} ${result.total} entries: ${result.created} new, ${result.updated} updated`);
      }
      const lagging = result.edges.filter((edge) => !edge.confirmed);
      for (const edge of lagging) {
        process.stderr.write(`warning: not confirmed by ${edge.edge}: ${edge.error ?? ""}\n`);
      }
    });

  program
    .command("export")
    .description("print every entry, in a form import takes back")
    .option("--format <format>", "ndjson or json", "ndjson")
    .action(async (options: { format: string }) => {
      const answer = check(await call(clientOptions(program), "GET", `/entries/export?format=${encodeURIComponent(options.format)}`));
      process.stdout.write(answer.body);
    });

  program
    .command("status")
    .description("readiness of Postgres, the control plane and every edge; exit 1 when not ready")
    .action(async () => {
      const answer = await call(clientOptions(program), "GET", "/readyz");
      const readiness = JSON.parse(answer.body) as {
        status: string;
        database: { up: boolean; revision?: number; error?: string };
        edges: Array<{ edge: string; ready: boolean; revision?: number; source?: string; error?: string }>;
      };
      if (json()) {
        print(answer.body);
      } else {
        print(`${readiness.status}\tdatabase ${readiness.database.up ? `up at revision ${readiness.database.revision}` : `down: ${readiness.database.error}`}`);
        for (const edge of readiness.edges) {
          print(`${edge.ready ? "ready" : "not ready"}\t${edge.edge}\trevision ${edge.revision ?? "-"}\t${edge.source ?? ""}${edge.error ? `\t${edge.error}` : ""}`);
        }
      }
      if (answer.status !== 200) {
        commandExitCode = EXIT_REFUSED;
      }
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    commandExitCode = EXIT_OK;
    await buildProgram().parseAsync(argv, { from: "user" });
    return commandExitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; commander has printed what it had to.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof CliError) {
      process.stderr.write(`set-backend: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`set-backend: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_USAGE;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
