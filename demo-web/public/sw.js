/**
 * The demo page's service worker: keeps the app shell (the page, its scripts and styles) so
 * the page opens without a network after a first visit. Hand-written, no dependencies.
 *
 * - Network first for navigations and same-origin GETs of `/` and `/assets/*`: a fresh copy
 *   whenever the server answers (and it replaces the kept one); the kept copy when the
 *   network fails, or answers nothing for NETWORK_TIMEOUT_MS while a kept copy exists.
 * - `/api/*` and `/collab` are never touched: the SDK talks to the server itself and keeps
 *   conversations on the device (IndexedDB); a kept API answer would be a wrong answer.
 * - Installing keeps `/` and the hashed `/assets/*` it names: the first visit loaded them
 *   before this worker ran, so they would otherwise be missing offline.
 */

const CACHE = "wbk-shell-v1";
const SHELL = "/";
/** A network that takes requests but answers nothing: serve the kept copy after this long. */
const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("wbk-shell-") && name !== CACHE) await caches.delete(name);
      }
      // Pages opened before this worker (the first visit) use it from now on.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (path === "/api" || path.startsWith("/api/") || path === "/collab" || path.startsWith("/collab/")) return;
  const navigation = request.mode === "navigate";
  if (!navigation && path !== SHELL && !path.startsWith("/assets/")) return;
  // Every page address serves the one app shell (the server does the same), kept as "/".
  event.respondWith(networkFirst(event, navigation || path === SHELL ? SHELL : request));
});

/** Fetches `/` and the assets it names, and keeps them all, or fails the install (retried on the next visit). */
async function precache() {
  const response = await fetch(SHELL, { cache: "no-cache" });
  if (!response.ok) throw new Error(`${SHELL} answered ${response.status}`);
  const html = await response.clone().text();
  const assets = [...new Set([...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]))];
  const cache = await caches.open(CACHE);
  await cache.addAll(assets);
  await cache.put(SHELL, response);
}

/**
 * The network's answer, kept for later when it is a good one; the kept copy when the network
 * fails or is too slow. `key` is where the answer is kept: "/" for the shell, else the request.
 */
async function networkFirst(event, key) {
  const cache = await caches.open(CACHE);
  const network = fetch(event.request).then((response) => {
    if (isKeepable(response, key)) event.waitUntil(cache.put(key, response.clone()));
    return response;
  });
  // Not lost if it loses the race below: it still refreshes the kept copy.
  event.waitUntil(network.catch(() => undefined));
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("network timeout")), NETWORK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([network, timeout]);
  } catch {
    const kept = await cache.match(key);
    // Nothing kept: wait for the network after all, or fail as the browser would have.
    return kept ?? network;
  } finally {
    clearTimeout(timer);
  }
}

function isKeepable(response, key) {
  if (!response.ok || response.type !== "basic") return false;
  // A navigation to something that is no page (e.g. /healthz) must not replace the shell.
  if (key === SHELL) return (response.headers.get("content-type") ?? "").includes("text/html");
  return true;
}
