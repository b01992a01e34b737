import type { UserId } from "@wbk/shared";
import type { SessionRecord, SessionStore } from "../types.js";
import type { Db } from "./database.js";

interface Row {
  id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export function sqliteSessions(db: Db): SessionStore {
  const insert = db.prepare(
    "INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at) VALUES (@id, @userId, @createdAt, @expiresAt, @revokedAt)",
  );
  const get = db.prepare<[string], Row>("SELECT * FROM sessions WHERE id = ?");
  const extend = db.prepare("UPDATE sessions SET expires_at = ? WHERE id = ?");
  const revoke = db.prepare("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
  const liveOf = db.prepare<[string, number], { id: string }>(
    "SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?",
  );
  return {
    create: (session) => void insert.run(session),
    get: (id) => {
      const row = get.get(id);
      return (
        row && {
          id: row.id,
          userId: row.user_id as UserId,
          createdAt: row.created_at,
          expiresAt: row.expires_at,
          revokedAt: row.revoked_at,
        }
      );
    },
    extend: (id, expiresAt) => void extend.run(expiresAt, id),
    revoke: (id, at) => void revoke.run(at, id),
    revokeAllOf: (userId, at, keep) =>
      db.transaction(() => {
        const ids = liveOf.all(userId, at).map((r) => r.id).filter((id) => id !== keep);
        for (const id of ids) revoke.run(at, id);
        return ids;
      }).immediate(),
  };
}
