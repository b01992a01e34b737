/**
 * The demo page's weekly reports in real Chromium: an admin (ADMIN_EMAILS) and a normal user
 * sign up through the page and chat (2 messages from the user, 1 from the admin); the admin
 * opens Reports on a phone-sized screen and sees exactly those numbers, and the chart bars
 * match the JSON the page links to. The normal user gets no Reports button (the server says
 * 403 to them). Leaves a screenshot in test-output/.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { outputPath, signUpInPage, useDemoInChromium } from "./helpers/browser.js";

const ADMIN = { email: "admin@example.com", name: "Ada Admin" };
const USER = { email: "nora@example.com", name: "Nora" };

/** The report's JSON as far as this test reads it. */
interface ReportJson {
  week: string;
  partial: boolean;
  generatedAt: string;
  totals: Record<string, number>;
  users: { email: string; messages: number }[];
  actions: Record<string, number>;
  byDay: number[];
  byHour: number[];
}

describe("weekly reports in the demo page", () => {
  const demo = useDemoInChromium({ ADMIN_EMAILS: ADMIN.email });
  const contexts: BrowserContext[] = [];

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  async function newPage(viewport: { width: number; height: number }): Promise<Page> {
    const context = await demo.browser.newContext({ viewport });
    contexts.push(context);
    return context.newPage();
  }

  const signUp = (page: Page, email: string, displayName: string) => signUpInPage(page, demo.server.url, email, displayName);

  async function send(page: Page, text: string, stored: number) {
    await page.getByTestId("composer").fill(text);
    await page.getByTestId("send").click();
    const own = page.locator('[data-testid="message"][data-own="true"] [data-testid="message-delivery"]');
    await expect
      .poll(() => own.evaluateAll((ticks) => ticks.filter((t) => (t as HTMLElement).dataset.state === "stored").length), {
        timeout: 15_000,
      })
      .toBe(stored);
  }

  /** A GET from inside the page: same origin, the page's session cookie. */
  const getJson = (page: Page, url: string) =>
    page.evaluate(async (u) => {
      const response = await fetch(u, { credentials: "same-origin" });
      return { status: response.status, body: (await response.json()) as unknown };
    }, url);

  it("shows an admin this week's exact numbers, and nobody else a Reports button", { timeout: 120_000 }, async () => {
    const admin = await newPage({ width: 375, height: 812 });
    const user = await newPage({ width: 1024, height: 768 });
    await signUp(admin, ADMIN.email, ADMIN.name);
    await signUp(user, USER.email, USER.name);

    // The normal user starts a conversation with the admin and writes twice.
    const form = user.getByTestId("new-conversation-form");
    await form.locator('input[name="title"]').fill("Questions");
    await form.locator('input[name="members"]').fill(ADMIN.email);
    await user.getByTestId("new-conversation-submit").click();
    await expect.poll(() => user.getByTestId("chat-title").textContent()).toBe("Questions");
    await send(user, "Hello, is the school trip on Friday?", 1);
    await send(user, "And what should they bring?", 2);

    // The admin answers once.
    const adminItem = admin.getByTestId("conversation-item").filter({ hasText: "Questions" });
    await expect.poll(() => adminItem.count(), { timeout: 20_000 }).toBe(1);
    await adminItem.click();
    await expect.poll(() => admin.getByTestId("message-text").count()).toBe(2);
    await send(admin, "Yes, and a packed lunch.", 1);

    // The normal user: the server refused the index, so no button.
    const userButton = user.getByTestId("reports-button");
    await expect.poll(() => userButton.getAttribute("data-access")).toBe("refused");
    expect(await userButton.isVisible()).toBe(false);
    const refused = await getJson(user, "/api/reports/weekly/index");
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: "forbidden" } });

    // The admin opens the reports and picks the week so far.
    const button = admin.getByTestId("reports-button");
    await expect.poll(() => button.getAttribute("data-access")).toBe("granted");
    await button.click();
    const picker = admin.getByTestId("report-week");
    await expect.poll(() => picker.locator("option").first().getAttribute("value")).toBe("current");
    await picker.selectOption("current");
    const totals = admin.getByTestId("report-totals");
    const total = (key: string) => totals.locator(`[data-total="${key}"]`).textContent();
    await expect.poll(() => total("messages")).toBe("3");
    expect(await total("activeUsers")).toBe("2");
    expect(await total("videos")).toBe("0");
    expect(await admin.getByTestId("report-partial").isVisible()).toBe(true);

    // One row per user, with their own message counts.
    const rows = admin.getByTestId("report-users").locator("tbody tr");
    expect(await rows.count()).toBe(2);
    const row = (name: string) => rows.filter({ has: admin.locator('[data-col="displayName"]', { hasText: name }) });
    expect(await row(USER.name).locator('[data-col="messages"]').textContent()).toBe("2");
    expect(await row(ADMIN.name).locator('[data-col="messages"]').textContent()).toBe("1");
    expect(await row(USER.name).locator('[data-col="email"]').textContent()).toBe(USER.email);
    expect(await row(USER.name).locator('[data-col="conversations"]').textContent()).toBe("1");
    expect(Number(await row(ADMIN.name).locator('[data-col="apiCalls"]').textContent())).toBeGreaterThan(0);

    // The JSON the page links to, fetched with the admin's cookie: the same numbers.
    const link = admin.getByTestId("report-json");
    expect(await link.getAttribute("href")).toBe("/api/reports/weekly?week=current");
    const href = await link.evaluate((a) => (a as HTMLAnchorElement).href);
    const fetched = await getJson(admin, href);
    expect(fetched.status).toBe(200);
    const report = fetched.body as ReportJson;
    expect(report.partial).toBe(true);
    expect(report.totals).toMatchObject({ activeUsers: 2, messages: 3 });
    expect(report.actions["message.sent"]).toBe(3);

    // Today's bar (the day of generatedAt, in the report's zone; 0 = Monday) holds the day's
    // actions: every action of this test happened today.
    const today = (new Date(`${report.generatedAt.slice(0, 10)}T00:00:00Z`).getUTCDay() + 6) % 7;
    const dayBars = admin.getByTestId("report-by-day").locator("rect");
    expect(await dayBars.count()).toBe(7);
    const todayBar = dayBars.nth(today);
    expect(Number(await todayBar.getAttribute("data-count"))).toBe(report.byDay[today]);
    expect(await todayBar.getAttribute("data-current")).toBe("true");
    const actionCount = Object.values(report.actions).reduce((sum, n) => sum + n, 0);
    expect(report.byDay[today]).toBe(actionCount);
    // user.registered 2, conversation.created 1, member.added 1, message.sent 3, and the read
    // positions the page wrote as messages came into view (how many depends on timing).
    const reads = report.actions["read.updated"] ?? 0;
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(actionCount - reads).toBe(7);

    const hourBars = admin.getByTestId("report-by-hour").locator("rect");
    expect(await hourBars.count()).toBe(24);
    const hourCounts = (await hourBars.evaluateAll((bars) => bars.map((b) => b.getAttribute("data-count")))).map(Number);
    expect(hourCounts).toEqual(report.byHour);

    // Usable on a 375px phone: the page itself never scrolls sideways (the table may).
    const overflow = await admin.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBe(0);

    await admin.screenshot({ path: outputPath("browser-reports-admin.png"), fullPage: true });
    await admin.locator(".reports-pane").evaluate((pane) => pane.scrollTo(0, pane.scrollHeight));
    await admin.screenshot({ path: outputPath("browser-reports-admin-end.png") });

    // Back to the chat it came from.
    await admin.getByTestId("reports-close").click();
    await expect.poll(() => admin.getByTestId("chat-title").isVisible()).toBe(true);
  });
});
