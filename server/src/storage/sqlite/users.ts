import type { UserId } from "@wbk/shared";
import type { UserRecord, UserStore } from "../types.js";
import type { Db } from "./database.js";
import type { Rollups } from "./rollups.js";

interface Row {
  id: string;
  email: string;
  display_name: string;
  password_hash: string;
  created_at: number;
}

const toRecord = (row: Row): UserRecord => ({
  id: row.id as UserId,
  email: row.email,
  displayName: row.display_name,
  passwordHash: row.password_hash,
  createdAt: row.created_at,
});

export function sqliteUsers(db: Db, rollups: Rollups): UserStore {
  const insert = db.prepare(
    "INSERT INTO users (id, email, display_name, password_hash, created_at) VALUES (@id, @email, @displayName, @passwordHash, @createdAt)",
  );
  const byId = db.prepare<[string], Row>("SELECT * FROM users WHERE id = ?");
  const byEmail = db.prepare<[string], Row>("SELECT * FROM users WHERE email = ?");
  const setName = db.prepare("UPDATE users SET display_name = ? WHERE id = ?");
  const setHash = db.prepare("UPDATE users SET password_hash = ? WHERE id = ?");
  const create = db.transaction((user: UserRecord) => {
    insert.run(user);
    rollups.action("user.registered", user.id, null, user.createdAt);
  });
  return {
    create: (user) => create.immediate(user),
    byId: (id) => {
      const row = byId.get(id);
      return row && toRecord(row);
    },
    byEmail: (email) => {
      const row = byEmail.get(email);
      return row && toRecord(row);
    },
    byIds: (ids) => ids.map((id) => byId.get(id)).filter((row): row is Row => row !== undefined).map(toRecord),
    setDisplayName: (id, name) => void setName.run(name, id),
    setPasswordHash: (id, hash) => void setHash.run(hash, id),
  };
}
