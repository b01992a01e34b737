/**
 * The demo page: restores the session, then shows either the sign-up/sign-in card or the
 * signed-in shell. Everything goes through the SDK's public entry point.
 */
import { createChatClient } from "@wbk/client-sdk";
import { clientOptionsFromAddress } from "./client-options.js";
import { errorMessage, type View } from "./dom.js";
import { rememberConversation } from "./location.js";
import { forgetConversations } from "./saved-conversations.js";
import "./style.css";
import { authView, type AuthMode } from "./views/auth.js";
import { shellView } from "./views/shell.js";

/** Why the server ended a session, in words. */
const SESSION_ENDED = {
  session_expired: "Your session expired. Please sign in again.",
  session_revoked: "You were signed out (your session was revoked). Please sign in again.",
  unauthenticated: "Please sign in again.",
} as const;

// The app shell (this page, its scripts and styles) is kept by public/sw.js, so the page opens
// without a network after a first visit. Service workers exist only in secure contexts
// (https, localhost); elsewhere (http from a phone on the LAN) the page needs the network to open.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`).catch((err: unknown) => {
    console.warn("The page will not open offline:", err);
  });
}

const client = createChatClient(clientOptionsFromAddress(location.search));
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

/** Rejects only when the server refused the sign-out; the shell then shows why. */
async function signOut(): Promise<void> {
  // logout() closes and deletes this user's conversations on the device (and copes with
  // being offline); disposing the shell afterwards only drops the page's listeners.
  const userId = client.user?.id;
  await client.logout();
  if (userId) forgetConversations(userId);
  // The next person here most likely has an account: sign-in first. The open conversation
  // was this user's; an expired session, by contrast, keeps it to reopen after signing in.
  rememberConversation(null);
  showAuth("login");
}

client.on("auth-required", ({ reason }) => {
  // `??`: the reason is the socket's close reason, passed on by the SDK unchecked.
  if (signedIn) showAuth("login", SESSION_ENDED[reason] ?? SESSION_ENDED.unauthenticated);
});

try {
  const user = await client.me();
  if (user) showShell();
  else showAuth("signup");
} catch (err) {
  showAuth("signup", `Could not restore your session: ${errorMessage(err)}`);
}
