/** Sign-up and sign-in, one card that switches between the two forms. */
import type { ChatClient, User } from "@wbk/client-sdk";
import { el, errorMessage, showError, type View } from "../dom.js";

export type AuthMode = "signup" | "login";

export interface AuthOptions {
  mode: AuthMode;
  /** Shown in the error line from the start, e.g. why the session ended. */
  notice?: string;
  onSignedIn(user: User): void;
}

export function authView(client: ChatClient, options: AuthOptions): View {
  const card = el("section", { class: "auth-card" });
  const element = el("main", { class: "auth" }, card);

  function render(mode: AuthMode, notice: string | null): void {
    const form = mode === "signup" ? signupForm() : loginForm();
    const heading = mode === "signup" ? "Create your account" : "Sign in";
    const other: AuthMode = mode === "signup" ? "login" : "signup";
    const switcher = el(
      "button",
      { type: "button", class: "link", "data-testid": other === "login" ? "show-login" : "show-signup" },
      other === "login" ? "I already have an account" : "Create an account",
    );
    switcher.addEventListener("click", () => render(other, null));

    card.replaceChildren(el("h1", { class: "brand" }, "wbk-chat"), el("h2", {}, heading), form, switcher);
    showError(form, "auth-error", notice);
    form.querySelector("input")?.focus();

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const submit = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
      const value = (name: string) => String(new FormData(form).get(name) ?? "");
      submit.disabled = true;
      showError(form, "auth-error", null);
      try {
        const user =
          mode === "signup"
            ? await client.register({
                email: value("email"),
                displayName: value("displayName"),
                password: value("password"),
              })
            : await client.login({ email: value("email"), password: value("password") });
        options.onSignedIn(user);
      } catch (err) {
        showError(form, "auth-error", errorMessage(err));
        submit.disabled = false;
      }
    });
  }

  render(options.mode, options.notice ?? null);
  // Nothing to release: the forms' listeners go with their elements.
  return { element, dispose() {} };
}

// `novalidate`: the server checks every field and its message is the one shown, so the
// page says the same as every other client; the input types still pick phone keyboards.

function signupForm(): HTMLFormElement {
  return el(
    "form",
    { class: "stack", "data-testid": "signup-form", novalidate: true },
    field("Email", el("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    field(
      "Display name",
      el("input", { name: "displayName", autocomplete: "nickname", maxlength: "100", required: true }),
    ),
    field(
      "Password (at least 8 characters)",
      el("input", { name: "password", type: "password", autocomplete: "new-password", required: true }),
    ),
    el("button", { type: "submit", class: "primary", "data-testid": "signup-submit" }, "Sign up"),
  );
}

function loginForm(): HTMLFormElement {
  return el(
    "form",
    { class: "stack", "data-testid": "login-form", novalidate: true },
    field("Email", el("input", { name: "email", type: "email", autocomplete: "username", required: true })),
    field(
      "Password",
      el("input", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ),
    el("button", { type: "submit", class: "primary", "data-testid": "login-submit" }, "Sign in"),
  );
}

function field(label: string, input: HTMLInputElement): HTMLLabelElement {
  return el("label", { class: "field" }, el("span", {}, label), input);
}
