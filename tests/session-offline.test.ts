/**
 * Sessions that end while a device is offline (scenario (e)): the pending messages wait on the
 * device and go out under the same user once they sign in again, never under someone else;
 * a revoked session ends signed out instead of reconnecting for ever.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createChatClient, fileStorage } from "@wbk/client-sdk/node";
import { afterAll, describe, expect, it } from "vitest";
import { startFaultProxy } from "./helpers/faultProxy.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, eventually } from "./helpers/users.js";

const device = fs.mkdtempSync(path.join(os.tmpdir(), "wbk-session-device-"));
afterAll(() => fs.rmSync(device, { recursive: true, force: true }));

describe("a session that ends while offline", () => {
  const cast = useTwoPeople({ SESSION_TTL_SECONDS: "2" });

  const listed = async () =>
    (
      await api<{ messages: Array<{ id: string; authorId: string; text: string }> }>(
        cast.server.url,
        "GET",
        `/api/conversations/${cast.conversationId}/messages`,
        { token: (await api<{ token: string }>(cast.server.url, "POST", "/api/auth/login", { body: { email: cast.ben.email, password: cast.ben.password } })).body.token },
      )
    ).body.messages;

  it("(e) asks to sign in, keeps the pending messages from another user, and sends them as their author", { timeout: 60_000 }, async () => {
    const net = await startFaultProxy({ port: cast.server.running.port });
    const client = createChatClient({ baseUrl: net.url, storage: fileStorage(device) });
    try {
      await client.login({ email: cast.ann.email, password: cast.ann.password });
      const chat = client.conversation(cast.conversationId);
      await eventually(() => expect(chat.synced).toBe(true));
      const reasons: string[] = [];
      client.on("auth-required", ({ reason }) => reasons.push(reason));

      net.refuse(true);
      net.dropAll();
      const pending = [await chat.send("offline 1"), await chat.send("offline 2")];
      await new Promise((r) => setTimeout(r, 2500)); // the 2 s session expires meanwhile
      net.refuse(false);
      await eventually(() => expect(reasons).toEqual(["session_expired"]), 20_000);
      expect(client.state).toBe("offline");
      expect(chat.status.pendingCount).toBe(2);

      // Ben signs in on the same device: Ann's pending messages must not go out as his.
      await client.login({ email: cast.ben.email, password: cast.ben.password });
      const benChat = client.conversation(cast.conversationId);
      await eventually(() => expect(benChat.synced).toBe(true));
      await benChat.send("Ben on Ann's phone");
      await eventually(async () => expect((await listed()).map((m) => m.text)).toEqual(["Ben on Ann's phone"]));

      // Ann signs in again: her two messages go out once, as hers.
      await client.login({ email: cast.ann.email, password: cast.ann.password });
      const again = client.conversation(cast.conversationId);
      await eventually(async () => {
        const messages = await listed();
        expect(messages.filter((m) => (pending as string[]).includes(m.id)).map((m) => [m.text, m.authorId])).toEqual([
          ["offline 1", cast.ann.user.id],
          ["offline 2", cast.ann.user.id],
        ]);
        expect(messages).toHaveLength(3);
      }, 20_000);
      await eventually(() => expect(again.status.pendingCount).toBe(0));
    } finally {
      await client.close();
      await net.close();
    }
  });

  it("ends a revoked session signed out, without reconnecting", { timeout: 30_000 }, async () => {
    const client = createChatClient({ baseUrl: cast.server.url, storage: fileStorage(device) });
    try {
      const ann = await client.login({ email: cast.ann.email, password: cast.ann.password });
      const chat = client.conversation(cast.conversationId);
      await eventually(() => expect(chat.synced).toBe(true));
      const reasons: string[] = [];
      const users: Array<string | null> = [];
      client.on("auth-required", ({ reason }) => reasons.push(reason));
      client.on("user", ({ user }) => users.push(user?.id ?? null));

      // Ann changes her password on another device: this session is revoked.
      const other = await api<{ token: string }>(cast.server.url, "POST", "/api/auth/login", {
        body: { email: cast.ann.email, password: cast.ann.password },
      });
      const changed = await api(cast.server.url, "POST", "/api/auth/password", {
        token: other.body.token,
        body: { currentPassword: cast.ann.password, newPassword: "a brand new password" },
      });
      expect(changed.status).toBe(204);
      cast.ann.password = "a brand new password";

      await eventually(() => expect(reasons).toEqual(["session_revoked"]));
      await eventually(() => expect(client.user).toBeNull());
      expect(users).toEqual([null]);
      const sockets = cast.server.running.hocuspocus.getConnectionsCount();
      await new Promise((r) => setTimeout(r, 1500));
      expect(client.state).toBe("offline");
      expect(reasons).toEqual(["session_revoked"]);
      expect(cast.server.running.hocuspocus.getConnectionsCount()).toBeLessThanOrEqual(sockets);
      expect(ann.id).toBe(cast.ann.user.id);
    } finally {
      await client.close();
    }
  });
});
