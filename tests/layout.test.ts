/** Reading a conversation document never fails on an entry of the messages list that is no message map. */
import { appendTextMessage, findMessageMap, listMessages, type MessageId, type UserId } from "@wbk/shared";
import * as Y from "yjs";
import { describe, expect, it } from "vitest";

describe("document layout readers", () => {
  it("skip what is not a message map in the messages list (a document stored before a guard fix)", () => {
    const doc = new Y.Doc();
    const messages = doc.getArray<unknown>("messages");
    messages.push(["poison", 42, null]);
    appendTextMessage(doc, { id: "m1" as MessageId, authorId: "ann" as UserId, text: "hello", createdAt: 1 });
    messages.push([new Y.Array()]);
    expect(listMessages(doc).map((m) => [m.id, m.text])).toEqual([["m1", "hello"]]);
    expect(findMessageMap(doc, "m1")?.get("text")).toBe("hello");
    expect(findMessageMap(doc, "poison")).toBe(undefined);
  });
});
