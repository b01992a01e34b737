/**
 * The demo page end to end in two real browser contexts: sign up, start a conversation with
 * the other person, chat both ways with delivery ticks. Leaves a screenshot in test-output/.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { outputPath, signUpInPage, useDemoInChromium } from "./helpers/browser.js";


describe("demo page in Chromium", () => {
  const demo = useDemoInChromium();


  const signUp = (page: Page, email: string, displayName: string) => signUpInPage(page, demo.server.url, email, displayName);

  const messageTexts = (page: Page) => page.getByTestId("message-text").allTextContents();

  it("two people sign up and chat both ways", { timeout: 120_000 }, async () => {
    const annPage = await (await demo.browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    const benPage = await (await demo.browser.newContext({ viewport: { width: 1024, height: 768 } })).newPage();
    await signUp(annPage, "ann@example.com", "Ann");
    await signUp(benPage, "ben@example.com", "Ben");
    await expect.poll(() => annPage.getByTestId("connection-state").textContent()).toBe("online");

    // Ann starts a conversation with Ben by email.
    const form = annPage.getByTestId("new-conversation-form");
    await form.locator('input[name="title"]').fill("Playdate on Saturday");
    await form.locator('input[name="members"]').fill("BEN@example.com");
    // Created, it opens by itself.
    await annPage.getByTestId("new-conversation-submit").click();
    await expect.poll(() => annPage.getByTestId("chat-title").textContent()).toBe("Playdate on Saturday");

    await annPage.getByTestId("composer").fill("Hi Ben! Park at 10?");
    await annPage.getByTestId("send").click();
    await expect.poll(() => messageTexts(annPage)).toEqual(["Hi Ben! Park at 10?"]);
    const annTick = annPage.getByTestId("message-delivery").first();
    await expect.poll(() => annTick.getAttribute("data-state"), { timeout: 15_000 }).toBe("stored");

    // Ben's list picks the conversation up; he opens it and answers.
    const benItem = benPage.getByTestId("conversation-item").filter({ hasText: "Playdate on Saturday" });
    await expect.poll(() => benItem.count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => benItem.getByTestId("conversation-preview").textContent()).toContain("Hi Ben! Park at 10?");
    await benItem.click();
    await expect.poll(() => messageTexts(benPage)).toEqual(["Hi Ben! Park at 10?"]);
    expect(await benPage.getByTestId("message-author").first().textContent()).toBe("Ann");
    expect(await benPage.getByTestId("message").first().getAttribute("data-own")).toBe("false");

    await benPage.getByTestId("composer").fill("Yes! See you there 🎈");
    await benPage.getByTestId("composer").press("Enter");
    await expect.poll(() => messageTexts(annPage)).toEqual(["Hi Ben! Park at 10?", "Yes! See you there 🎈"]);
    await expect.poll(() => messageTexts(benPage)).toEqual(["Hi Ben! Park at 10?", "Yes! See you there 🎈"]);
    await expect
      .poll(() => benPage.getByTestId("message-delivery").first().getAttribute("data-state"), { timeout: 15_000 })
      .toBe("stored");
    const authors = await annPage.getByTestId("message-author").allTextContents();
    expect(authors[1]).toBe("Ben");

    // A reload reopens the conversation (#c=<id>) and shows the history again.
    await annPage.reload();
    await expect.poll(() => annPage.getByTestId("chat-title").textContent()).toBe("Playdate on Saturday");
    await expect.poll(() => messageTexts(annPage)).toEqual(["Hi Ben! Park at 10?", "Yes! See you there 🎈"]);

    // A link to a conversation that is not Ben's says so instead of showing nothing.
    await benPage.goto(`${demo.server.url}/#c=not-one-of-bens`);
    await expect
      .poll(() => benPage.getByTestId("open-error").textContent(), { timeout: 15_000 })
      .toBe("That conversation is not one of yours: ask a member to add you.");
    await benItem.click();
    await expect.poll(() => benPage.getByTestId("open-error").count()).toBe(0);
    // On the phone, with a chat open, the notice is in sight too.
    await annPage.evaluate(() => (location.hash = "c=not-one-of-anns"));
    await expect.poll(() => annPage.getByTestId("open-error").isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await annPage.getByTestId("chat-title").textContent()).toBe("Playdate on Saturday");

    await annPage.screenshot({ path: outputPath("browser-chat-ann.png"), fullPage: true });
    await benPage.screenshot({ path: outputPath("browser-chat-ben.png"), fullPage: true });
  });
});
