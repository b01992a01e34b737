// `npm start`: build what is missing, then serve http://localhost:3000 (or $PORT) on SQLite in data/.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { root, run } from "./lib.mjs";

if (!fs.existsSync(path.join(root, "node_modules"))) {
  console.error("Dependencies are missing: run `npm install && npm start`.");
  process.exit(1);
}
run(process.execPath, ["scripts/build.mjs"]);

const args = [];
if (fs.existsSync(path.join(root, ".env"))) args.push("--env-file=.env");
const server = spawn(process.execPath, [...args, "server/dist/main.js"], { cwd: root, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
