import { readFileSync } from "node:fs";

/** What a token may do: read (GET, HEAD) or read and write. */
export type Scope = "read" | "write";

export interface ApiToken {
  /** Recorded as the actor of every change made with the token. */
  name: string;
  scope: Scope;
  token: string;
}

export const MIN_TOKEN_LENGTH = 16;
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/**
 * Parses token definitions, one per line or comma-separated:
 * `name:scope:token` (scope `read` or `write`). Blank lines and `#`
 * comments are skipped. Throws with the offending entry's position.
 */
export function parseTokens(text: string, source: string): ApiToken[] {
  const tokens: ApiToken[] = [];
  const items = text
    .split(/[\n,]/)
    .map((item) => item.replace(/#.*$/, "").trim())
    .filter((item) => item !== "");
  items.forEach((item, index) => {
    const [name, scope, ...rest] = item.split(":");
    const token = rest.join(":");
    const where = `${source}, entry ${index + 1}`;
    if (name === undefined || !NAME.test(name)) {
      throw new Error(`${where}: name must be 1-64 letters, digits or . _ @ -`);
    }
    if (scope !== "read" && scope !== "write") {
      throw new Error(`${where}: scope must be read or write, as in ${name}:read:<token>`);
    }
    if (token.length < MIN_TOKEN_LENGTH) {
      throw new Error(`${where}: token must be at least ${MIN_TOKEN_LENGTH} characters`);
    }
    tokens.push({ name, scope, token });
  });
  return tokens;
}

/**
 * Every token the API accepts: ADMIN_TOKEN (read-write, named "admin"),
 * ADMIN_TOKENS, and the file named by ADMIN_TOKENS_FILE. Names and tokens
 * must be unique.
 */
export function loadTokens(adminToken: string, env: NodeJS.ProcessEnv): ApiToken[] {
  const tokens: ApiToken[] = [{ name: "admin", scope: "write", token: adminToken }];
  if (env.ADMIN_TOKENS) {
    tokens.push(...parseTokens(env.ADMIN_TOKENS, "ADMIN_TOKENS"));
  }
  if (env.ADMIN_TOKENS_FILE) {
    tokens.push(...parseTokens(readFileSync(env.ADMIN_TOKENS_FILE, "utf8"), env.ADMIN_TOKENS_FILE));
  }
  const names = new Set<string>();
  const values = new Set<string>();
  for (const token of tokens) {
    if (names.has(token.name)) {
      throw new Error(`token name '${token.name}' is defined twice`);
    }
    if (values.has(token.token)) {
      throw new Error(`token '${token.name}' has the same value as another token`);
    }
    names.add(token.name);
    values.add(token.token);
  }
  return tokens;
}
