/**
 * The demo page's chat features in real Chromium, two people in two browser contexts: Ann on
 * a desktop (1280×800, mouse and keyboard), Ben on a phone (390×844, touch). Unread badges
 * and the tab title, "Seen by", edit, delete, reactions, replies, typing and who is online,
 * history in pages and search. The steps build on each other, in order.
 */
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { outputPath, signUpInPage, useDemoInChromium } from "./helpers/browser.js";

const TITLE = "Sunday breakfast";
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
/** The SDK shows this many of the newest messages before the reader asks for older ones. */
const FIRST_PAGE = 50;

describe("demo page chat features in Chromium", () => {
  const demo = useDemoInChromium();
  let ann: Page;
  let ben: Page;

  const texts = (page: Page) => page.getByTestId("message-text").allTextContents();
  /** The row whose own text (not a quote of it) is exactly `text`. */
  const row = (page: Page, text: string): Locator =>
    page.getByTestId("message").filter({ has: page.getByTestId("message-text").filter({ hasText: exactly(text) }) });
  const send = async (page: Page, text: string) => {
    await page.getByTestId("composer").fill(text);
    await page.getByTestId("composer").press("Enter");
  };
  const benItem = () => ben.getByTestId("conversation-item").filter({ hasText: TITLE });

  it("Ann starts a conversation with Ben", { timeout: 60_000 }, async () => {
    ann = await (await demo.browser.newContext({ viewport: DESKTOP })).newPage();
    ben = await (await demo.browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true })).newPage();
    await signUpInPage(ann, demo.server.url, "ann@example.com", "Ann");
    await signUpInPage(ben, demo.server.url, "ben@example.com", "Ben");
    const form = ann.getByTestId("new-conversation-form");
    await form.locator('input[name="title"]').fill(TITLE);
    await form.locator('input[name="members"]').fill("ben@example.com");
    await ann.getByTestId("new-conversation-submit").click();
    await expect.poll(() => ann.getByTestId("chat-title").textContent()).toBe(TITLE);
    await expect.poll(() => benItem().count(), { timeout: 20_000 }).toBe(1);
  });

  it("counts unread messages in the list and the tab title, and clears them once read", { timeout: 60_000 }, async () => {
    const badge = benItem().getByTestId("unread-badge");
    expect(await badge.isHidden()).toBe(true);
    expect(await ben.title()).toBe("wbk-chat");

    await send(ann, "Pancakes for breakfast on Sunday?");
    await send(ann, "Who brings the syrup?");
    await send(ann, "I can bake a cake too");
    await expect.poll(() => texts(ann)).toEqual(["Pancakes for breakfast on Sunday?", "Who brings the syrup?", "I can bake a cake too"]);

    await expect.poll(() => badge.textContent(), { timeout: 15_000 }).toBe("3");
    expect(await badge.isVisible()).toBe(true);
    expect(await badge.getAttribute("aria-label")).toBe("3 unread");
    await expect.poll(() => ben.title()).toBe("(3) wbk-chat");
    await ben.screenshot({ path: outputPath("chat-features-ben-unread-phone.png") });

    await benItem().tap();
    await expect.poll(() => texts(ben)).toEqual(["Pancakes for breakfast on Sunday?", "Who brings the syrup?", "I can bake a cake too"]);
    await expect.poll(() => ben.title()).toBe("wbk-chat");
    await expect.poll(() => badge.evaluate((b) => (b as HTMLElement).hidden)).toBe(true);
    // Ann learns it: her newest message says who has seen it.
    await expect.poll(() => row(ann, "I can bake a cake too").getByTestId("message-seen").textContent(), { timeout: 15_000 }).toBe("Seen by Ben");
    expect(await ann.getByTestId("message-seen").filter({ visible: true }).count()).toBe(1);
  });

  it("shows who is online, and who is typing until the message is sent", async () => {
    await expect.poll(() => ben.getByTestId("member-online").allTextContents(), { timeout: 15_000 }).toEqual(["Ann"]);
    await expect.poll(() => ann.getByTestId("member-online").allTextContents(), { timeout: 15_000 }).toEqual(["Ben"]);
    const typing = ben.getByTestId("typing-indicator");
    expect(await typing.isHidden()).toBe(true);

    await ann.getByTestId("composer").fill("Let me check the");
    await expect.poll(() => typing.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await typing.textContent()).toBe("Ann is typing…");
    await ben.screenshot({ path: outputPath("chat-features-ben-typing-phone.png") });

    await ann.getByTestId("composer").fill("Let me check the fridge");
    await ann.getByTestId("composer").press("Enter");
    await expect.poll(() => texts(ben)).toContain("Let me check the fridge");
    await expect.poll(() => typing.isHidden(), { timeout: 10_000 }).toBe(true);
  });

  it("shows an edit with its new text and 'edited' to the other person", async () => {
    const mine = row(ann, "I can bake a cake too");
    const toggle = mine.getByTestId("message-actions-toggle");
    const focusedTestId = () => ann.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? null);
    // By keyboard: Enter opens the actions with the focus in them, Escape closes and gives it back.
    await toggle.focus();
    await ann.keyboard.press("Enter");
    expect(await mine.getByTestId("message-actions").isVisible()).toBe(true);
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    expect(await focusedTestId()).toBe("react-option");
    await ann.keyboard.press("Escape");
    expect(await mine.getByTestId("message-actions").count()).toBe(0);
    expect(await focusedTestId()).toBe("message-actions-toggle");

    await toggle.click();
    await mine.getByTestId("action-edit").click();
    expect(await ann.getByTestId("composer").inputValue()).toBe("I can bake a cake too");
    expect(await ann.getByTestId("composer-context-text").textContent()).toBe("Editing your message");
    // The SDK's refusal is shown, not swallowed.
    await ann.getByTestId("composer").fill("");
    await ann.getByTestId("composer").press("Enter");
    expect(await ann.getByTestId("form-error").textContent()).toBe("text must not be empty");
    await ann.getByTestId("composer").fill("I can bake two cakes");
    await ann.getByTestId("composer").press("Enter");

    const edited = row(ben, "I can bake two cakes");
    await expect.poll(() => edited.count()).toBe(1);
    expect(await edited.getByTestId("message-edited").textContent()).toBe("edited");
    expect(await edited.getByTestId("message-edited").isVisible()).toBe(true);
    expect(await row(ben, "Who brings the syrup?").getByTestId("message-edited").isHidden()).toBe(true);
    expect(await ann.getByTestId("composer").inputValue()).toBe("");
    expect(await ann.getByTestId("form-error").count()).toBe(0);
  });

  it("shows a deleted message as 'message deleted' to the other person", async () => {
    const mine = row(ann, "Who brings the syrup?");
    await mine.getByTestId("message-actions-toggle").click();
    await mine.getByTestId("action-delete").click();
    await mine.getByTestId("action-delete-confirm").click();

    await expect
      .poll(() => texts(ben))
      .toEqual(["Pancakes for breakfast on Sunday?", "message deleted", "I can bake two cakes", "Let me check the fridge"]);
    const tombstone = row(ben, "message deleted");
    expect(await tombstone.getAttribute("class")).toContain("deleted");
    // Nothing more to do with it: no actions.
    expect(await tombstone.getByTestId("message-actions-toggle").isHidden()).toBe(true);
    await expect.poll(() => texts(ann)).toContain("message deleted");
  });

  it("reaches the message actions by touch on a phone, and toggles a reaction", async () => {
    const theirs = row(ben, "Pancakes for breakfast on Sunday?");
    const toggle = theirs.getByTestId("message-actions-toggle");
    const box = (await toggle.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    expect(box.height).toBeGreaterThanOrEqual(24);
    await toggle.tap();
    const actions = theirs.getByTestId("message-actions");
    expect(await actions.isVisible()).toBe(true);
    // Not Ben's message: he may answer and react, not edit or delete.
    expect(await actions.getByRole("button").allTextContents()).toEqual(["👍", "❤️", "😂", "😮", "😢", "🎉", "Reply"]);
    for (const button of await actions.getByRole("button").all()) {
      const b = (await button.boundingBox())!;
      expect(b.x + b.width).toBeLessThanOrEqual(PHONE.width);
    }
    await ben.screenshot({ path: outputPath("chat-features-ben-actions-phone.png") });
    await actions.locator('[data-emoji="👍"]').tap();
    expect(await actions.isHidden()).toBe(true);

    const annChip = row(ann, "Pancakes for breakfast on Sunday?").getByTestId("reaction");
    await expect.poll(() => annChip.count()).toBe(1);
    expect(await annChip.getAttribute("data-emoji")).toBe("👍");
    expect(await annChip.getByTestId("reaction-count").textContent()).toBe("1");
    expect(await annChip.getAttribute("aria-pressed")).toBe("false");
    const benChip = theirs.getByTestId("reaction");
    await expect.poll(() => benChip.getAttribute("aria-pressed")).toBe("true");

    // The same emoji again takes it back.
    await benChip.tap();
    await expect.poll(() => annChip.count()).toBe(0);
    await expect.poll(() => benChip.count()).toBe(0);
  });

  it("shows a reply with the message it quotes", async () => {
    const theirs = row(ben, "Pancakes for breakfast on Sunday?");
    await theirs.getByTestId("message-actions-toggle").tap();
    await theirs.getByTestId("action-reply").tap();
    expect(await ben.getByTestId("composer-context-text").textContent()).toBe("Replying to Ann: Pancakes for breakfast on Sunday?");
    await send(ben, "Yes please, with blueberries");
    expect(await ben.getByTestId("composer-context").isHidden()).toBe(true);

    const reply = row(ann, "Yes please, with blueberries");
    await expect.poll(() => reply.count()).toBe(1);
    expect(await reply.getByTestId("quote-author").textContent()).toBe("You");
    expect(await reply.getByTestId("quote-text").textContent()).toBe("Pancakes for breakfast on Sunday?");
    const own = row(ben, "Yes please, with blueberries");
    expect(await own.getByTestId("quote-author").textContent()).toBe("Ann");
    expect(await own.getByTestId("quote-text").textContent()).toBe("Pancakes for breakfast on Sunday?");
    await ann.screenshot({ path: outputPath("chat-features-ann-desktop.png") });
    await ben.screenshot({ path: outputPath("chat-features-ben-phone.png") });
  });

  it("finds a message older than the first page and shows it highlighted", { timeout: 90_000 }, async () => {
    for (let i = 1; i <= FIRST_PAGE; i += 1) await send(ann, `Filler message ${i}`);
    await expect.poll(() => texts(ben).then((t) => t.at(-1)), { timeout: 30_000 }).toBe(`Filler message ${FIRST_PAGE}`);
    // Only the newest page is shown: the pancakes are not in the log yet.
    expect(await ben.getByTestId("message").count()).toBe(FIRST_PAGE);
    expect(await row(ben, "Pancakes for breakfast on Sunday?").count()).toBe(0);

    await ben.getByTestId("search-toggle").tap();
    const input = ben.getByTestId("search-input");
    await input.press("Enter");
    expect(await ben.getByTestId("search-status").textContent()).toBe("Type a word to search for.");
    await input.fill("pancakes");
    await input.press("Enter");
    const result = ben.getByTestId("search-result");
    await expect.poll(() => result.count(), { timeout: 10_000 }).toBe(1);
    expect(await ben.getByTestId("search-status").textContent()).toBe("1 match");
    expect(await result.locator("mark").textContent()).toBe("Pancakes");
    expect(await result.getByTestId("search-snippet").textContent()).toBe("Pancakes for breakfast on Sunday?");
    expect(await result.textContent()).toContain("Ann");
    await ben.screenshot({ path: outputPath("chat-features-ben-search-phone.png") });

    await result.tap();
    const found = row(ben, "Pancakes for breakfast on Sunday?");
    await expect.poll(() => found.count()).toBe(1);
    await expect.poll(() => found.getAttribute("class")).toContain("highlight");
    expect(await found.isVisible()).toBe(true);
    const box = (await found.boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y + box.height).toBeLessThanOrEqual(PHONE.height);
    // The phone puts search away once a match is picked; older pages stay shown.
    expect(await ben.getByTestId("search").count()).toBe(0);
    expect(await ben.getByTestId("message").count()).toBe(FIRST_PAGE + 5);
    await expect.poll(() => found.getAttribute("class"), { timeout: 5_000 }).not.toContain("highlight");
  });

  it("shows older messages when the reader scrolls to the top, without moving what is in view", async () => {
    // Opened again, its handle already synced, the chat shows one page, not two.
    await ann.getByTestId("conversation-item").filter({ hasText: TITLE }).click();
    await expect.poll(() => ann.getByTestId("message").count()).toBe(FIRST_PAGE);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await ann.getByTestId("message").count()).toBe(FIRST_PAGE);
    const log = ann.getByTestId("message-log");
    // Where "Filler message 1", the oldest shown, is in the log once it is scrolled to its top.
    const before = await log.evaluate((l) => {
      l.scrollTop = 0;
      return l.querySelector("[data-testid=message]")!.getBoundingClientRect().top - l.getBoundingClientRect().top;
    });
    await expect.poll(() => ann.getByTestId("message").count()).toBe(FIRST_PAGE + 5);
    expect(await texts(ann).then((t) => t.slice(0, 2))).toEqual(["Pancakes for breakfast on Sunday?", "message deleted"]);
    const after = await row(ann, "Filler message 1").evaluate(
      (m) => m.getBoundingClientRect().top - m.closest("[data-testid=message-log]")!.getBoundingClientRect().top,
    );
    expect(Math.abs(after - before)).toBeLessThanOrEqual(2);
    expect(await log.evaluate((l) => l.scrollTop)).toBeGreaterThan(0);
    await ann.screenshot({ path: outputPath("chat-features-ann-history-desktop.png") });
  });
});
