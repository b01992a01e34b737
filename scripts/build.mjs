// Builds what is missing or out of date: the TypeScript projects (incremental) and the demo page.
import { mtime, newestMtime, run } from "./lib.mjs";

const tsc = "node_modules/typescript/bin/tsc";
run(process.execPath, [tsc, "-b", "shared", "server", "client-sdk", "client-sdk/tsconfig.node.json"]);

const demoSources = newestMtime("demo-web/src", "demo-web/public", "demo-web/index.html", "demo-web/vite.config.ts", "client-sdk/src", "shared/src");
if (process.argv.includes("--force") || mtime("demo-web/dist/index.html") < demoSources) {
  console.log("building the demo page (vite build)…");
  run("npm", ["run", "build", "--workspace", "@wbk/demo-web"]);
}
