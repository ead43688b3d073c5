import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/**
 * docker-compose.yml cannot be run here (no Docker engine), so its structure
 * is checked: the topology (Postgres, two control-plane replicas, two edges
 * on the official OpenResty image, a load balancer, an example backend),
 * health checks, a named volume per edge for its table, secrets kept in the
 * env file, only the load balancer published and only on loopback, and every
 * replica pushing to every edge.
 */
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  env_file?: string | string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  networks?: Record<string, { aliases?: string[] } | null>;
  healthcheck?: { test: string | string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  command?: string[];
}

const root = join(__dirname, "..");
const text = readFileSync(join(root, "docker-compose.yml"), "utf8");
const compose = parse(text, { merge: true }) as { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
const services = compose.services;
const controlPlanes = ["control-plane-1", "control-plane-2"];
const edges = ["edge-1", "edge-2"];
const secretNames = ["ADMIN_TOKEN", "SYNC_SECRET", "SET_BACKEND_SYNC_SECRET", "POSTGRES_PASSWORD", "DATABASE_URL"];

function service(name: string): ComposeService {
  const found = services[name];
  if (found === undefined) {
    throw new Error(`docker-compose.yml has no service ${name}`);
  }
  return found;
}

/** FROM lines of a Dockerfile, in order. */
function baseImages(dockerfile: string): string[] {
  return readFileSync(join(root, dockerfile), "utf8")
    .split("\n")
    .filter((line) => /^FROM\s/i.test(line))
    .map((line) => line.split(/\s+/)[1] as string);
}

/** The env file's values, which must appear nowhere in the compose file. */
function exampleSecrets(): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(join(root, "compose.env.example"), "utf8").split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (match) {
      values[match[1] as string] = match[2] as string;
    }
  }
  return values;
}

describe("docker-compose.yml", () => {
  it("runs Postgres, two control-plane replicas, two edges, a load balancer and an example backend", () => {
    expect(Object.keys(services).sort()).toEqual(["control-plane-1", "control-plane-2", "edge-1", "edge-2", "example-backend", "lb", "postgres"]);
    expect(service("postgres").image).toMatch(/^postgres:\d+/);
    expect(service("lb").image).toMatch(/^haproxy:\d/);
    expect(service("example-backend").image).toMatch(/^nginx:\d/);
  });

  it("builds the control plane and the edges from the Dockerfiles in docker/, the edge on the official OpenResty image", () => {
    for (const name of controlPlanes) {
      expect([name, service(name).build?.dockerfile]).toEqual([name, "docker/control-plane.Dockerfile"]);
    }
    for (const name of edges) {
      expect([name, service(name).build?.dockerfile]).toEqual([name, "docker/edge.Dockerfile"]);
    }
    expect(baseImages("docker/edge.Dockerfile").at(-1)).toMatch(/^openresty\/openresty:[\w.]+-bookworm$/);
    expect(baseImages("docker/control-plane.Dockerfile").at(-1)).toMatch(/^node:20/);
  });

  it("gives every service a health check", () => {
    for (const [name, entry] of Object.entries(services)) {
      expect([name, entry.healthcheck?.disable]).toEqual([name, undefined]);
      expect([name, entry.healthcheck?.test]).toEqual([name, expect.arrayContaining([expect.stringMatching(/^CMD/)])]);
    }
    // The edge is healthy only once it holds a table, as its sync listener reports.
    expect(JSON.stringify(service("edge-1").healthcheck?.test)).toContain("127.0.0.1:8082/status");
    expect(JSON.stringify(service("edge-1").healthcheck?.test)).toContain('\\"loaded\\":true');
  });

  it("gives each edge its own named volume at SET_BACKEND_STATE_DIR", () => {
    const targets = new Set<string>();
    for (const name of edges) {
      const edge = service(name);
      const stateDir = edge.environment?.SET_BACKEND_STATE_DIR;
      expect(stateDir).toMatch(/^\//);
      const mounts = (edge.volumes ?? []).map((volume) => volume.split(":"));
      const state = mounts.find(([, target]) => target === stateDir);
      expect([name, state?.[0]]).toEqual([name, `${name}-state`]);
      expect(Object.keys(compose.volumes ?? {})).toContain(`${name}-state`);
      targets.add(state?.[0] as string);
    }
    expect(targets.size).toBe(edges.length);
  });

  it("takes secrets from compose.env, never inline", () => {
    const example = exampleSecrets();
    for (const secret of secretNames) {
      expect([secret, example[secret]]).toEqual([secret, expect.stringMatching(/.{16,}/)]);
      expect([secret, text.includes(example[secret] as string)]).toEqual([secret, false]);
    }
    expect(example.SYNC_SECRET).toBe(example.SET_BACKEND_SYNC_SECRET);
    for (const [name, entry] of Object.entries(services)) {
      for (const key of Object.keys(entry.environment ?? {})) {
        expect([name, key, secretNames.includes(key)]).toEqual([name, key, false]);
      }
    }
    for (const name of ["postgres", ...controlPlanes, ...edges]) {
      expect([name, service(name).env_file]).toEqual([name, "compose.env"]);
    }
  });

  it("publishes only the load balancer, only on 127.0.0.1, and never a sync listener", () => {
    expect(service("lb").ports).toEqual(["127.0.0.1:8080:8080"]);
    for (const [name, entry] of Object.entries(services)) {
      if (name !== "lb") {
        expect([name, entry.ports]).toEqual([name, undefined]);
      }
    }
    expect(text).not.toMatch(/["'\s]8082:8082/);
    const lb = readFileSync(join(root, "docker", "lb", "haproxy.cfg"), "utf8");
    for (const name of edges) {
      expect(lb).toMatch(new RegExp(`^\\s*server ${name} ${name}:8080$`, "m"));
    }
  });

  it("has every replica push to both edges, and every edge pull from a control plane", () => {
    for (const name of controlPlanes) {
      const urls = service(name).environment?.EDGE_SYNC_URLS?.split(",") ?? [];
      expect([name, urls.sort()]).toEqual([name, edges.map((edge) => `http://${edge}:8082`)]);
    }
    const controlPlaneNames = new Set<string>(controlPlanes);
    for (const name of controlPlanes) {
      for (const alias of service(name).networks?.default?.aliases ?? []) {
        controlPlaneNames.add(alias);
      }
    }
    for (const name of edges) {
      const url = service(name).environment?.SET_BACKEND_CONTROL_PLANE_URL ?? "";
      const host = /^http:\/\/([^:/]+):8081$/.exec(url)?.[1];
      expect([name, host !== undefined && controlPlaneNames.has(host)]).toEqual([name, true]);
      expect(Object.keys(service(name).depends_on ?? {}).sort()).toEqual(controlPlanes);
    }
    // The alias the edges use must belong to both replicas, so either one can answer.
    for (const name of controlPlanes) {
      expect(service(name).networks?.default?.aliases).toContain("control-plane");
    }
  });

  it("starts each service after what it needs is healthy", () => {
    for (const name of controlPlanes) {
      expect(service(name).depends_on?.postgres?.condition).toBe("service_healthy");
    }
    for (const name of edges) {
      expect(service("lb").depends_on?.[name]?.condition).toBe("service_healthy");
    }
  });
});
