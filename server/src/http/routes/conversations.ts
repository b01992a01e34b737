/** Conversations, members and REST messages (DESIGN.md "REST API"). */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import {
  addMemberBodySchema,
  conversationSchema,
  createConversationBodySchema,
  idSchema,
  messageSchema,
  pageLimitSchema,
  patchConversationBodySchema,
  postMessageBodySchema,
  searchPageSchema,
  searchQueryTextSchema,
  seqCursorSchema,
  type ConversationId,
  type Limits,
  type UserId,
} from "@wbk/shared";
import { z } from "zod";
import type { ConversationService } from "../../chat/conversations.js";
import type { MessageService } from "../../chat/messages.js";
import type { SearchService } from "../../chat/search.js";
import type { AppEnv, RequireAuth } from "../context.js";
import { bearer, errorAnswers, jsonAnswer, jsonBody } from "../openapi.js";

const conversationAnswer = z.object({ conversation: conversationSchema });
const idParam = z.object({ id: idSchema });
const memberParams = z.object({ id: idSchema, userId: idSchema });
const messagePage = z.object({ messages: z.array(messageSchema), next: z.number().nullable() });
const messageAnswer = z.object({ message: messageSchema });
const pageQuery = z.object({
  after: seqCursorSchema("after").optional(),
  /** `latest`: the newest page, for a client that does not know the last seq yet. */
  before: z
    .string()
    .regex(/^(\d{1,15}|latest)$/, "before must be a whole number or latest")
    .transform((value) => (value === "latest" ? Number.POSITIVE_INFINITY : Number(value)))
    .optional(),
  limit: pageLimitSchema,
});
const searchQuery = z.object({
  q: searchQueryTextSchema,
  cursor: seqCursorSchema("cursor").optional(),
  limit: pageLimitSchema,
});

export function conversationRoutes(
  app: OpenAPIHono<AppEnv>,
  deps: {
    conversations: ConversationService;
    messages: MessageService;
    search: SearchService;
    requireAuth: RequireAuth;
    limits: Limits;
  },
): void {
  const { conversations, messages, search, requireAuth } = deps;
  const member = ["unauthenticated", "forbidden", "not_found"] as const;

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/conversations",
      tags: ["conversations"],
      security: bearer,
      request: jsonBody(createConversationBodySchema),
      responses: {
        201: jsonAnswer(conversationAnswer, "Created"),
        ...errorAnswers("invalid_json", "validation_failed", "unauthenticated", "user_not_found", "payload_too_large"),
      },
    }),
    (c) => c.json({ conversation: conversations.create(requireAuth(c).userId, c.req.valid("json")) }, 201),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/conversations",
      tags: ["conversations"],
      security: bearer,
      responses: {
        200: jsonAnswer(z.object({ conversations: z.array(conversationSchema) }), "Most recent activity first"),
        ...errorAnswers("unauthenticated"),
      },
    }),
    (c) => c.json({ conversations: conversations.list(requireAuth(c).userId) }, 200),
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/api/conversations/{id}",
      tags: ["conversations"],
      security: bearer,
      request: { params: idParam, ...jsonBody(patchConversationBodySchema) },
      responses: {
        200: jsonAnswer(conversationAnswer, "Renamed"),
        ...errorAnswers(...member, "invalid_json", "validation_failed", "payload_too_large"),
      },
    }),
    (c) => {
      const { id } = c.req.valid("param");
      const { title } = c.req.valid("json");
      return c.json({ conversation: conversations.rename(requireAuth(c).userId, id as ConversationId, title) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/conversations/{id}/members",
      tags: ["conversations"],
      security: bearer,
      request: { params: idParam, ...jsonBody(addMemberBodySchema) },
      responses: {
        200: jsonAnswer(conversationAnswer, "The conversation with the member (adding twice changes nothing)"),
        ...errorAnswers(...member, "invalid_json", "validation_failed", "user_not_found", "payload_too_large"),
      },
    }),
    (c) => {
      const { id } = c.req.valid("param");
      return c.json({ conversation: conversations.addMember(requireAuth(c).userId, id as ConversationId, c.req.valid("json")) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/conversations/{id}/members/{userId}",
      tags: ["conversations"],
      security: bearer,
      request: { params: memberParams },
      responses: { 204: { description: "Removed (yourself: left); their sockets on it close, their unfinished uploads to it end failed" }, ...errorAnswers(...member) },
    }),
    async (c) => {
      const { id, userId } = c.req.valid("param");
      await conversations.removeMember(requireAuth(c).userId, id as ConversationId, userId as UserId);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/conversations/{id}/messages",
      tags: ["messages"],
      security: bearer,
      request: { params: idParam, query: pageQuery },
      responses: {
        200: jsonAnswer(messagePage, "Messages in seq order; `next` is the cursor for the following page"),
        ...errorAnswers(...member, "validation_failed", "load_failed"),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const query = c.req.valid("query");
      return c.json(await messages.list(requireAuth(c).userId, id as ConversationId, query), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/conversations/{id}/messages",
      tags: ["messages"],
      security: bearer,
      request: { params: idParam, ...jsonBody(postMessageBodySchema(deps.limits.maxMessageChars)) },
      responses: {
        201: jsonAnswer(messageAnswer, "Posted"),
        200: jsonAnswer(messageAnswer, "Already posted with this id and text: unchanged"),
        ...errorAnswers(...member, "invalid_json", "validation_failed", "message_id_conflict", "load_failed", "payload_too_large", "rate_limited"),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const result = await messages.post(requireAuth(c).userId, id as ConversationId, c.req.valid("json"));
      return result.created ? c.json({ message: result.message }, 201) : c.json({ message: result.message }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/conversations/{id}/search",
      tags: ["messages"],
      summary: "Search the conversation's messages",
      description:
        "Finds `q` (trimmed, case-insensitive, anywhere in a word, in any script) in the text of live messages: " +
        "deleted messages are never found, edited ones only by their current text. Newest match first (by `seq`); " +
        "pass `next` back as `cursor` for older matches. `snippet` is plain text around the first match, " +
        "`highlight` where the match lies in it (UTF-16 code units).",
      security: bearer,
      request: { params: idParam, query: searchQuery },
      responses: {
        200: jsonAnswer(searchPageSchema, "Matches, newest first; `next` is the cursor of the following page"),
        ...errorAnswers(...member, "validation_failed"),
      },
    }),
    (c) => {
      const { id } = c.req.valid("param");
      return c.json(search.search(requireAuth(c).userId, id as ConversationId, c.req.valid("query")), 200);
    },
  );
}
