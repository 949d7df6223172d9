// The installed app: registers the service worker (/sw.js, served at the
// root so that it covers the whole site). Loaded by every page (base.html) as
// an entry point of its own; imports nothing. Where service workers don't
// exist, or registering fails (a private window, an insecure origin), the
// site simply works without one, so nothing is said.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}

// This page's language (the server's choice: the account's, the picker's
// cookie, the browser's), noted for the offline page, which the worker keeps
// without cookies and so in every language: static/chat/offline.js shows this one.
try {
  localStorage.setItem("visionqa.language", document.documentElement.lang);
} catch {
  // Storage refused (a private window, a setting): the offline page follows the browser's languages.
}
