/** Test users over the real REST API, and Node SDK clients signed in as them. */
import type { AuthResult, Conversation } from "@wbk/shared";
import { createChatClient, memoryStorage, type ChatClient, type StorageAdapter } from "@wbk/client-sdk/node";

export interface TestUser extends AuthResult {
  email: string;
  password: string;
}

let counter = 0;

export async function api<T = unknown>(
  url: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined || options.raw !== undefined) headers["content-type"] ??= "application/json";
  const init = { method, headers, body: options.raw ?? (options.body === undefined ? null : JSON.stringify(options.body)) };
  let response: Response;
  try {
    response = await fetch(`${url}${path}`, init);
  } catch (error) {
    // A kept-alive socket to a server the test restarted: one retry on a fresh connection.
    if ((error as { cause?: { code?: string } }).cause?.code !== "UND_ERR_SOCKET") throw error;
    response = await fetch(`${url}${path}`, init);
  }
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T, headers: response.headers };
}

export async function signUp(url: string, displayName = `User ${++counter}`): Promise<TestUser> {
  const email = `user${Date.now()}-${++counter}@example.com`;
  const password = "correct horse battery";
  const { status, body } = await api<AuthResult>(url, "POST", "/api/auth/register", {
    body: { email, password, displayName },
  });
  if (status !== 201) throw new Error(`sign-up failed: ${status} ${JSON.stringify(body)}`);
  return { ...body, email, password };
}

export async function createConversation(url: string, owner: TestUser, members: TestUser[], title = "Family"): Promise<Conversation> {
  const { status, body } = await api<{ conversation: Conversation }>(url, "POST", "/api/conversations", {
    token: owner.token,
    body: { title, memberIds: members.map((m) => m.user.id) },
  });
  if (status !== 201) throw new Error(`create failed: ${status} ${JSON.stringify(body)}`);
  return body.conversation;
}

/** A Node SDK client signed in with the user's bearer token (like a native app). */
export async function clientFor(
  url: string,
  user: TestUser,
  options: { storage?: StorageAdapter; token?: () => string; heartbeatTimeoutMs?: number } = {},
): Promise<ChatClient> {
  const client = createChatClient({
    baseUrl: url,
    getToken: options.token ?? (() => user.token),
    storage: options.storage ?? memoryStorage(),
    ...(options.heartbeatTimeoutMs ? { heartbeatTimeoutMs: options.heartbeatTimeoutMs } : {}),
  });
  const me = await client.me();
  if (!me) throw new Error("the test client is not signed in");
  return client;
}

/** Polls until `check` passes (assertions inside), instead of sleeping. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await check();
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
  throw lastError;
}
