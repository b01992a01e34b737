/**
 * Wire shapes shared by server and SDK (DESIGN.md "REST API"). The server declares its routes
 * with these schemas, so validation, error details and /api/openapi.json come from one place.
 */
import { z } from "zod";
import { MESSAGE_ID_PATTERN } from "./ids.js";
import { DEFAULT_LIMITS, FILENAME_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, SEARCH_QUERY_MAX } from "./limits.js";

/** C0 control characters other than tab, line feed and carriage return (NUL among them). */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
/** Characters that take no space: a name made only of these and spaces looks empty. */
/** What shows nothing on screen: white space, zero-width characters and bidi marks and controls. */
const INVISIBLE = /[\s\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/gu;

const trimmedName = (what: string, max = NAME_MAX) =>
  z
    .string()
    .transform((s) => s.trim())
    .pipe(
      z
        .string()
        .max(max, `${what} must be at most ${max} characters`)
        .refine((s) => s.replace(INVISIBLE, "").length > 0, `${what} must not be empty`)
        .refine((s) => s.isWellFormed(), `${what} must be well-formed Unicode`)
        .refine((s) => !CONTROL.test(s) && !/[\n\r\t]/.test(s), `${what} must not contain control characters`),
    );

export const emailSchema = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.email("email must be a valid address").max(254));

export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN, `password must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `password must be at most ${PASSWORD_MAX} characters`);

export const displayNameSchema = trimmedName("displayName");
export const titleSchema = trimmedName("title");
export const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be an id");
export const messageIdSchema = z
  .string()
  .regex(MESSAGE_ID_PATTERN, "must be 1-64 characters of A-Z a-z 0-9 _ -");

/**
 * Message text: not blank, at most `maxChars` UTF-16 code units, no lone surrogates (they
 * cannot survive Yjs's UTF-8 encoding), no control characters but tab and line breaks.
 */
export function messageTextSchema(maxChars = DEFAULT_LIMITS.maxMessageChars) {
  return z
    .string()
    .max(maxChars, `text must be at most ${maxChars} characters`)
    .refine((s) => s.replace(INVISIBLE, "").length > 0, "text must not be empty")
    .refine((s) => s.isWellFormed(), "text must be well-formed Unicode")
    .refine((s) => !CONTROL.test(s), "text must not contain control characters");
}

/** One schema per limit: building it costs more than checking a text (thousands per update). */
const textSchemas = new Map<number, ReturnType<typeof messageTextSchema>>();

/** Checks message text against the limits; returns the first problem or null. */
export function checkMessageText(text: unknown, maxChars: number): string | null {
  let schema = textSchemas.get(maxChars);
  if (!schema) {
    schema = messageTextSchema(maxChars);
    textSchemas.set(maxChars, schema);
  }
  const result = schema.safeParse(text);
  return result.success ? null : (result.error.issues[0]?.message ?? "invalid text");
}

// ---- objects ----

export const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  displayName: z.string(),
  createdAt: z.string(),
});
export type User = z.infer<typeof userSchema>;

export const memberSchema = z.object({ id: z.string(), displayName: z.string() });

export const conversationSchema = z.object({
  id: z.string(),
  title: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  members: z.array(memberSchema),
  lastMessageAt: z.string().nullable(),
});
export type Conversation = z.infer<typeof conversationSchema>;

export const videoInfoSchema = z.object({
  videoId: z.string(),
  filename: z.string(),
  mime: z.string(),
  size: z.number(),
  durationMs: z.number().nullable(),
  status: z.enum(["uploading", "ready", "failed"]),
});

/** A finished video (REST: the conversation's video list). */
export const videoSchema = z.object({
  id: z.string(),
  conversationId: z.string(),
  uploaderId: z.string(),
  filename: z.string(),
  mime: z.string(),
  size: z.number(),
  durationMs: z.number().nullable(),
  sha256: z.string(),
  createdAt: z.string(),
});
export type VideoDto = z.infer<typeof videoSchema>;

export const messageSchema = z.object({
  id: z.string(),
  authorId: z.string(),
  kind: z.enum(["text", "video"]),
  text: z.string(),
  createdAt: z.number(),
  replyTo: z.string().optional(),
  editedAt: z.number().optional(),
  deleted: z.literal(true).optional(),
  reactions: z.record(z.string(), z.string()),
  video: videoInfoSchema.optional(),
  seq: z.number(),
  serverTime: z.number(),
});
export type MessageDto = z.infer<typeof messageSchema>;

export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

export const authResultSchema = z.object({ user: userSchema, token: z.string() });
export type AuthResult = z.infer<typeof authResultSchema>;

export const configSchema = z.object({
  limits: z.object({
    maxMessageChars: z.number(),
    maxUpdateBytes: z.number(),
    maxVideoBytes: z.number(),
    maxBodyBytes: z.number(),
  }),
});

// ---- upload metadata (tus Upload-Metadata values) ----

/** The name a phone gave the file: shown to people, never part of a path. No line breaks. */
export const uploadFilenameSchema = trimmedName("filename", FILENAME_MAX);
/** The type the client claims; may be empty (phones send that). Only logged: content decides. */
export const uploadFiletypeSchema = z
  .string()
  .max(255, "filetype must be at most 255 characters")
  .refine((s) => !CONTROL.test(s) && !/[\n\r\t]/.test(s), "filetype must not contain control characters");

// ---- request bodies ----
// Strict: a key the API does not know (a typo, `__proto__`, `constructor`) is refused, not ignored.

export const registerBodySchema = z.strictObject({
  email: emailSchema,
  password: passwordSchema,
  displayName: displayNameSchema,
});
export const loginBodySchema = z.strictObject({
  email: emailSchema,
  password: z.string().min(1).max(PASSWORD_MAX),
});
export const passwordBodySchema = z.strictObject({
  currentPassword: z.string().min(1).max(PASSWORD_MAX),
  newPassword: passwordSchema,
});
export const patchMeBodySchema = z.strictObject({ displayName: displayNameSchema });
export const createConversationBodySchema = z.strictObject({
  title: titleSchema,
  memberIds: z.array(idSchema).max(200).optional(),
  memberEmails: z.array(emailSchema).max(200).optional(),
});
export const patchConversationBodySchema = z.strictObject({ title: titleSchema });
export const addMemberBodySchema = z
  .strictObject({ userId: idSchema.optional(), email: emailSchema.optional() })
  .refine((body) => (body.userId === undefined) !== (body.email === undefined), "give userId or email (one of them)")
  .transform((body) => (body.userId !== undefined ? { userId: body.userId } : { email: body.email as string }));
export function postMessageBodySchema(maxChars = DEFAULT_LIMITS.maxMessageChars) {
  return z.strictObject({
    id: messageIdSchema,
    text: messageTextSchema(maxChars),
    replyTo: messageIdSchema.optional(),
  });
}

/** A whole number written plainly in a query string ("10", not "1e1" or " 10"). */
const queryInt = (what: string) =>
  z
    .string()
    .regex(/^\d{1,15}$/, `${what} must be a whole number`)
    .transform(Number);

export const pageLimitSchema = queryInt("limit")
  .pipe(z.number().min(1, "limit must be at least 1").max(200, "limit must be at most 200"))
  .default(50);
/** A `seq` cursor query parameter (`after`, `before`). */
export const seqCursorSchema = (name: string) => queryInt(name);

// ---- search (GET /api/conversations/:id/search) ----

/** `q`: trimmed, not empty, at most SEARCH_QUERY_MAX code units; the characters message text may hold. */
export const searchQueryTextSchema = z
  .string()
  .transform((s) => s.trim())
  .pipe(
    z
      .string()
      .min(1, "q must not be empty")
      .max(SEARCH_QUERY_MAX, `q must be at most ${SEARCH_QUERY_MAX} characters`)
      .refine((s) => s.isWellFormed(), "q must be well-formed Unicode")
      .refine((s) => !CONTROL.test(s), "q must not contain control characters"),
  );

/**
 * One matching message. `snippet` is plain text (never HTML): a short excerpt around the first
 * match, with "…" where the text was cut and line breaks as spaces; `highlight` is where the
 * match lies in `snippet`, in UTF-16 code units (`snippet.slice(start, end)` in JavaScript);
 * null in the rare case case folding changed the text's length there (as `İ`).
 */
export const searchResultSchema = z.object({
  messageId: z.string(),
  seq: z.number(),
  snippet: z.string(),
  highlight: z.object({ start: z.number(), end: z.number() }).nullable(),
  authorId: z.string(),
  createdAt: z.number(),
});
export type SearchResult = z.infer<typeof searchResultSchema>;

/** Newest match first (by `seq`); `next` is the cursor of the following page, null at the end. */
export const searchPageSchema = z.object({ results: z.array(searchResultSchema), next: z.number().nullable() });
export type SearchPage = z.infer<typeof searchPageSchema>;
