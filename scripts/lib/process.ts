import { ChildProcess, spawn, SpawnOptions } from "node:child_process";
import { createWriteStream, WriteStream } from "node:fs";

/** Waits until check() returns a truthy value, polling; throws after timeoutMs with the last error. */
export async function waitUntil<T>(check: () => Promise<T> | T, timeoutMs: number, what: string, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) {
        return value as NonNullable<T>;
      }
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Characters of a child's latest output a ManagedProcess keeps in memory (the log file has all of it). */
const RECENT_OUTPUT_CHARS = 64 * 1024;

/**
 * A child process we started and must stop. Its stdout and stderr go to a
 * log file (and, when echo is set, to ours with a prefix).
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private readonly log: WriteStream;
  /** The latest chunks of output: RECENT_OUTPUT_CHARS characters or a little more. */
  private chunks: string[] = [];
  private chunkChars = 0;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: SpawnOptions & { logFile: string; echo?: boolean },
  ) {
    this.log = createWriteStream(options.logFile, { flags: "a" });
    this.child = spawn(command, args, { ...options, stdio: ["pipe", "pipe", "pipe"] });
    const capture = (chunk: Buffer) => {
      const text = chunk.toString();
      // Kept as chunks and joined only when read: a busy child (a control
      // plane logging every write) must not cost a 64 KiB copy per chunk.
      this.chunks.push(text);
      this.chunkChars += text.length;
      while (this.chunks.length > 1 && this.chunkChars - (this.chunks[0] as string).length >= RECENT_OUTPUT_CHARS) {
        this.chunkChars -= (this.chunks.shift() as string).length;
      }
      this.log.write(text);
      if (options.echo) {
        for (const line of text.split("\n")) {
          if (line.trim() !== "") {
            process.stdout.write(`[${name}] ${line}\n`);
          }
        }
      }
    };
    this.child.stdout?.on("data", capture);
    this.child.stderr?.on("data", capture);
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => resolve(code ?? (signal ? -1 : null)));
      this.child.on("error", (error) => {
        capture(Buffer.from(`${error.message}\n`));
        resolve(-1);
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last RECENT_OUTPUT_CHARS characters the process printed. */
  get recentOutput(): string {
    return this.output;
  }

  private get output(): string {
    const joined = this.chunks.join("").slice(-RECENT_OUTPUT_CHARS);
    this.chunks = [joined];
    this.chunkChars = joined.length;
    return joined;
  }

  /** Sends signal, waits up to timeoutMs, then SIGKILL. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10000): Promise<void> {
    if (this.running) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.child.stdin?.destroy();
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  /** Waits for a line of output matching pattern, failing early if the process exits. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return waitUntil(
      () => {
        const match = this.output.match(pattern);
        if (match) {
          return match;
        }
        if (!this.running) {
          throw new Error(`${this.name} exited: ${this.output.slice(-2000)}`);
        }
        return null;
      },
      timeoutMs,
      `${this.name} to print ${pattern}`,
    );
  }
}
