// The conversation's websocket: connect, reconnect with backoff, send.
import { formatNumber, gettext, interpolate } from "./i18n.js";
import { els, setBusy, showError, state } from "./state.js";

// Given by the entry point: what reads the frames imports send() from here,
// so importing it back would make a cycle.
let onFrame = null;

export function initSocket(handleFrame) {
  onFrame = handleFrame;
}

function setConnection(kind, label) {
  els.connection.dataset.state = kind;
  els.connection.querySelector(".label").textContent = label;
}

export function connect() {
  if (!state.conversationId) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/conversations/${state.conversationId}/`);
  state.socket = socket;
  setConnection("connecting", gettext("Connecting…"));
  socket.addEventListener("open", () => {
    state.retries = 0;
    // Translators: the page's live link to the server is up.
    setConnection("live", gettext("Connected"));
    for (const frame of state.queue.splice(0)) socket.send(JSON.stringify(frame));
  });
  socket.addEventListener("message", (e) => {
    state.sessionRetried = false; // the server let this socket in
    onFrame(JSON.parse(e.data));
  });
  socket.addEventListener("close", (e) => {
    if (state.socket !== socket) return;
    // An ask in flight is lost with the socket; its text is still in the box.
    setBusy(Boolean(state.streamingId));
    if (e.code === 4401) {
      // The socket's session ended. A password change in another tab of this
      // browser ends it too, but logs this browser in again with a new cookie,
      // which arrives a moment after the sockets are told: one new socket, a
      // second later, carries that cookie, and is refused at once if not.
      if (!state.sessionRetried) {
        state.sessionRetried = true;
        setConnection("connecting", gettext("Reconnecting…"));
        setTimeout(connect, 1000);
        return;
      }
      location.href = `/accounts/login/?next=${encodeURIComponent(location.pathname)}`;
      return;
    }
    if (e.code === 4403) {
      setConnection("down", gettext("No access"));
      showError(gettext("You don't have access to this conversation."));
      return;
    }
    if (e.code === 4012) {
      // The server is restarting: another process takes over at once. A
      // little jitter so every page of a busy process does not land together.
      setConnection("connecting", gettext("Reconnecting…"));
      setTimeout(connect, 100 + Math.random() * 400);
      return;
    }
    const delay = Math.min(30000, 500 * 2 ** state.retries++);
    // Translators: "s" is short for seconds.
    setConnection("down", interpolate(gettext("Reconnecting in %(seconds)s s…"), { seconds: formatNumber(Math.round(delay / 1000)) }));
    setTimeout(connect, delay);
  });
}

export function send(frame) {
  const socket = state.socket;
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  else state.queue.push(frame);
}

