// VisionQA's service worker (served at /sw.js by chat/web/pwa.py, which
// fills in CONFIG). It keeps two things, both public and the same for
// everyone: the app shell's static files and the offline page. It never keeps
// a page of anyone's, an answer of the API, a photo, a thumbnail or anything
// else: those go to the network as if it weren't here.
const CONFIG = {{ config|safe }};
const PREFIX = "visionqa-";
const CACHE = PREFIX + CONFIG.version;
const SHELL = new Set(CONFIG.shell);

// Fetched without cookies: what is kept can't depend on who was logged in (nor on
// their language: the offline page holds every one, static/chat/offline.js).
const publicRequest = (url) => new Request(url, { credentials: "omit", cache: "no-cache" });

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll([...CONFIG.shell, CONFIG.offline].map(publicRequest)))
      // A new version takes over at once: its shell matches the pages served now.
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith(PREFIX) && key !== CACHE).map((key) => caches.delete(key)),
      ))
      .then(() => self.clients.claim()),
  );
});

async function offlinePage() {
  const cache = await caches.open(CACHE);
  return (await cache.match(CONFIG.offline)) || Response.error();
}

// A content-hashed URL never changes: the kept copy is the file.
async function keptFirst(request) {
  const cache = await caches.open(CACHE);
  return (await cache.match(request, { ignoreVary: true })) || fetch(request);
}

// A plain URL may have changed: the network first, the kept copy offline.
async function networkFirst(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const cache = await caches.open(CACHE);
    const kept = await cache.match(request, { ignoreVary: true });
    if (kept) return kept;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // Shares (POST), forms and API writes, and other sites: not ours to answer.
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Pages always come from the network, and are never kept; only when it
    // can't be reached does the offline page stand in.
    event.respondWith(fetch(request).catch(offlinePage));
    return;
  }
  if (SHELL.has(url.pathname) && !url.search) {
    event.respondWith(CONFIG.hashed ? keptFirst(request) : networkFirst(request));
  }
  // Anything else (the API, photos, thumbnails, downloads): the browser's own way.
});
