/** Debian's Chromium driven by playwright-core (never a downloaded browser). */
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { expect } from "vitest";

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

/** Signs up through the demo page's form at `origin` and waits until the page shows the user. */
export async function signUpInPage(page: Page, origin: string, email: string, displayName: string): Promise<void> {
  await page.goto(origin);
  const form = page.getByTestId("signup-form");
  await form.locator('input[name="email"]').fill(email);
  await form.locator('input[name="displayName"]').fill(displayName);
  await form.locator('input[name="password"]').fill("a long enough password");
  await page.getByTestId("signup-submit").click();
  await expect.poll(() => page.getByTestId("me").textContent()).toBe(displayName);
}
