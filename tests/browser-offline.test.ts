/**
 * The demo page without a network, in real Chromium: the badge leaves "online" within the
 * heartbeat timeout, messages written offline wait as `pending` (also across a reload served by
 * the service worker from its cache), the pending count says so, and once the network is back
 * they are stored and reach the other person exactly once, in order.
 *
 * Ann's page (and so her socket) goes through a fault proxy; Ben's talks to the server directly.
 * Two ways to lose the network: Chromium's offline mode (an open WebSocket stalls, it is not
 * closed) and the proxy cutting every connection and refusing new ones.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { outputPath, signUpInPage, useDemoInChromium } from "./helpers/browser.js";
import { startFaultProxy, type FaultProxy } from "./helpers/faultProxy.js";

/** The SDK's default: a connection that brings nothing for this long is dropped. */
const HEARTBEAT_TIMEOUT_MS = 5_000;
/** How soon after the network goes the badge must leave "online": heartbeatTimeoutMs + 1 s. */
const OFFLINE_DETECTED_WITHIN_MS = HEARTBEAT_TIMEOUT_MS + 1_000;

describe("demo page offline in Chromium", () => {
  const demo = useDemoInChromium();
  let net: FaultProxy;
  const contexts: BrowserContext[] = [];

  beforeEach(async () => {
    net = await startFaultProxy({ port: demo.server.running.port });
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    await net?.close();
  });

  async function newPage(viewport: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await demo.browser.newContext({ viewport });
    contexts.push(context);
    return { context, page: await context.newPage() };
  }

  const signUp = signUpInPage;

  const messageTexts = (page: Page) => page.getByTestId("message-text").allTextContents();
  const deliveryStates = (page: Page) =>
    page.getByTestId("message-delivery").evaluateAll((badges) => badges.map((b) => (b as HTMLElement).dataset.state));
  const badge = (page: Page) => page.getByTestId("connection-state").textContent();
  const pendingCount = async (page: Page) => {
    const counter = page.getByTestId("pending-count");
    return { count: await counter.getAttribute("data-count"), text: await counter.textContent() };
  };

  /**
   * Sign-up, a conversation Ann starts with Ben's email and one message both see; then Ann
   * loses the network (`goOffline`), writes three messages, reloads without a network, and
   * gets it back (`goOnline`).
   */
  async function scenario(
    tag: string,
    network: { goOffline(annContext: BrowserContext): Promise<void>; goOnline(annContext: BrowserContext): Promise<void> },
  ) {
    const ann = await newPage({ width: 390, height: 844 });
    const ben = await newPage({ width: 1024, height: 768 });
    const annPage = ann.page;
    const benPage = ben.page;
    await signUp(annPage, net.url, `ann-${tag}@example.com`, "Ann");
    await signUp(benPage, demo.server.url, `ben-${tag}@example.com`, "Ben");
    await expect.poll(() => badge(annPage)).toBe("online");
    expect(await pendingCount(annPage)).toEqual({ count: "0", text: "nothing waiting to send" });
    expect(await annPage.getByTestId("pending-count").isHidden()).toBe(true);

    const title = `Road trip ${tag}`;
    const form = annPage.getByTestId("new-conversation-form");
    await form.locator('input[name="title"]').fill(title);
    await form.locator('input[name="members"]').fill(`ben-${tag}@example.com`);
    await annPage.getByTestId("new-conversation-submit").click();
    await expect.poll(() => annPage.getByTestId("chat-title").textContent()).toBe(title);
    await annPage.getByTestId("composer").fill("Leaving now");
    await annPage.getByTestId("send").click();
    await expect.poll(() => deliveryStates(annPage), { timeout: 15_000 }).toEqual(["stored"]);

    const benItem = benPage.getByTestId("conversation-item").filter({ hasText: title });
    await expect.poll(() => benItem.count(), { timeout: 20_000 }).toBe(1);
    await benItem.click();
    await expect.poll(() => messageTexts(benPage)).toEqual(["Leaving now"]);

    // The service worker runs and keeps the shell before the network goes.
    const kept = await annPage.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      const scripts = Array.from(document.querySelectorAll<HTMLScriptElement>("script[src]"), (s) => s.src);
      const styles = Array.from(document.querySelectorAll<HTMLLinkElement>('link[rel="stylesheet"]'), (l) => l.href);
      const urls = ["/", ...scripts, ...styles];
      const missing = [];
      for (const url of urls) if (!(await caches.match(url))) missing.push(url);
      return { active: registration.active?.state, urls: urls.length, missing };
    });
    expect(kept).toEqual({ active: "activated", urls: 3, missing: [] });

    // Offline: the badge leaves "online" within the heartbeat timeout (+ 1 s).
    const cutAt = Date.now();
    await network.goOffline(ann.context);
    await expect.poll(() => badge(annPage), { timeout: OFFLINE_DETECTED_WITHIN_MS, interval: 100 }).not.toBe("online");
    const detectedMs = Date.now() - cutAt;
    console.info(`${tag}: the badge left "online" ${detectedMs} ms after the network went`);
    expect(["offline", "connecting"]).toContain(await badge(annPage));

    const offline = ["Tunnel 1: no signal", "Tunnel 2: still nothing", "Tunnel 3: see you at the gas station"];
    for (const text of offline) {
      await annPage.getByTestId("composer").fill(text);
      await annPage.getByTestId("send").click();
    }
    await expect.poll(() => messageTexts(annPage)).toEqual(["Leaving now", ...offline]);
    await expect.poll(() => deliveryStates(annPage)).toEqual(["stored", "pending", "pending", "pending"]);
    await expect.poll(() => pendingCount(annPage)).toEqual({ count: "3", text: "3 waiting to send" });
    expect(await annPage.getByTestId("pending-count").isVisible()).toBe(true);

    // A reload without a network: the service worker serves the page, the list and the open
    // conversation come from the device, the three still wait.
    const reloaded = await annPage.reload();
    expect(reloaded?.fromServiceWorker()).toBe(true);
    await expect.poll(() => annPage.getByTestId("chat-title").textContent()).toBe(title);
    await expect.poll(() => messageTexts(annPage)).toEqual(["Leaving now", ...offline]);
    await expect.poll(() => deliveryStates(annPage)).toEqual(["stored", "pending", "pending", "pending"]);
    await expect.poll(() => pendingCount(annPage)).toEqual({ count: "3", text: "3 waiting to send" });
    expect(await annPage.getByTestId("me").textContent()).toBe("Ann");
    expect(["offline", "connecting"]).toContain(await badge(annPage));
    // Nothing reached Ben meanwhile.
    expect(await messageTexts(benPage)).toEqual(["Leaving now"]);
    await annPage.screenshot({ path: outputPath(`browser-offline-${tag}-ann-offline.png`), fullPage: true });
    await annPage.getByTestId("back").click();
    await expect
      .poll(() => annPage.getByTestId("conversation-title").allTextContents())
      .toEqual([title]);
    await annPage.screenshot({ path: outputPath(`browser-offline-${tag}-ann-offline-list.png`), fullPage: true });
    await annPage.getByTestId("conversation-item").filter({ hasText: title }).click();

    // Back online: stored, and at Ben's exactly once each, in order.
    await network.goOnline(ann.context);
    await expect
      .poll(() => deliveryStates(annPage), { timeout: 30_000 })
      .toEqual(["stored", "stored", "stored", "stored"]);
    await expect.poll(() => pendingCount(annPage)).toEqual({ count: "0", text: "nothing waiting to send" });
    await expect.poll(() => badge(annPage), { timeout: 20_000 }).toBe("online");
    await expect.poll(() => messageTexts(benPage), { timeout: 15_000 }).toEqual(["Leaving now", ...offline]);
    expect(await messageTexts(annPage)).toEqual(["Leaving now", ...offline]);
    const benIds = await benPage.getByTestId("message").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.messageId));
    expect(new Set(benIds).size).toBe(4);
    expect(await benPage.getByTestId("message-author").allTextContents()).toEqual(["Ann", "Ann", "Ann", "Ann"]);
    // Still once each a moment later (a late duplicate would show up by now).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await messageTexts(benPage)).toEqual(["Leaving now", ...offline]);

    await annPage.screenshot({ path: outputPath(`browser-offline-${tag}-ann-online.png`), fullPage: true });
    await benPage.screenshot({ path: outputPath(`browser-offline-${tag}-ben.png`), fullPage: true });
    return { detectedMs };
  }

  it("Chromium offline mode (the socket stalls): pending across a reload, then stored once", { timeout: 60_000 }, async () => {
    await scenario("browser-offline", {
      goOffline: (context) => context.setOffline(true),
      goOnline: (context) => context.setOffline(false),
    });
  });

  it("the connection cut at the proxy: pending across a reload, then stored once", { timeout: 60_000 }, async () => {
    await scenario("proxy-cut", {
      goOffline: async () => {
        net.refuse(true);
        net.dropAll();
      },
      goOnline: async () => {
        net.refuse(false);
      },
    });
  });
});
