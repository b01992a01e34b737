/**
 * Wires the parts together, in data-path order: authenticate → guard and log updates →
 * index message text (and purge deleted text) → persist documents → weekly report; REST on
 * the same Hocuspocus instance; one HTTP port for everything.
 */
import fs from "node:fs";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Hocuspocus } from "@hocuspocus/server";
import { serve } from "@hono/node-server";
import type { UserId } from "@wbk/shared";
import { Cron } from "croner";
import { createAccess } from "./access.js";
import { createSessionService } from "./auth/sessions.js";
import { createConversationService } from "./chat/conversations.js";
import { documentOpener } from "./chat/documents.js";
import { createMessageService } from "./chat/messages.js";
import { createSearchService } from "./chat/search.js";
import { createSyncService } from "./chat/sync.js";
import { authenticateExtension } from "./collab/authenticate.js";
import { awarenessExtension } from "./collab/awareness.js";
import { MessageIndexer } from "./collab/indexMessages.js";
import { logUpdateExtension } from "./collab/logUpdate.js";
import { DocumentPersistence } from "./collab/persistDocument.js";
import { DeletePurge } from "./collab/purgeDeleted.js";
import { SocketRegistry } from "./collab/sockets.js";
import { attachCollab, COLLAB_PATH } from "./collab/transport.js";
import { WritePath } from "./collab/writePath.js";
import type { ServerConfig } from "./config.js";
import { createApp, finishApp } from "./http/app.js";
import { createAuthGuard } from "./http/context.js";
import { createOriginPolicy } from "./http/crossOrigin.js";
import { authRoutes } from "./http/routes/auth.js";
import { conversationRoutes } from "./http/routes/conversations.js";
import { reportRoutes } from "./http/routes/reports.js";
import { syncRoutes } from "./http/routes/sync.js";
import { systemRoutes } from "./http/routes/system.js";
import { videoRoutes } from "./http/routes/videos.js";
import { createLogger, type Logger } from "./log.js";
import { RateLimits } from "./rateLimit.js";
import { scheduleReportJob } from "./reports/job.js";
import { RequestLogger, socketEvents } from "./reports/requestLog.js";
import { ReportService } from "./reports/service.js";
import { sqliteStorage } from "./storage/sqlite/index.js";
import type { Storage } from "./storage/types.js";
import { resolveVideoProbe } from "./videos/inspect.js";
import { VideoService } from "./videos/service.js";
import { uploadFiles, uploadRoutes } from "./videos/uploads.js";

/** Request line and headers (Node's default is 16 KiB). */
const MAX_HEADER_BYTES = 256 * 1024;

export interface RunningServer {
  url: string;
  port: number;
  storage: Storage;
  hocuspocus: Hocuspocus;
  logger: Logger;
  /** Weekly reports: tests run the job (`runJob`) on their own clock. */
  reports: ReportService;
  /** Video uploads: tests run the expiry (`expire`) on their own clock. */
  videos: VideoService;
  /** Live sockets: tests run the session-end check (`sweep`) on their own clock. */
  sockets: SocketRegistry;
  /** Every route the HTTP app serves (method and Hono path), for the OpenAPI check. */
  routes: Array<{ method: string; path: string }>;
  /** Stops accepting, stores every open document, writes the buffered request log, closes the database. */
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig, options: { logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  fs.mkdirSync(config.dataDir, { recursive: true });
  const storage = sqliteStorage(path.join(config.dataDir, "wbk.sqlite"), { reportTimezone: config.reportTz });
  const now = config.now ?? Date.now;
  const rateLimits = new RateLimits({
    authPerMin: config.rateLimitAuthPerMin,
    messagesPerMin: config.rateLimitMessagesPerMin,
    updatesPerMin: config.rateLimitUpdatesPerMin,
    updateBytesPerMin: config.rateLimitUpdateBytesPerMin,
    now,
    logger: logger.child({ module: "rateLimit" }),
  });
  const admitMessages = (userId: UserId, count: number) => rateLimits.admitMessages(userId, count);

  const sessions = createSessionService(storage.sessions, { ttlSeconds: config.sessionTtlSeconds, now });
  const access = createAccess(storage, config.adminEmails);
  const requestLog = new RequestLogger(storage.requestLog, { logger: logger.child({ module: "requestLog" }) });
  const sockets = new SocketRegistry(sessions, socketEvents(requestLog, now, COLLAB_PATH));
  const writePath = new WritePath({
    storage,
    limits: config.limits,
    isAdmin: (userId) => access.isAdmin(userId),
    admitMessages,
    admitUpdate: (userId, bytes) => rateLimits.admitUpdate(userId, bytes),
    logger: logger.child({ module: "writePath" }),
    now,
  });
  const persistence = new DocumentPersistence(storage, writePath, logger.child({ module: "persistence" }));
  const purge = new DeletePurge(storage, writePath, persistence, logger.child({ module: "purge" }));
  const indexer = new MessageIndexer(storage, purge, logger.child({ module: "search" }));

  const hocuspocus = new Hocuspocus({
    name: "wbk-chat",
    quiet: true,
    timeout: config.wsIdleTimeoutMs,
    debounce: config.storeDebounceMs,
    maxDebounce: config.storeDebounceMs * 5,
    maxPendingDocuments: config.maxDocsPerSocket,
    extensions: [
      authenticateExtension({ sessions, access, sockets, maxDocsPerSocket: config.maxDocsPerSocket }),
      ...persistence.extensions(),
      indexer.extension(),
      purge.extension(),
      logUpdateExtension(writePath, logger.child({ module: "logUpdate" })),
      awarenessExtension(storage),
    ],
  });
  sockets.bind(hocuspocus);
  persistence.bind(hocuspocus);
  indexer.bind(hocuspocus);

  const withDocument = documentOpener(hocuspocus);
  const files = uploadFiles(config.dataDir);
  const videoLogger = logger.child({ module: "videos" });
  const videos = new VideoService({
    storage,
    access,
    withDocument,
    writePath,
    logger: videoLogger,
    now,
    maxVideoBytes: config.limits.maxVideoBytes,
    maxConcurrentUploads: config.maxConcurrentUploads,
    uploadsPerHour: config.rateLimitUploadsPerHour,
    uploadExpiryHours: config.uploadExpiryHours,
    probe: await resolveVideoProbe(config.videoProbe),
    files,
  });
  const requireAuth = createAuthGuard({ sessions, storage, trustProxy: config.trustProxy });
  const origins = createOriginPolicy({ corsOrigins: config.corsOrigins, trustProxy: config.trustProxy });
  const app = createApp({ limits: config.limits, logger: logger.child({ module: "http" }), requestLog: config.requestLog ? requestLog : null, now, origins });
  systemRoutes(app, {
    limits: config.limits,
    health: () => ({ documents: hocuspocus.getDocumentsCount(), sockets: sockets.size }),
  });
  authRoutes(app, { storage, sessions, sockets, requireAuth, rateLimits, trustProxy: config.trustProxy, isAdmin: (userId) => access.isAdmin(userId), now });
  conversationRoutes(app, {
    conversations: createConversationService({ storage, access, sockets, videos, now }),
    messages: createMessageService({ withDocument, writePath, access, admitMessages, now }),
    search: createSearchService({ storage, access, indexer }),
    requireAuth,
    limits: config.limits,
  });
  syncRoutes(app, { sync: createSyncService({ withDocument, writePath, access }), requireAuth, limits: config.limits });
  const reportLogger = logger.child({ module: "reports" });
  const reports = new ReportService({
    storage,
    timezone: config.reportTz,
    retentionDays: config.retentionDays,
    now,
    flushRequestLog: () => requestLog.flush(),
    logger: reportLogger,
  });
  reportRoutes(app, { reports, access, requireAuth });

  uploadRoutes(app, {
    videos,
    access,
    requireAuth,
    files,
    trustProxy: config.trustProxy,
    maxVideoBytes: config.limits.maxVideoBytes,
    uploadExpiryHours: config.uploadExpiryHours,
    logger: videoLogger,
  });
  videoRoutes(app, { videos, requireAuth });
  finishApp(app, config.staticDir);

  // Weeks completed while the server was down are stored before it serves (DESIGN.md
  // "The weekly report"); a failure here is logged, never a reason not to serve chat.
  const runReportJob = () => {
    try {
      reports.runJob();
    } catch (error) {
      reportLogger.error({ err: error }, "weekly reports could not be computed");
    }
  };
  runReportJob();

  const server = await new Promise<HttpServer>((resolve, reject) => {
    const s = serve(
      // A state vector in GET …/sync?sv= grows with every device that ever wrote: room for long URLs.
      { fetch: app.fetch, port: config.port, hostname: config.host, serverOptions: { maxHeaderSize: MAX_HEADER_BYTES } },
      () => resolve(s as HttpServer),
    );
    (s as HttpServer).once("error", reject);
  });
  const collab = attachCollab(server, {
    hocuspocus,
    sockets,
    maxUpdateBytes: config.limits.maxUpdateBytes,
    maxDocsPerSocket: config.maxDocsPerSocket,
    // Sessions end on their own timer (SocketRegistry); this beat re-checks them after clock jumps.
    pingIntervalMs: 10_000,
    // Answered heartbeats keep a signed-in socket open: several must fit in WS_IDLE_TIMEOUT_MS.
    heartbeatIntervalMs: Math.min(2000, Math.floor(config.wsIdleTimeoutMs / 3)),
    origins,
    logger: logger.child({ module: "collab" }),
  });

  // Conversations from before search (or whose index write failed) are indexed in the
  // background; searching one of them first indexes it at once.
  void indexer.rebuildStale();

  const reportJob = scheduleReportJob({ cron: config.reportCron, timezone: config.reportTz, run: runReportJob, logger: reportLogger });
  // Unfinished uploads older than UPLOAD_EXPIRY_HOURS go, every quarter hour (finished videos never).
  const expiryJob = new Cron(
    "*/15 * * * *",
    { name: "upload-expiry", protect: true, unref: true, catch: (error) => videoLogger.error({ err: error }, "upload expiry failed") },
    async () => void (await videos.expire()),
  );

  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const url = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}`;
  logger.info({ url, dataDir: config.dataDir }, "wbk-chat is listening");

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    storage,
    hocuspocus,
    logger,
    reports,
    videos,
    sockets,
    routes: [...new Set(app.routes.filter((r) => r.method !== "ALL" && r.path !== "*").map((r) => `${r.method} ${r.path}`))].map(
      (route) => {
        const [method, path] = route.split(" ") as [string, string];
        return { method, path };
      },
    ),
    close() {
      closing ??= (async () => {
        reportJob.stop();
        expiryJob.stop();
        indexer.stop();
        const socketsClosed = collab.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await Promise.all([closed, socketsClosed]);
        writePath.flushStamps();
        persistence.storeAll();
        // Changes that arrived while the sockets closed reach the search index too.
        indexer.flush();
        for (const document of hocuspocus.documents.values()) document.destroy();
        requestLog.close();
        storage.close();
        logger.info("stopped; every open document stored");
      })();
      return closing;
    },
  };
}
