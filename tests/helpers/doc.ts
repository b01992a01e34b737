import * as Y from "yjs";

/**
 * Writes a text message map straight into a Yjs document, past the SDK's checks: what a
 * broken or hostile client could send.
 */
export function writeRawMessage(doc: Y.Doc, id: string, authorId: string, text: string): void {
  const map = new Y.Map<unknown>();
  map.set("id", id);
  map.set("authorId", authorId);
  map.set("kind", "text");
  map.set("text", text);
  map.set("createdAt", Date.now());
  map.set("reactions", new Y.Map());
  doc.getArray("messages").push([map]);
}
