import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/**
 * docker-compose.yml cannot be run here (no Docker engine), so its structure
 * is checked: the services the design names, the official OpenResty image,
 * health checks, and secrets kept out of the file.
 */
interface ComposeService {
  image?: string;
  env_file?: string | string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string | string[] };
  depends_on?: Record<string, { condition: string }>;
  command?: string[];
}

const root = join(__dirname, "..");
const compose = parse(readFileSync(join(root, "docker-compose.yml"), "utf8"), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;

describe("docker-compose.yml", () => {
  it("has Postgres, the control plane, an OpenResty edge on the official image, and an example backend", () => {
    expect(Object.keys(services).sort()).toEqual(["build", "control-plane", "edge", "postgres", "whoami"]);
    expect(services.edge?.image).toMatch(/^openresty\/openresty:/);
    expect(services.postgres?.image).toMatch(/^postgres:/);
  });

  it("gives every long-running service a health check", () => {
    for (const name of ["postgres", "control-plane", "edge"]) {
      expect([name, services[name]?.healthcheck?.test]).toEqual([name, expect.anything()]);
    }
  });

  it("takes secrets from the env file, never inline", () => {
    const inline = JSON.stringify(services);
    for (const secret of ["ADMIN_TOKEN", "SYNC_SECRET", "POSTGRES_PASSWORD", "DATABASE_URL"]) {
      expect(inline).not.toContain(`"${secret}"`);
    }
    for (const name of ["postgres", "control-plane", "edge"]) {
      expect([name, services[name]?.env_file]).toEqual([name, "compose.env"]);
    }
    const example = readFileSync(join(root, "compose.env.example"), "utf8");
    for (const secret of ["ADMIN_TOKEN", "SYNC_SECRET", "SET_BACKEND_SYNC_SECRET", "POSTGRES_PASSWORD", "DATABASE_URL"]) {
      expect(example).toMatch(new RegExp(`^${secret}=`, "m"));
    }
  });

  it("publishes only the edge, on loopback, and never the sync listener", () => {
    expect(services.edge?.ports).toEqual(["127.0.0.1:8080:8080"]);
    for (const [name, service] of Object.entries(services)) {
      if (name !== "edge") {
        expect([name, service.ports]).toEqual([name, undefined]);
      }
    }
    expect(services["control-plane"]?.environment?.EDGE_SYNC_URLS).toBe("http://edge:8082");
  });

  it("runs the edge on the config the build step renders with the project's own renderer", () => {
    expect(services.build?.command?.join(" ")).toContain("node dist/scripts/render-edge.js build/compose/nginx.conf");
    expect(services.edge?.command?.join(" ")).toContain("-c /app/build/compose/nginx.conf");
    expect(services["control-plane"]?.depends_on?.build?.condition).toBe("service_completed_successfully");
  });
});
