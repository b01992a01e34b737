/**
 * Sessions after Lucia's design (lucia-auth.com/sessions): a random token goes to the client,
 * only its SHA-256 is stored; expiry slides forward when a session is used past half its life.
 */
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from "@oslojs/encoding";
import { WbkError, type UserId } from "@wbk/shared";
import type { SessionRecord, SessionStore } from "../storage/types.js";

export interface SessionOptions {
  ttlSeconds: number;
  now?: () => number;
}

export type SessionStatus = { state: "live"; msLeft: number } | { state: "session_expired" | "session_revoked" };

export interface ValidSession {
  session: SessionRecord;
  /** true when this validation pushed the expiry forward (the cookie should be re-sent). */
  extended: boolean;
}

export function sessionIdOf(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

export function createSessionService(store: SessionStore, options: SessionOptions) {
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlSeconds * 1000;

  return {
    ttlSeconds: options.ttlSeconds,

    create(userId: UserId): { token: string; session: SessionRecord } {
      const bytes = new Uint8Array(20);
      crypto.getRandomValues(bytes);
      const token = encodeBase32LowerCaseNoPadding(bytes);
      const at = now();
      const session: SessionRecord = {
        id: sessionIdOf(token),
        userId,
        createdAt: at,
        expiresAt: at + ttlMs,
        revokedAt: null,
      };
      store.create(session);
      return { token, session };
    },

    /** The live session for a token; throws the matching 401 error otherwise. */
    validate(token: string | null | undefined): ValidSession {
      if (!token) throw new WbkError("unauthenticated", "sign in first");
      const session = store.get(sessionIdOf(token));
      if (!session) throw new WbkError("unauthenticated", "unknown session token");
      if (session.revokedAt !== null) throw new WbkError("session_revoked", "this session was signed out");
      const at = now();
      if (at >= session.expiresAt) throw new WbkError("session_expired", "this session has expired; sign in again");
      if (session.expiresAt - at < ttlMs / 2) {
        session.expiresAt = at + ttlMs;
        store.extend(session.id, session.expiresAt);
        return { session, extended: true };
      }
      return { session, extended: false };
    },

    /**
     * The session's state without extending it, for sockets already open: how long a live one
     * has left, so its sockets can be cut the moment it ends.
     */
    status(sessionId: string): SessionStatus {
      const session = store.get(sessionId);
      if (!session || session.revokedAt !== null) return { state: "session_revoked" };
      const msLeft = session.expiresAt - now();
      return msLeft > 0 ? { state: "live", msLeft } : { state: "session_expired" };
    },

    revoke(sessionId: string): void {
      store.revoke(sessionId, now());
    },

    revokeOthers(userId: UserId, keep: string): string[] {
      return store.revokeAllOf(userId, now(), keep);
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
