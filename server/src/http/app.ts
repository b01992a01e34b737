/**
 * The one HTTP app: REST under /api (declared once with zod, served as /api/openapi.json),
 * /healthz, and the built demo page at /. The /collab upgrade is attached to the same port
 * by collab/transport.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { OpenAPIHono } from "@hono/zod-openapi";
import { serveStatic } from "@hono/node-server/serve-static";
import { WbkError, type Limits } from "@wbk/shared";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "../log.js";
import type { RequestLogger } from "../reports/requestLog.js";
import { readToken, type AppEnv } from "./context.js";
import { corsForListed, csrfGuard, documentCsrf, type OriginPolicy } from "./crossOrigin.js";
import { errorResponse, toWbkError, validationError } from "./errors.js";
import { requestLog } from "./requestLog.js";
import { closeUnreadBodies } from "./unreadBody.js";
import { utf8Body } from "./utf8Body.js";

export function createApp(options: {
  limits: Limits;
  logger: Logger;
  /** null: requests are not logged (only to measure what logging costs). */
  requestLog: RequestLogger | null;
  now: () => number;
  /** Own origin and CORS_ORIGINS: CORS headers and the CSRF check. */
  origins: OriginPolicy;
}): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return errorResponse(c, validationError(result.error));
      return undefined;
    },
  });
  app.use("*", closeUnreadBodies());
  app.use("*", readToken());
  // Preflights are answered here, before the request log: they are the browser's, not API calls.
  app.use("/api/*", corsForListed(options.origins));
  // Before the body limit, so refused bodies are counted too.
  if (options.requestLog) app.use("/api/*", requestLog(options.requestLog, options.now));
  app.use("/api/*", csrfGuard(options.origins, options.logger));
  const utf8 = utf8Body();
  const jsonLimit = bodyLimit({
      maxSize: options.limits.maxBodyBytes,
      onError: (c) =>
        errorResponse(c, new WbkError("payload_too_large", `the body is over ${options.limits.maxBodyBytes} bytes`)),
  });
  // HTTP sync bodies are Yjs updates with their own, larger limit (routes/sync.ts); upload
  // bytes stream to disk, bounded by their declared Upload-Length (videos/uploads.ts).
  app.use("/api/*", (c, next) =>
    c.req.path.endsWith("/sync") || c.req.path.startsWith("/api/uploads") ? next() : jsonLimit(c, () => utf8(c, next)),
  );
  app.onError((error, c) => errorResponse(c, toWbkError(error, options.logger)));
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "cookie", { type: "apiKey", in: "cookie", name: "wbk_session" });
  return app;
}

/** Adds /api/openapi.json, the demo page, and the JSON 404 for unknown API paths. Call last. */
export function finishApp(app: OpenAPIHono<AppEnv>, staticDir: string | null): void {
  documentCsrf(app);
  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    info: { title: "wbk-chat", version: "0.1.0", description: "Offline-first chat: REST API beside the /collab Yjs socket" },
  });
  app.all("/api/*", (c) => errorResponse(c, new WbkError("not_found", `no route ${c.req.method} ${c.req.path}`)));
  if (staticDir && fs.existsSync(path.join(staticDir, "index.html"))) {
    const root = path.relative(process.cwd(), staticDir) || ".";
    app.use("/*", serveStatic({ root }));
    const index = fs.readFileSync(path.join(staticDir, "index.html"), "utf8");
    app.get("*", (c) => c.html(index));
  }
}
