/**
 * Scenario (h): two conversations share one socket; the device stays offline longer than the
 * server's idle timeout and the token's lifetime, and sends meanwhile. On the new socket the
 * token is fetched again; the stale one is refused, a fresh one on the same socket succeeds,
 * both conversations authenticate again, and every message arrives once.
 */
import { createChatClient, memoryStorage } from "@wbk/client-sdk/node";
import { describe, expect, it } from "vitest";
import { startFaultProxy } from "./helpers/faultProxy.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, createConversation, eventually } from "./helpers/users.js";

describe("offline past the idle timeout and the token's lifetime (h)", () => {
  const cast = useTwoPeople({ SESSION_TTL_SECONDS: "3", WS_IDLE_TIMEOUT_MS: "2000" });

  const login = async () =>
    (await api<{ token: string }>(cast.server.url, "POST", "/api/auth/login", { body: { email: cast.ann.email, password: cast.ann.password } }))
      .body.token;

  async function texts(conversationId: string): Promise<string[]> {
    const token = (
      await api<{ token: string }>(cast.server.url, "POST", "/api/auth/login", { body: { email: cast.ben.email, password: cast.ben.password } })
    ).body.token;
    const { body } = await api<{ messages: Array<{ text: string }> }>(
      cast.server.url,
      "GET",
      `/api/conversations/${conversationId}/messages`,
      { token },
    );
    return body.messages.map((m) => m.text);
  }

  it("re-authenticates both conversations with a fresh token and delivers the offline messages once", { timeout: 60_000 }, async () => {
    const second = (await createConversation(cast.server.url, cast.ann, [cast.ben], "second")).id;
    const net = await startFaultProxy({ port: cast.server.running.port });
    const stale = await login();
    let backOnline = false;
    let staleServedAfterReconnect = false;
    let fresh: string | null = null;
    const tokensGiven: string[] = [];
    // Like an app that refreshes only once the server says no: the first ask after the trip
    // still hands out the old token.
    const getToken = async () => {
      let token = stale;
      if (backOnline && staleServedAfterReconnect) token = fresh ??= await login();
      if (backOnline) staleServedAfterReconnect = true;
      tokensGiven.push(token === stale ? "stale" : "fresh");
      return token;
    };
    const client = createChatClient({ baseUrl: net.url, getToken, storage: memoryStorage() });
    const authRequired: string[] = [];
    client.on("auth-required", ({ reason }) => authRequired.push(reason));
    try {
      await client.me();
      const one = client.conversation(cast.conversationId);
      const two = client.conversation(second);
      await eventually(() => expect(one.synced && two.synced).toBe(true));

      net.refuse(true);
      net.dropAll();
      await one.send("first, from the tunnel");
      await two.send("second, from the tunnel");
      await one.send("third, from the tunnel");
      await new Promise((r) => setTimeout(r, 3500)); // past the 2 s idle timeout and the 3 s session
      tokensGiven.length = 0;
      backOnline = true;
      net.refuse(false);

      await eventually(async () => {
        expect(await texts(cast.conversationId)).toEqual(["first, from the tunnel", "third, from the tunnel"]);
        expect(await texts(second)).toEqual(["second, from the tunnel"]);
      }, 30_000);
      await eventually(() => expect(one.status.pendingCount + two.status.pendingCount).toBe(0));
      expect(tokensGiven[0]).toBe("stale");
      expect(tokensGiven).toContain("fresh");
      expect(authRequired).toEqual([]);
      expect(client.state).toBe("online");
    } finally {
      await client.close();
      await net.close();
    }
  });
});
