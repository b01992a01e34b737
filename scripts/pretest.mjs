// `npm test`'s first step on any machine, CI's clean clone included: the system packages the
// suites need (Debian's chromium for the browser tests, ffmpeg for video probing), the npm
// dependencies, and a fresh build of the demo page the browser tests load.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { mtime, root, run } from "./lib.mjs";

const PACKAGES = [
  { name: "chromium", binary: "/usr/bin/chromium" },
  { name: "ffmpeg", binary: "/usr/bin/ffprobe" },
];

const missing = PACKAGES.filter((p) => !fs.existsSync(p.binary)).map((p) => p.name);
if (missing.length > 0) {
  const install = `apt-get update && apt-get install -y ${missing.join(" ")}`;
  if (process.getuid?.() === 0) {
    console.log(`installing ${missing.join(", ")} with apt-get…`);
    run("sh", ["-c", `DEBIAN_FRONTEND=noninteractive ${install}`]);
  } else {
    console.error(`The tests need ${missing.join(" and ")} from Debian. Run:\n\n  sudo sh -c '${install}'\n\nthen npm test again.`);
    process.exit(1);
  }
}

const installed = path.join(root, "node_modules", ".package-lock.json");
if (!fs.existsSync(installed) || mtime("package-lock.json") > mtime("node_modules/.package-lock.json")) {
  console.log("installing npm dependencies…");
  const result = spawnSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(process.execPath, ["scripts/build.mjs"]);
