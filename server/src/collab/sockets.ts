/**
 * Live sockets by session, so sign-out, expiry and password changes cut them at once, and the
 * documents each socket has open (MAX_DOCS_PER_SOCKET).
 *
 * A socket remembers every session it has opened a document with (one socket may carry several
 * tokens, even of different users): the end of ANY of them — sign-out, password change, expiry
 * — closes the whole socket with 4401, so a token revoked on REST can never stay alive on a
 * socket that also holds another, still-live session. Closing the whole socket (rather than the
 * documents opened with that session) is the simplest safe cut; the client reconnects with the
 * tokens it still has.
 *
 * Expiry: one timer waits for the soonest end among the sessions behind open sockets and cuts
 * their sockets with 4401 session_expired at that moment. Traffic on an open socket does not
 * extend its session (a socket is validated when it opens a document, as Lucia validates a
 * request); a session extended meanwhile by REST or another socket's sign-in keeps its sockets,
 * and the timer waits for the new end.
 */
import type { Hocuspocus } from "@hocuspocus/server";
import { closeEventFor, documentName, type ConversationId, type UserId } from "@wbk/shared";
import type { WebSocket } from "ws";
import type { SessionService, SessionStatus } from "../auth/sessions.js";

/** setTimeout's longest delay (about 24.8 days); a later end is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface SocketInfo {
  /** Every session a document was opened with on this socket, for the socket's whole life. */
  sessionIds: Set<string>;
  /** The user of the first document opened; when, for the request log. */
  userId: UserId | null;
  signedInAt: number;
  documents: Set<string>;
}

/** Told when a socket first opens a document as a user, and when such a socket closes. */
export interface SocketEvents {
  signedIn(userId: UserId): void;
  closed(userId: UserId, signedInForMs: number): void;
}

export class SocketRegistry {
  private readonly info = new Map<WebSocket, SocketInfo>();
  private hocuspocus: Hocuspocus | null = null;
  /** The pending expiry check and when it fires (performance.now() time). */
  private expiry: { dueAt: number; timer: NodeJS.Timeout } | null = null;
  private closed = false;

  constructor(
    private readonly sessions: SessionService,
    private readonly events?: SocketEvents,
  ) {}

  bind(hocuspocus: Hocuspocus): void {
    this.hocuspocus = hocuspocus;
  }

  add(ws: WebSocket): void {
    this.info.set(ws, { sessionIds: new Set(), userId: null, signedInAt: 0, documents: new Set() });
  }

  remove(ws: WebSocket): void {
    const info = this.info.get(ws);
    this.info.delete(ws);
    if (info?.userId) this.events?.closed(info.userId, Math.round(performance.now() - info.signedInAt));
  }

  /** Whether the socket may open one more document. */
  /** Conversations the socket has open. */
  documentCount(ws: WebSocket): number {
    return this.info.get(ws)?.documents.size ?? 0;
  }

  canOpen(ws: WebSocket, name: string, maxDocs: number): boolean {
    const info = this.info.get(ws);
    return info !== undefined && (info.documents.has(name) || info.documents.size < maxDocs);
  }

  /**
   * Records a document the socket has open, and the session and user it was opened with. The
   * session joins the socket's set (never replaces an earlier one): ending any of them cuts it.
   */
  openDocument(ws: WebSocket, sessionId: string, userId: UserId, name: string): void {
    const info = this.info.get(ws);
    if (!info) return;
    if (!info.sessionIds.has(sessionId)) {
      info.sessionIds.add(sessionId);
      const status = this.sessions.status(sessionId);
      if (status.state === "live") {
        this.checkIn(status.msLeft);
      } else {
        // Ended between authentication and now: cut at once, as the sweep would.
        const event = closeEventFor(status.state);
        ws.close(event.code, event.reason);
      }
    }
    info.documents.add(name);
    // The socket says who it is only when it opens a document: that is its sign-in.
    if (info.userId === null) {
      info.userId = userId;
      info.signedInAt = performance.now();
      this.events?.signedIn(userId);
    }
  }

  hasDocument(ws: WebSocket, name: string): boolean {
    return this.info.get(ws)?.documents.has(name) ?? false;
  }

  closeDocument(ws: WebSocket, name: string): void {
    this.info.get(ws)?.documents.delete(name);
  }

  /** Closes every socket that has used any of these sessions with 4401 and the reason. */
  closeSessions(sessionIds: readonly string[], reason: "session_revoked" | "session_expired"): void {
    if (sessionIds.length === 0) return;
    const event = closeEventFor(reason);
    for (const [ws, info] of this.info) {
      if (sessionIds.some((id) => info.sessionIds.has(id))) ws.close(event.code, event.reason);
    }
  }

  /**
   * Closes sockets whose session has ended (expired, or revoked elsewhere) and sets the timer for
   * the next end. Run by that timer, by the transport's ping beat (which also catches clock
   * jumps), and by tests on their injected clock.
   */
  sweep(): void {
    const checked = new Map<string, SessionStatus>();
    let soonest = Infinity;
    for (const [ws, info] of this.info) {
      // Every session of the socket counts: the first one that has ended cuts it.
      for (const sessionId of info.sessionIds) {
        let status = checked.get(sessionId);
        if (!status) {
          status = this.sessions.status(sessionId);
          checked.set(sessionId, status);
        }
        if (status.state !== "live") {
          const event = closeEventFor(status.state);
          ws.close(event.code, event.reason);
          break;
        }
      }
      // A socket being cut keeps no timer alive; the live ones wait for their soonest end.
      if (ws.readyState === ws.OPEN) {
        for (const sessionId of info.sessionIds) {
          const status = checked.get(sessionId);
          if (status?.state === "live") soonest = Math.min(soonest, status.msLeft);
        }
      }
    }
    this.clearTimer();
    if (soonest !== Infinity) this.checkIn(soonest);
  }

  /** Runs the sweep in `ms`, unless one is due sooner already. */
  private checkIn(ms: number): void {
    const delay = Math.min(ms, MAX_TIMER_MS);
    const dueAt = performance.now() + delay;
    if (this.closed || (this.expiry && this.expiry.dueAt <= dueAt)) return;
    this.clearTimer();
    const timer = setTimeout(() => {
      this.expiry = null;
      this.sweep();
    }, delay);
    timer.unref();
    this.expiry = { dueAt, timer };
  }

  private clearTimer(): void {
    if (this.expiry) clearTimeout(this.expiry.timer);
    this.expiry = null;
  }

  /** No more expiry checks: the server is stopping (and its database with it). */
  stop(): void {
    this.closed = true;
    this.clearTimer();
  }

  /** Closes a removed member's connections to the conversation (4403 forbidden). */
  closeMember(conversationId: ConversationId, userId: UserId): void {
    const document = this.hocuspocus?.documents.get(documentName(conversationId));
    if (!document) return;
    for (const connection of document.getConnections()) {
      if ((connection.context as { userId?: UserId }).userId === userId) {
        connection.close(closeEventFor("forbidden"));
      }
    }
  }

  get size(): number {
    return this.info.size;
  }
}
