/** Per-request auth: bearer token (native apps) or the `wbk_session` cookie (browsers). */
import { WbkError, type UserId } from "@wbk/shared";
import type { Context, MiddlewareHandler } from "hono";
import { setCookie, deleteCookie } from "hono/cookie";
import type { SessionService } from "../auth/sessions.js";
import type { SessionRecord, Storage, UserRecord } from "../storage/types.js";
import { readSessionCookie, SESSION_COOKIE } from "./cookies.js";
import { requestScheme, schemeOf } from "./crossOrigin.js";

export interface AppEnv {
  Variables: {
    /** The presented token and how it came; resolved lazily by `requireAuth`. */
    token: { value: string; via: "bearer" | "cookie" } | null;
    auth: { user: UserRecord; session: SessionRecord } | null;
  };
}

export function readToken(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const cookie = readSessionCookie(c.req.header("cookie"));
    c.set("token", bearer ? { value: bearer, via: "bearer" } : cookie ? { value: cookie, via: "cookie" } : null);
    c.set("auth", null);
    await next();
  };
}

export function isSecure(c: Context, trustProxy: boolean): boolean {
  return requestScheme((name) => c.req.header(name), schemeOf(c), trustProxy) === "https";
}

/** DESIGN.md "Authentication": HttpOnly, SameSite=Lax, Path=/, Secure when the page is https. */
const cookieFlags = (secure: boolean) => ({ httpOnly: true, sameSite: "Lax", path: "/", secure }) as const;

export function setSessionCookie(c: Context, token: string, ttlSeconds: number, secure: boolean): void {
  setCookie(c, SESSION_COOKIE, token, { ...cookieFlags(secure), maxAge: ttlSeconds });
}

/** The same flags as when it was set, so the browser replaces that very cookie. */
export function clearSessionCookie(c: Context, secure: boolean): void {
  deleteCookie(c, SESSION_COOKIE, cookieFlags(secure));
}

export function createAuthGuard(deps: { sessions: SessionService; storage: Storage; trustProxy: boolean }) {
  /** The signed-in user, or a 401 with the reason; re-sends the cookie when the expiry slid. */
  return function requireAuth(c: Context<AppEnv>): { user: UserRecord; session: SessionRecord; userId: UserId } {
    const known = c.get("auth");
    if (known) return { ...known, userId: known.user.id };
    const token = c.get("token");
    const { session, extended } = deps.sessions.validate(token?.value);
    const user = deps.storage.users.byId(session.userId);
    if (!user) throw new WbkError("unauthenticated", "this account no longer exists");
    if (extended && token?.via === "cookie") {
      setSessionCookie(c, token.value, deps.sessions.ttlSeconds, isSecure(c, deps.trustProxy));
    }
    c.set("auth", { user, session });
    return { user, session, userId: user.id };
  };
}

export type RequireAuth = ReturnType<typeof createAuthGuard>;
