/** Weekly reports for admins (DESIGN.md "The weekly report", "REST API"). */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { WbkError, reportIndexSchema, weekQuerySchema, weeklyReportSchema } from "@wbk/shared";
import type { Context } from "hono";
import { z } from "zod";
import type { Access } from "../../access.js";
import type { ReportService } from "../../reports/service.js";
import type { AppEnv, RequireAuth } from "../context.js";
import { bearer, errorAnswers, jsonAnswer } from "../openapi.js";

export function reportRoutes(
  app: OpenAPIHono<AppEnv>,
  deps: { reports: ReportService; access: Access; requireAuth: RequireAuth },
): void {
  // Reports name every user and what they did: admins (ADMIN_EMAILS) only.
  const requireAdmin = (c: Context<AppEnv>) => {
    const { userId } = deps.requireAuth(c);
    if (!deps.access.isAdmin(userId)) throw new WbkError("forbidden", "only admins may read reports");
  };
  // Before the query is validated: anyone else is refused whatever they ask for.
  app.use("/api/reports/*", async (c, next) => {
    if (c.req.method === "GET") requireAdmin(c); // other methods: the JSON 404 for unknown routes
    await next();
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/reports/weekly",
      tags: ["reports"],
      security: bearer,
      request: {
        query: z.object({
          week: weekQuerySchema.meta({
            description: 'An ISO week in REPORT_TZ ("2026-W48"), or "current" for the week so far',
            example: "2026-W48",
          }),
        }),
      },
      responses: {
        200: jsonAnswer(weeklyReportSchema, "The week's report; `current` is computed live with `partial: true`"),
        ...errorAnswers("validation_failed", "unauthenticated", "forbidden", "week_not_found"),
      },
    }),
    (c) => {
      requireAdmin(c);
      return c.json(deps.reports.get(c.req.valid("query").week), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/reports/weekly/index",
      tags: ["reports"],
      security: bearer,
      responses: {
        200: jsonAnswer(reportIndexSchema, "Every week with a report, oldest first"),
        ...errorAnswers("unauthenticated", "forbidden"),
      },
    }),
    (c) => {
      requireAdmin(c);
      return c.json({ weeks: deps.reports.index() }, 200);
    },
  );
}
