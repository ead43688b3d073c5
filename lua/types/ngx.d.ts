/**
 * The part of lua-nginx-module's API that the edge uses, declared once so no
 * `any` leaks into the module. Plain functions take no self (@noSelf); shared
 * dict, socket and cache methods are colon calls (`this` typed as the object).
 * ngx is declared as an interface because `var` and `null` are reserved words
 * in a TypeScript namespace but fine as property names.
 */

/** @noSelf */
interface NgxSharedDict {
  get(this: NgxSharedDict, key: string): LuaMultiReturn<[string | number | boolean | undefined, number | undefined]>;
  safe_set(this: NgxSharedDict, key: string, value: string | number | boolean, exptime?: number, flags?: number): LuaMultiReturn<[boolean, string | undefined]>;
  safe_add(this: NgxSharedDict, key: string, value: string | number | boolean, exptime?: number, flags?: number): LuaMultiReturn<[boolean, string | undefined]>;
  delete(this: NgxSharedDict, key: string): void;
  incr(this: NgxSharedDict, key: string, value: number, init?: number, initTtl?: number): LuaMultiReturn<[number, undefined] | [undefined, string]>;
  get_keys(this: NgxSharedDict, maxCount?: number): string[];
  free_space(this: NgxSharedDict): number;
  capacity(this: NgxSharedDict): number;
}

/** @noSelf */
interface NgxTcpSocket {
  connect(this: NgxTcpSocket, host: string, port: number): LuaMultiReturn<[1, undefined] | [undefined, string]>;
  settimeouts(this: NgxTcpSocket, connectMs: number, sendMs: number, readMs: number): void;
  send(this: NgxTcpSocket, data: string): LuaMultiReturn<[number, undefined] | [undefined, string]>;
  receive(this: NgxTcpSocket, pattern: string | number): LuaMultiReturn<[string, undefined] | [undefined, string]>;
  close(this: NgxTcpSocket): void;
}

/** @noSelf */
interface NgxApi {
  readonly OK: 0;
  readonly ERR: number;
  readonly WARN: number;
  readonly NOTICE: number;
  readonly INFO: number;
  /** Sentinel for JSON null and for nginx values that are absent. */
  readonly null: LightUserData;

  /** nginx variables; reading an unset one gives nil. Writable only if declared with `set`. */
  var: { [name: string]: string | undefined };
  status: number;
  header: { [name: string]: string | undefined };
  /** Per-request table, shared by all phases of one request. */
  ctx: { [key: string]: unknown };

  log(level: number, ...args: unknown[]): void;
  exit(status: number): void;
  print(...args: unknown[]): LuaMultiReturn<[1, undefined] | [undefined, string]>;
  now(): number;
  sleep(seconds: number): void;

  shared: { [name: string]: NgxSharedDict | undefined };

  req: {
    get_method(): string;
    read_body(): void;
    get_body_data(): string | undefined;
    get_headers(maxHeaders?: number): { [name: string]: string | string[] | undefined };
  };
  timer: {
    at(delaySeconds: number, callback: (this: void, premature: boolean) => void): LuaMultiReturn<[1, undefined] | [undefined, string]>;
    every(delaySeconds: number, callback: (this: void, premature: boolean) => void): LuaMultiReturn<[1, undefined] | [undefined, string]>;
  };
  worker: {
    id(): number | undefined;
    pid(): number;
    exiting(): boolean;
  };
  socket: {
    tcp(): NgxTcpSocket;
  };
}

declare const ngx: NgxApi;

declare module "cjson.safe" {
  /** @noSelf */
  interface CjsonSafe {
    /** Returns nil plus a message instead of raising on bad input. */
    decode(text: string): LuaMultiReturn<[unknown, undefined] | [undefined, string]>;
    encode(value: unknown): LuaMultiReturn<[string, undefined] | [undefined, string]>;
    /** Sentinel that JSON null decodes to. */
    readonly null: LightUserData;
    /** Metatable that makes an empty table encode as [] instead of {}. */
    readonly empty_array_mt: LuaTable;
  }
  const cjson: CjsonSafe;
  export = cjson;
}

declare module "resty.lrucache" {
  /** @noSelf */
  export interface LruCache<V> {
    /** The value, or nil and the expired value when its TTL has passed. */
    get(this: LruCache<V>, key: string): LuaMultiReturn<[V | undefined, V | undefined]>;
    set(this: LruCache<V>, key: string, value: V, ttlSeconds?: number): void;
  }
  /** @noSelf */
  interface LruCacheModule {
    "new"<V>(maxItems: number): LuaMultiReturn<[LruCache<V>, undefined] | [undefined, string]>;
  }
  const lrucache: LruCacheModule;
  export = lrucache;
}

declare module "ngx.balancer" {
  /** @noSelf */
  interface NgxBalancer {
    set_current_peer(address: string, port: number): LuaMultiReturn<[true, undefined] | [undefined, string]>;
    set_more_tries(count: number): LuaMultiReturn<[true, string | undefined] | [undefined, string]>;
    /** "failed" or "next" after a failed try, nil on the first. */
    get_last_failure(): LuaMultiReturn<[string | undefined, number | undefined]>;
  }
  const balancer: NgxBalancer;
  export = balancer;
}

/** One answer record of lua-resty-dns (resty.dns.resolver, Debian: nginx.dns.resolver). */
interface DnsAnswer {
  name: string;
  type: number;
  address?: string;
  ttl: number;
}

/** What query() returns: the answers, or errcode/errstr for a DNS-level error. */
type DnsAnswers = DnsAnswer[] & { errcode?: number; errstr?: string };

/** @noSelf */
interface DnsResolver {
  query(this: DnsResolver, name: string, options?: { qtype?: number }): LuaMultiReturn<[DnsAnswers, undefined] | [undefined, string]>;
}

/** @noSelf */
interface DnsResolverModule {
  readonly TYPE_A: number;
  readonly TYPE_AAAA: number;
  "new"(this: DnsResolverModule, options: { nameservers: Array<[string, number]>; retrans?: number; timeout?: number }): LuaMultiReturn<[DnsResolver, undefined] | [undefined, string]>;
}
