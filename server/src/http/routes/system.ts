/** Public endpoints: limits for clients, health for operators. */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { configSchema, type Limits } from "@wbk/shared";
import { z } from "zod";
import type { AppEnv } from "../context.js";
import { jsonAnswer } from "../openapi.js";

export function systemRoutes(app: OpenAPIHono<AppEnv>, deps: { limits: Limits; health: () => { documents: number; sockets: number } }) {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/config",
      tags: ["system"],
      responses: { 200: jsonAnswer(configSchema, "The limits clients check before writing") },
    }),
    (c) => c.json({ limits: deps.limits }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/healthz",
      tags: ["system"],
      responses: {
        200: jsonAnswer(z.object({ status: z.literal("ok"), documents: z.number(), sockets: z.number() }), "Serving"),
      },
    }),
    (c) => c.json({ status: "ok" as const, ...deps.health() }, 200),
  );
}
