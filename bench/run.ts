/**
 * `npm run bench`: every workload in turn (W1 fan-out, then W7 reports), one markdown table
 * each on stdout and one JSON file each under bench/results/. BENCH_QUICK=1 for the short
 * version (under 90 s here; the full one under 10 min). Progress goes to stderr. Timings only:
 * nothing here asserts, and the exit code says only whether the run itself worked.
 *
 * Every server a workload starts is its own child process, stopped when the workload ends,
 * when it fails, and on Ctrl-C (bench/lib/servers.ts).
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { installCleanup, NODE_ARGS } from "./lib/servers.js";
import * as w1 from "./w1-fanout.js";
import * as w7 from "./w7-reports.js";

const HERE = fileURLToPath(import.meta.url);

async function main() {
  installCleanup();
  const quick = process.env.BENCH_QUICK === "1";
  const started = performance.now();
  const progress = (line: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  const written: string[] = [];

  progress(`W1 fan-out (${quick ? "quick" : "full"})`);
  const fanout = await w1.run({ quick, log: progress });
  process.stdout.write(`${w1.toMarkdown(fanout)}\n`);
  written.push(w1.writeResult(fanout));

  progress(`W7 reports (${quick ? "quick" : "full"})`);
  const reports = await w7.run({ quick });
  process.stdout.write(`${w7.toMarkdown(reports)}\n`);
  written.push(w1.writeResult(reports));

  for (const file of written) process.stdout.write(`written ${path.relative(process.cwd(), file)}\n`);
  progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

if (!import.meta.resolve("@wbk/server").endsWith(".ts")) {
  // `npx tsx bench/run.ts` would load the workspace packages' last build: run again on the sources.
  const again = spawnSync(process.execPath, [...NODE_ARGS, HERE, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(again.status ?? 1);
} else {
  await main();
}
