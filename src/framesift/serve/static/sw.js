// Adds the server's token to the player's requests for /media (a <video> element cannot send
// headers itself). The page stores the token in Cache Storage, where this worker reads it.
"use strict";

const STORE = "framesift";
const TOKEN_KEY = "/__framesift_token";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const guarded = url.pathname.startsWith("/media/") || url.pathname.startsWith("/api/");
  if (url.origin !== self.location.origin || !guarded || event.request.headers.has("Authorization")) return;
  event.respondWith(withToken(event.request));
});

async function withToken(request) {
  const stored = await (await caches.open(STORE)).match(TOKEN_KEY);
  if (!stored) return fetch(request);
  const headers = new Headers(request.headers); // keeps Range, so the player can seek
  headers.set("Authorization", `Bearer ${await stored.text()}`);
  // same-origin mode: a media element's own no-cors request could not carry Authorization
  return fetch(request.url, { method: request.method, headers, mode: "same-origin", credentials: "same-origin" });
}
