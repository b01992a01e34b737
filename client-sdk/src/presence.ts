/**
 * Presence and typing in one conversation, over Hocuspocus awareness: which other members have
 * it open and which of them are typing. The server rewrites every state to its connection's
 * own user (server/src/collab/awareness.ts), so `user` here is the server's word; this device
 * only says whether it is typing. Nothing of it is stored.
 */
import type { HocuspocusProvider } from "@hocuspocus/provider";
import type { UserId } from "@wbk/shared";
import { removeAwarenessStates } from "y-protocols/awareness";
import type * as Y from "yjs";
import type { PresenceState, PresenceUser } from "./types.js";

type Awareness = NonNullable<HocuspocusProvider["awareness"]>;

/** Typing ends after this long without a keystroke, on the typist's side and on the others'. */
export const TYPING_IDLE_MS = 5_000;
/** While typing goes on, the state is sent again this often, so the others' 5 s do not run out. */
const TYPING_REFRESH_MS = 2_000;

export class PresenceTracker {
  private awareness: Awareness | null = null;
  private doc: Y.Doc | null = null;
  private online = false;
  private typing = false;
  private lastAnnounced = 0;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private expiryTimer: ReturnType<typeof setTimeout> | null = null;
  private current: PresenceState = { online: [], typing: [] };
  private lastKey = "";

  constructor(
    private readonly ownUserId: UserId,
    private readonly onChange: (state: PresenceState) => void,
  ) {}

  get state(): PresenceState {
    return this.current;
  }

  /** Follows a provider's awareness (each (re)connection of the conversation has its own). */
  attach(awareness: Awareness, doc: Y.Doc): void {
    this.detach();
    this.awareness = awareness;
    this.doc = doc;
    awareness.on("change", this.recompute);
    doc.on("afterTransactionCleanup", this.followClientId);
    this.recompute();
  }

  detach(): void {
    // Typing ends on the awareness it was said on, before that is let go.
    this.stopTyping();
    this.awareness?.off("change", this.recompute);
    this.doc?.off("afterTransactionCleanup", this.followClientId);
    this.awareness = null;
    this.doc = null;
    this.recompute();
  }

  /**
   * Offline nobody is shown: the others' states would only grow stale (the server sends them
   * again on reconnecting), and this user's typing ends.
   */
  setOnline(online: boolean): void {
    if (online === this.online) return;
    this.online = online;
    const awareness = this.awareness;
    if (!online) {
      this.stopTyping();
      if (awareness) {
        const others = [...awareness.getStates().keys()].filter((clientId) => clientId !== awareness.clientID);
        removeAwarenessStates(awareness, others, "offline");
      }
    }
    this.recompute();
  }

  /**
   * Announces this device's state again: call after each sync. The provider's own announcement
   * goes out with the sync request, before the server has authenticated the document, and is
   * not taken then.
   */
  announce(): void {
    const awareness = this.awareness;
    if (awareness) awareness.setLocalState(awareness.getLocalState() ?? {});
  }

  /**
   * Says this user is typing (call on every keystroke) or stopped. Typing ends by itself after
   * TYPING_IDLE_MS without a call; offline, nothing is announced or queued.
   */
  setTyping(typing: boolean): void {
    if (!typing) {
      this.stopTyping();
      return;
    }
    const awareness = this.awareness;
    if (!awareness || !this.online) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
    const now = Date.now();
    if (this.typing && now - this.lastAnnounced < TYPING_REFRESH_MS) return;
    this.typing = true;
    this.lastAnnounced = now;
    awareness.setLocalStateField("typing", true);
  }

  private stopTyping(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!this.typing) return;
    this.typing = false;
    if (this.awareness?.getLocalState()) this.awareness.setLocalStateField("typing", false);
  }

  /**
   * Yjs gives a document a new client id when it sees its own id in a remote change; awareness
   * keeps the old one, and the provider's next announcement of the document's id would then
   * throw (yjs/y-protocols#19). Moves the local state over to the new id.
   */
  private readonly followClientId = (): void => {
    const awareness = this.awareness;
    const doc = this.doc;
    if (!awareness || !doc || awareness.clientID === doc.clientID) return;
    const state = awareness.getLocalState();
    awareness.setLocalState(null);
    awareness.clientID = doc.clientID;
    // Clock 0 here, so the first state under the new id goes out with clock 1 and is taken.
    awareness.meta.set(doc.clientID, { clock: 0, lastUpdated: Date.now() });
    awareness.setLocalState(state);
  };

  private readonly recompute = (): void => {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    const online = new Map<string, PresenceUser>();
    const typing = new Map<string, PresenceUser>();
    const awareness = this.online ? this.awareness : null;
    const now = Date.now();
    let nextExpiry = Infinity;
    for (const [clientId, state] of awareness?.getStates() ?? []) {
      if (clientId === awareness?.clientID) continue;
      const user = presenceUser(state);
      if (!user || user.id === this.ownUserId) continue;
      online.set(user.id, user);
      if (state.typing !== true) continue;
      // A typist who went silent without a word (a frozen app) stops counting once the idle
      // time has passed since the last refresh could have come.
      const expiresAt = (awareness?.meta.get(clientId)?.lastUpdated ?? 0) + TYPING_IDLE_MS + TYPING_REFRESH_MS;
      if (expiresAt <= now) continue;
      typing.set(user.id, user);
      nextExpiry = Math.min(nextExpiry, expiresAt);
    }
    if (nextExpiry !== Infinity) this.expiryTimer = setTimeout(this.recompute, nextExpiry - now + 10);
    const byName = (a: PresenceUser, b: PresenceUser) => a.displayName.localeCompare(b.displayName) || a.id.localeCompare(b.id);
    const next = { online: [...online.values()].sort(byName), typing: [...typing.values()].sort(byName) };
    const key = JSON.stringify(next);
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.current = next;
    this.onChange(next);
  };
}

/** The server-written user of a presence state, or null for a state it has not vouched for. */
function presenceUser(state: Record<string, unknown>): PresenceUser | null {
  const user = state.user as Partial<PresenceUser> | undefined;
  if (!user || typeof user.id !== "string" || typeof user.displayName !== "string") return null;
  return { id: user.id as UserId, displayName: user.displayName };
}
