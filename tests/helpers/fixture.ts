/** The usual cast: a fresh server, Ann and Ben, and a conversation between them. */
import { afterAll, beforeAll } from "vitest";
import { startTestServer, type TestServer } from "./server.js";
import { createConversation, signUp, type TestUser } from "./users.js";

export interface TwoPeople {
  server: TestServer;
  ann: TestUser;
  ben: TestUser;
  conversationId: string;
}

/** Registers beforeAll/afterAll in the calling describe; the fields are set once it has run. */
export function useTwoPeople(env: Record<string, string> = {}): TwoPeople {
  const cast = {} as TwoPeople;
  beforeAll(async () => {
    cast.server = await startTestServer(env);
    cast.ann = await signUp(cast.server.url, "Ann");
    cast.ben = await signUp(cast.server.url, "Ben");
    cast.conversationId = (await createConversation(cast.server.url, cast.ann, [cast.ben])).id;
  });
  afterAll(() => cast.server?.stop());
  return cast;
}
