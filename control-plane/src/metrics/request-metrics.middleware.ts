import { Injectable, NestMiddleware } from "@nestjs/common";
import type { NextFunction, Request, Response } from "express";
import { MetricsService } from "./metrics.service";

/** Counts every admin request once answered, by the route pattern (not the raw path, which holds hosts). */
@Injectable()
export class RequestMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(request: Request, response: Response, next: NextFunction): void {
    response.on("finish", () => {
      const route = (request.route as { path?: string } | undefined)?.path ?? "unmatched";
      this.metrics.adminRequests.inc({ route, method: request.method, status: String(response.statusCode) });
    });
    next();
  }
}
