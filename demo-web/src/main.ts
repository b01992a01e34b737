/**
 * The demo page: restores the session, then shows either the sign-up/sign-in card or the
 * signed-in shell. Everything goes through the SDK's public entry point.
 */
import { createChatClient } from "@wbk/client-sdk";
import { errorMessage, type View } from "./dom.js";
import "./style.css";
import { authView, type AuthMode } from "./views/auth.js";
import { shellView } from "./views/shell.js";

/** Why the server ended a session, in words. */
const SESSION_ENDED = {
  session_expired: "Your session expired. Please sign in again.",
  session_revoked: "You were signed out (your session was revoked). Please sign in again.",
  unauthenticated: "Please sign in again.",
} as const;

const client = createChatClient();
const root = document.querySelector<HTMLElement>("#app")!;
let screen: View | null = null;
let signedIn = false;

function show(next: View): void {
  screen?.dispose();
  screen = next;
  root.replaceChildren(next.element);
}

function showAuth(mode: AuthMode, notice?: string): void {
  signedIn = false;
  show(authView(client, { mode, notice, onSignedIn: showShell }));
}

function showShell(): void {
  signedIn = true;
  show(shellView(client, { onSignOut: signOut }));
}

async function signOut(): Promise<void> {
  // Release this user's conversation handles before the session goes.
  screen?.dispose();
  screen = null;
  try {
    await client.logout();
    showAuth("signup");
  } catch (err) {
    showAuth("signup", `Sign-out did not reach the server: ${errorMessage(err)}`);
  }
}

client.on("auth-required", ({ reason }) => {
  if (signedIn) showAuth("login", SESSION_ENDED[reason]);
});

try {
  const user = await client.me();
  if (user) showShell();
  else showAuth("signup");
} catch (err) {
  showAuth("signup", `Could not restore your session: ${errorMessage(err)}`);
}
