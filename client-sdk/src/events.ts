import type { Listener, SyncStatus } from "./types.js";

/** A minimal typed event emitter; `on` returns the function that unsubscribes. */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      (listener as Listener<Events[K]>)(payload);
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}

/** An emitter with a sync status that emits `status` only when it really changed. */
export abstract class StatusEmitter<Events extends { status: SyncStatus }> extends Emitter<Events> {
  private lastStatus = "";

  abstract get status(): SyncStatus;

  protected emitStatus(): void {
    const status = this.status;
    const key = `${status.state}/${status.pendingCount}/${status.lastSyncedAt}/${status.localSaving}`;
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    this.emit("status", status as Events["status"]);
  }
}
