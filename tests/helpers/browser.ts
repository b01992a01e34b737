/** Debian's Chromium driven by playwright-core (never a downloaded browser). */
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Launches headless Chromium; Playwright gives every launch a fresh, temporary profile. */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      // Without these Chromium keeps calling Google's hosts, which this network refuses.
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-quic",
    ],
  });
  return { browser, close: () => browser.close() };
}

/** Where tests keep screenshots (git-ignored). */
export function outputPath(name: string): string {
  const dir = path.resolve(import.meta.dirname, "..", "..", "test-output");
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
