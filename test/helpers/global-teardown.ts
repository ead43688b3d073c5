import { rmSync } from "node:fs";
import type { ManagedProcess } from "../../scripts/lib/process";

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { testPostgres?: ManagedProcess }).testPostgres;
  await server?.stop();
  if (process.env.TEST_TMP) {
    rmSync(process.env.TEST_TMP, { recursive: true, force: true });
  }
}
