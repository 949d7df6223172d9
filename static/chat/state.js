// Shared by the page's modules: the boot data, the elements, the page's state,
// and the small helpers every part uses. It imports none of the others (only
// i18n.js, which imports nothing), so any module can import it without a cycle.
import { gettext } from "./i18n.js";

// Filled in by initState(), not at import: importing a module never touches the page.
export const boot = {};
export const $ = (id) => document.getElementById(id);
export const els = {};
export const state = {
  conversationId: null,
  socket: null,
  retries: 0,
  // A 4401 reconnects once before going to the log-in page (socket.js).
  sessionRetried: false,
  queue: [], // frames waiting for the socket to open
  messages: new Map(), // id -> view
  photos: [], // {key, id, el, uploading}
  streamingId: null,
  lastSync: 0,
  syncTimer: null,
};

export function initState() {
  Object.assign(boot, JSON.parse($("boot").textContent));
  Object.assign(els, {
    messages: $("messages"),
    welcome: $("welcome"),
    composer: $("composer"),
    question: $("question"),
    photoInput: $("photo-input"),
    previews: $("previews"),
    model: $("model"),
    detail: $("detail"),
    send: $("send"),
    stop: $("stop"),
    error: $("composer-error"),
    connection: $("connection"),
    title: $("chat-title"),
    list: $("conversation-list"),
    thinkingRow: $("thinking-row"),
    budgetRow: $("budget-row"),
    systemPrompt: $("system-prompt"),
    estimate: $("estimate"),
  });
  state.conversationId = boot.conversationId;
}

export const codePoints = (s) => Array.from(s).length;

export const currentModel = () => boot.models.find((m) => m.id === els.model.value);

export const shortName = (model) => model.label.split(" —")[0];

export function showError(text) {
  els.error.textContent = text;
  els.error.hidden = false;
}

export function hideError() {
  els.error.hidden = true;
  els.error.textContent = "";
}

export function setBusy(busy) {
  els.stop.hidden = !busy;
  els.send.disabled = busy;
  els.messages.setAttribute("aria-busy", busy ? "true" : "false");
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** A JSON call to our API: {ok: true, data} or {ok: false, status, message},
 *  the message fit to show (the server's own, or a plain one). */
export async function api(method, url, body) {
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, message: gettext("Could not reach the server. Check your connection.") };
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const message = data.error ? data.error.message : gettext("Something went wrong. Try again.");
    return { ok: false, status: res.status, message };
  }
  return { ok: true, data };
}
