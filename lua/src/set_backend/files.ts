/** Reading small files at start (templates, /etc/hosts, the saved table). */

/** The whole file, or nil when it cannot be opened. */
export function readFile(path: string): string | undefined {
  const [file] = io.open(path, "r");
  if (file === undefined) {
    return undefined;
  }
  const text = file.read("*a") as string | undefined;
  file.close();
  return text;
}
