/** HTTP sync: the WebSocket's fallback (GET pulls a state-vector diff, POST pushes an update). */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { WbkError, idSchema, type ConversationId, type Limits } from "@wbk/shared";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { MAX_WAIT_MS, type SyncService } from "../../chat/sync.js";
import type { AppEnv, RequireAuth } from "../context.js";
import { errorResponse } from "../errors.js";
import { bearer, errorAnswers, jsonAnswer } from "../openapi.js";

const SYNC_PATH = "/api/conversations/{id}/sync";
const binary = { "application/octet-stream": { schema: z.string().meta({ format: "binary" }) } };

export function syncRoutes(app: OpenAPIHono<AppEnv>, deps: { sync: SyncService; requireAuth: RequireAuth; limits: Limits }) {
  const member = ["unauthenticated", "forbidden", "not_found", "load_failed"] as const;

  app.openapi(
    createRoute({
      method: "get",
      path: SYNC_PATH,
      tags: ["sync"],
      security: bearer,
      request: {
        params: z.object({ id: idSchema }),
        query: z.object({
          sv: z.string().max(100_000).optional(),
          wait: z
            .string()
            .regex(/^\d{1,5}$/, `wait must be a whole number of milliseconds, at most ${MAX_WAIT_MS}`)
            .transform(Number)
            .pipe(z.number().max(MAX_WAIT_MS, `wait must be at most ${MAX_WAIT_MS}`))
            .optional(),
        }),
      },
      responses: {
        200: { content: binary, description: "A Yjs update (v1) with what the state vector lacks" },
        204: { description: "Nothing new after `wait` ms" },
        ...errorAnswers(...member, "validation_failed"),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { sv, wait } = c.req.valid("query");
      const { userId } = deps.requireAuth(c);
      const update = await deps.sync.pull(userId, id as ConversationId, { sv, waitMs: wait ?? 0, signal: c.req.raw.signal });
      if (!update) return c.body(null, 204);
      return c.body(update as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream" });
    },
  );

  // Updates may be as large as MAX_UPDATE_BYTES, not just MAX_BODY_BYTES like JSON bodies.
  app.use(
    "/api/conversations/:id/sync",
    bodyLimit({
      maxSize: deps.limits.maxUpdateBytes,
      onError: (c) => errorResponse(c, new WbkError("payload_too_large", `the update is over ${deps.limits.maxUpdateBytes} bytes`)),
    }),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: SYNC_PATH,
      tags: ["sync"],
      security: bearer,
      request: { params: z.object({ id: idSchema }), body: { content: binary, required: true } },
      responses: {
        200: jsonAnswer(z.object({ sv: z.string() }), "Applied and logged; the document's state vector (base64url)"),
        ...errorAnswers(...member, "payload_too_large", "update_refused", "rate_limited"),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { userId } = deps.requireAuth(c);
      const update = new Uint8Array(await c.req.arrayBuffer());
      return c.json(await deps.sync.push(userId, id as ConversationId, update), 200);
    },
  );
}
