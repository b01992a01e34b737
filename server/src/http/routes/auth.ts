/** Sign-up, sign-in, sign-out, password change, and the signed-in user (DESIGN.md "Authentication"). */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import {
  WbkError,
  authResultSchema,
  loginBodySchema,
  passwordBodySchema,
  patchMeBodySchema,
  randomId,
  registerBodySchema,
  userSchema,
  type UserId,
} from "@wbk/shared";
import { z } from "zod";
import { dummyHash, hashPassword, verifyPassword } from "../../auth/passwords.js";
import type { SessionService } from "../../auth/sessions.js";
import { presentUser } from "../../chat/present.js";
import type { SocketRegistry } from "../../collab/sockets.js";
import type { RateLimits } from "../../rateLimit.js";
import type { Storage } from "../../storage/types.js";
import { clientAddress } from "../clientAddress.js";
import { clearSessionCookie, isSecure, setSessionCookie, type AppEnv, type RequireAuth } from "../context.js";
import { bearer, errorAnswers, jsonAnswer, jsonBody } from "../openapi.js";

export interface AuthRouteDeps {
  storage: Storage;
  sessions: SessionService;
  sockets: SocketRegistry;
  requireAuth: RequireAuth;
  /** RATE_LIMIT_AUTH_PER_MIN: sign-ups, sign-ins and password checks. */
  rateLimits: Pick<RateLimits, "admitAuthAttempt">;
  trustProxy: boolean;
  /** ADMIN_EMAILS: admins may delete any message and read reports. */
  isAdmin: (userId: UserId) => boolean;
  now?: () => number;
}

const userAnswer = z.object({ user: userSchema });
const meAnswer = z.object({ user: userSchema, isAdmin: z.boolean() });

export function authRoutes(app: OpenAPIHono<AppEnv>, deps: AuthRouteDeps): void {
  const { storage, sessions, requireAuth } = deps;
  const now = deps.now ?? Date.now;

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/auth/register",
      tags: ["auth"],
      request: jsonBody(registerBodySchema),
      responses: {
        201: jsonAnswer(authResultSchema, "Signed up and signed in"),
        ...errorAnswers("invalid_json", "validation_failed", "payload_too_large", "email_taken", "rate_limited"),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      deps.rateLimits.admitAuthAttempt(clientAddress(c, deps.trustProxy), null);
      if (storage.users.byEmail(body.email)) throw new WbkError("email_taken", "an account with this email exists");
      const user = {
        id: randomId() as UserId,
        email: body.email,
        displayName: body.displayName,
        passwordHash: await hashPassword(body.password),
        createdAt: now(),
      };
      try {
        storage.users.create(user);
      } catch (error) {
        // Two sign-ups with one email at once: the UNIQUE index decides.
        if (storage.users.byEmail(body.email)) throw new WbkError("email_taken", "an account with this email exists");
        throw error;
      }
      const { token, session } = sessions.create(user.id);
      // From here the request is this user's (the request log counts it as theirs).
      c.set("auth", { user, session });
      setSessionCookie(c, token, sessions.ttlSeconds, isSecure(c, deps.trustProxy));
      return c.json({ user: presentUser(user), token }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/auth/login",
      tags: ["auth"],
      request: jsonBody(loginBodySchema),
      responses: {
        200: jsonAnswer(authResultSchema, "Signed in"),
        ...errorAnswers("invalid_json", "validation_failed", "payload_too_large", "invalid_credentials", "rate_limited"),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      deps.rateLimits.admitAuthAttempt(clientAddress(c, deps.trustProxy), body.email);
      const user = storage.users.byEmail(body.email);
      const ok = await verifyPassword(user?.passwordHash ?? (await dummyHash()), body.password);
      if (!user || !ok) throw new WbkError("invalid_credentials", "wrong email or password");
      const { token, session } = sessions.create(user.id);
      c.set("auth", { user, session });
      setSessionCookie(c, token, sessions.ttlSeconds, isSecure(c, deps.trustProxy));
      return c.json({ user: presentUser(user), token }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/auth/logout",
      tags: ["auth"],
      security: bearer,
      responses: { 204: { description: "Signed out; this session's sockets are closed" }, ...errorAnswers("unauthenticated") },
    }),
    async (c) => {
      const { session } = requireAuth(c);
      sessions.revoke(session.id);
      deps.sockets.closeSessions([session.id], "session_revoked");
      clearSessionCookie(c, isSecure(c, deps.trustProxy));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/auth/password",
      tags: ["auth"],
      security: bearer,
      request: jsonBody(passwordBodySchema),
      responses: {
        204: { description: "Changed; the user's other sessions are signed out" },
        ...errorAnswers("invalid_json", "validation_failed", "payload_too_large", "unauthenticated", "invalid_credentials", "rate_limited"),
      },
    }),
    async (c) => {
      const { user, session } = requireAuth(c);
      const body = c.req.valid("json");
      // A stolen session must not become a way to guess the password.
      deps.rateLimits.admitAuthAttempt(clientAddress(c, deps.trustProxy), user.email);
      if (!(await verifyPassword(user.passwordHash, body.currentPassword))) {
        throw new WbkError("invalid_credentials", "the current password is wrong");
      }
      storage.users.setPasswordHash(user.id, await hashPassword(body.newPassword));
      deps.sockets.closeSessions(sessions.revokeOthers(user.id, session.id), "session_revoked");
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/me",
      tags: ["auth"],
      security: bearer,
      responses: {
        200: jsonAnswer(meAnswer, "The signed-in user, and whether they are an admin (ADMIN_EMAILS)"),
        ...errorAnswers("unauthenticated"),
      },
    }),
    (c) => {
      const { user } = requireAuth(c);
      return c.json({ user: presentUser(user), isAdmin: deps.isAdmin(user.id) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/api/me",
      tags: ["auth"],
      security: bearer,
      request: jsonBody(patchMeBodySchema),
      responses: {
        200: jsonAnswer(userAnswer, "The updated user"),
        ...errorAnswers("invalid_json", "validation_failed", "payload_too_large", "unauthenticated"),
      },
    }),
    (c) => {
      const { user } = requireAuth(c);
      const { displayName } = c.req.valid("json");
      storage.users.setDisplayName(user.id, displayName);
      return c.json({ user: presentUser({ ...user, displayName }) }, 200);
    },
  );
}
