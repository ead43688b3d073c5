import { Injectable } from "@nestjs/common";
import { InjectDataSource } from "@nestjs/typeorm";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { DataSource } from "typeorm";

/**
 * The control plane's Prometheus metrics (prom-client), one registry per
 * process. Latency buckets in seconds, from a loopback write (~5 ms) to the
 * bulk import's edge confirmation timeout (60 s).
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly adminRequests = new Counter({
    name: "set_backend_admin_requests_total",
    help: "Admin API requests, by route pattern, method and status.",
    labelNames: ["route", "method", "status"] as const,
    registers: [this.registry],
  });

  readonly writeDuration = new Histogram({
    name: "set_backend_write_duration_seconds",
    help: "Time from a write's arrival to its answer, edge confirmations included.",
    labelNames: ["operation"] as const,
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly pushDuration = new Histogram({
    name: "set_backend_edge_push_duration_seconds",
    help: "Time for an edge to confirm a pushed change (propagation lag), by edge and outcome.",
    labelNames: ["edge", "outcome"] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60],
    registers: [this.registry],
  });

  readonly lastConfirmedPush = new Gauge({
    name: "set_backend_edge_last_confirmed_push_timestamp_seconds",
    help: "Unix time of the last push an edge confirmed.",
    labelNames: ["edge"] as const,
    registers: [this.registry],
  });

  constructor(@InjectDataSource() dataSource: DataSource) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "set_backend_table_entries",
      help: "Entries in the database (read when scraped).",
      registers: [this.registry],
      async collect() {
        const rows: Array<{ n: string }> = await dataSource.query(`SELECT count(*) AS "n" FROM "entries"`).catch(() => []);
        if (rows[0] !== undefined) {
          this.set(Number(rows[0].n));
        }
      },
    });
    new Gauge({
      name: "set_backend_table_revision",
      help: "Highest revision in the change log (read when scraped).",
      registers: [this.registry],
      async collect() {
        const rows: Array<{ r: string | null }> = await dataSource.query(`SELECT max("revision") AS "r" FROM "entry_changes"`).catch(() => []);
        if (rows[0] !== undefined) {
          this.set(Number(rows[0].r ?? 0));
        }
      },
    });
  }
}
