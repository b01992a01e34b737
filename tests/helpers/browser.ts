/** Debian's Chromium driven by playwright-core (never a downloaded browser). */
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { startTestServer, type TestServer } from "./server.js";

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

const DEMO_DIST = path.resolve(import.meta.dirname, "..", "..", "demo-web", "dist");

export interface DemoInChromium {
  server: TestServer;
  browser: Browser;
}

/**
 * A server serving the built demo page, and Chromium; registers beforeAll/afterAll in the
 * calling describe. The fields are set once it has run.
 */
export function useDemoInChromium(env: Record<string, string> = {}): DemoInChromium {
  const demo = {} as DemoInChromium;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    demo.server = await startTestServer(env, { staticDir: DEMO_DIST });
    const chromium = await launchChromium();
    demo.browser = chromium.browser;
    close = chromium.close;
  }, 120_000);
  afterAll(async () => {
    await close?.();
    await demo.server?.stop();
  });
  return demo;
}
