/**
 * Scenario (j): the only client of a conversation drops and comes back while the server is
 * storing and unloading that document. No update is lost, and the server never holds two live
 * copies of the document.
 */
import { documentName } from "@wbk/shared";
import { describe, expect, it } from "vitest";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, clientFor, eventually } from "./helpers/users.js";

describe("reconnecting while the document unloads (j)", () => {
  const cast = useTwoPeople();

  it("keeps every update and one copy of the document", { timeout: 120_000 }, async () => {
    const { hocuspocus } = cast.server.running;
    const name = documentName(cast.conversationId);
    let loads = 0;
    let unloads = 0;
    let mostAlive = 0;
    // Count the live copies from Hocuspocus's own lifecycle hooks.
    hocuspocus.configuration.extensions.push({
      async afterLoadDocument({ documentName: loaded }) {
        if (loaded === name) mostAlive = Math.max(mostAlive, ++loads - unloads);
      },
      async afterUnloadDocument({ documentName: unloaded }) {
        if (unloaded === name) unloads += 1;
      },
    });

    const sent: string[] = [];
    for (let round = 0; round < 25; round++) {
      const client = await clientFor(cast.server.url, cast.ann);
      const chat = client.conversation(cast.conversationId);
      sent.push(await chat.send(`round ${round}`));
      await eventually(() => expect(chat.deliveryState(sent.at(-1)!)).toBe("stored"));
      await client.close(); // the last connection leaves: store, then unload…
      await new Promise((r) => setTimeout(r, round % 5)); // …and the client is back at once or a moment later
    }
    await eventually(() => expect(hocuspocus.documents.has(name)).toBe(false), 10_000);

    const listed = await api<{ messages: Array<{ id: string }> }>(
      cast.server.url,
      "GET",
      `/api/conversations/${cast.conversationId}/messages?limit=200`,
      { token: cast.ann.token },
    );
    expect(listed.body.messages.map((m) => m.id)).toEqual(sent);
    expect(loads).toBeGreaterThan(1);
    expect(mostAlive).toBe(1);
  });
});
