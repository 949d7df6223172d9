// VisionQA conversation page: upload photos, ask over the websocket, show the
// reasoning and answer as they stream. Model output is untrusted: it only ever
// reaches the page through textContent.
"use strict";

const boot = JSON.parse(document.getElementById("boot").textContent);
const $ = (id) => document.getElementById(id);

const els = {
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
};

const NUMBER_OPTIONS = [
  "temperature", "max_tokens", "top_p", "seed", "presence_penalty", "frequency_penalty",
  "thinking_budget",
];

const state = {
  conversationId: boot.conversationId,
  socket: null,
  retries: 0,
  queue: [], // frames waiting for the socket to open
  messages: new Map(), // id -> view
  photos: [], // {key, id, el, uploading}
  streamingId: null,
  lastSync: 0,
  syncTimer: null,
};

const codePoints = (s) => Array.from(s).length;

// ---- pickers -----------------------------------------------------------------

function fillModels() {
  const saved = localStorage.getItem("vqa.model");
  let firstAvailable = null;
  for (const m of boot.models) {
    const opt = document.createElement("option");
    opt.value = m.id;
    opt.textContent = m.available ? m.label : `${m.label} (needs an API key)`;
    opt.disabled = !m.available;
    els.model.append(opt);
    if (m.available && !firstAvailable && m.vision) firstAvailable = m.id;
  }
  const savedOk = boot.models.some((m) => m.id === saved && m.available);
  els.model.value = savedOk ? saved : firstAvailable;
  const detail = localStorage.getItem("vqa.detail");
  if (detail) els.detail.value = detail;
}

const currentModel = () => boot.models.find((m) => m.id === els.model.value);

els.model.addEventListener("change", () => {
  localStorage.setItem("vqa.model", els.model.value);
  showKnobs();
  checkVision();
  updateEstimate();
});

function showKnobs() {
  const knobs = (currentModel() || { knobs: [] }).knobs;
  els.thinkingRow.hidden = !knobs.includes("enable_thinking");
  els.budgetRow.hidden = !knobs.includes("thinking_budget");
}

function collectOptions() {
  const options = {};
  for (const name of NUMBER_OPTIONS) {
    const input = $(`opt-${name}`);
    if (input.closest("[hidden]") || input.value.trim() === "") continue;
    options[name] = Number(input.value);
  }
  if (!els.thinkingRow.hidden) options.enable_thinking = $("opt-enable_thinking").checked;
  const stops = $("opt-stop").value.split("\n").map((s) => s.trim()).filter(Boolean);
  if (stops.length) options.stop = stops;
  return options;
}

els.systemPrompt.addEventListener("change", () => {
  if (!state.conversationId) return; // sent when the conversation is created
  fetch(`/api/conversations/${state.conversationId}/`, {
    method: "PATCH",
    headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
    body: JSON.stringify({ system_prompt: els.systemPrompt.value }),
  }).then(async (res) => {
    if (!res.ok) {
      const data = await res.json().catch(() => ({}));
      showError(data.error ? data.error.message : "Could not save the instructions.");
    }
  }, () => showError("Could not save the instructions. Check your connection."));
});
els.detail.addEventListener("change", () => {
  localStorage.setItem("vqa.detail", els.detail.value);
  updateEstimate();
});

const shortName = (model) => model.label.split(" —")[0];

function checkVision() {
  const model = currentModel();
  if (model && !model.vision && state.photos.length) {
    showError(`${shortName(model)} can't see photos. Remove the photos, or:`);
    const seeing = boot.models.find((m) => m.vision && m.available);
    if (seeing) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `Use ${shortName(seeing)}`;
      button.addEventListener("click", () => {
        els.model.value = seeing.id;
        els.model.dispatchEvent(new Event("change"));
      });
      els.error.append(button);
    }
    return false;
  }
  hideError();
  return true;
}

// ---- composer ----------------------------------------------------------------

function showError(text) {
  els.error.textContent = text;
  els.error.hidden = false;
}

function hideError() {
  els.error.hidden = true;
  els.error.textContent = "";
}

function setBusy(busy) {
  els.stop.hidden = !busy;
  els.send.disabled = busy;
  els.messages.setAttribute("aria-busy", busy ? "true" : "false");
}

els.photoInput.addEventListener("change", () => {
  addFiles(els.photoInput.files);
  els.photoInput.value = "";
});

function addPhoto(file) {
  if (state.photos.length >= boot.maxImages) {
    showError(`At most ${boot.maxImages} photos per question.`);
    return;
  }
  const item = { key: crypto.randomUUID(), id: null, uploading: true };
  const li = document.createElement("li");
  li.className = "preview uploading";
  const img = document.createElement("img");
  img.alt = file.name;
  img.src = URL.createObjectURL(file);
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "remove";
  remove.setAttribute("aria-label", `Remove ${file.name}`);
  remove.textContent = "×";
  remove.addEventListener("click", () => {
    state.photos = state.photos.filter((p) => p !== item);
    li.remove();
    checkVision();
    updateEstimate();
  });
  li.append(img, remove);
  item.el = li;
  state.photos.push(item);
  els.previews.append(li);
  checkVision();

  const progress = document.createElement("progress");
  progress.max = 100;
  progress.value = 0;
  progress.setAttribute("aria-label", `Uploading ${file.name}`);
  li.append(progress);

  const body = new FormData();
  body.append("file", file);
  const xhr = new XMLHttpRequest(); // fetch cannot report upload progress
  xhr.open("POST", "/api/images/");
  xhr.setRequestHeader("X-CSRFToken", csrfToken());
  xhr.responseType = "json";
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
  });
  const rejected = (message) => {
    state.photos = state.photos.filter((p) => p !== item);
    li.classList.remove("uploading");
    li.classList.add("rejected");
    li.title = message;
    showError(`${file.name}: ${message}`);
    updateEstimate();
    setTimeout(() => li.remove(), 4000);
  };
  xhr.addEventListener("load", () => {
    const data = xhr.response || {};
    if (xhr.status !== 201) {
      rejected(data.error ? data.error.message : "Upload failed. Try again.");
      return;
    }
    item.id = data.id;
    item.tokens = data.visual_tokens;
    // The server's thumbnail: upright, and shown even for HEIC, which browsers can't.
    URL.revokeObjectURL(img.src);
    img.src = data.thumbnail_url;
    item.uploading = false;
    progress.remove();
    li.classList.remove("uploading");
    li.dataset.imageId = data.id;
    updateEstimate();
  });
  xhr.addEventListener("error", () => rejected("Upload failed. Check your connection."));
  xhr.send(body);
}

function updateEstimate() {
  const detail = els.detail.value;
  const ready = state.photos.filter((p) => p.tokens);
  if (!ready.length) {
    els.estimate.hidden = true;
    return;
  }
  const tokens = ready.reduce((sum, p) => sum + p.tokens[detail], 0);
  const model = currentModel();
  let text = `Photos: about ${tokens.toLocaleString()} tokens`;
  if (model && model.price_input_per_m != null) {
    const cost = (tokens * model.price_input_per_m) / 1e6;
    text += cost === 0 ? " · free" : ` · about $${cost.toFixed(cost < 0.01 ? 4 : 2)}`;
  } else {
    text += " · price not known for this model";
  }
  els.estimate.textContent = text;
  els.estimate.hidden = false;
}

function addFiles(files) {
  for (const file of files) {
    if (file.type && !file.type.startsWith("image/") && !/\.(heic|heif|avif)$/i.test(file.name)) {
      showError(`${file.name}: this file isn't a photo we can read.`);
      continue;
    }
    addPhoto(file);
  }
}

// Drop photos anywhere on the conversation; paste them from the clipboard.
const dropZone = document.querySelector(".chat");
dropZone.addEventListener("dragover", (e) => {
  if (![...e.dataTransfer.types].includes("Files")) return;
  e.preventDefault();
  dropZone.classList.add("dropping");
});
dropZone.addEventListener("dragleave", (e) => {
  if (!dropZone.contains(e.relatedTarget)) dropZone.classList.remove("dropping");
});
dropZone.addEventListener("drop", (e) => {
  e.preventDefault();
  dropZone.classList.remove("dropping");
  addFiles(e.dataTransfer.files);
});
document.addEventListener("paste", (e) => {
  const files = [...(e.clipboardData ? e.clipboardData.files : [])];
  if (!files.length) return;
  e.preventDefault();
  addFiles(files);
});
$("camera-input").addEventListener("change", (e) => {
  addFiles(e.target.files);
  e.target.value = "";
});

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

els.question.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    els.composer.requestSubmit();
  } else if (e.key === "Escape" && state.streamingId) {
    stopReply();
  }
});

els.composer.addEventListener("submit", async (e) => {
  e.preventDefault();
  hideError();
  if (state.photos.some((p) => p.uploading)) {
    showError("Wait a moment: a photo is still uploading.");
    return;
  }
  const text = els.question.value.trim();
  const images = state.photos.map((p) => p.id);
  if (!text && !images.length) {
    showError("Type a question or add a photo.");
    return;
  }
  if (!checkVision()) return;
  if (!state.conversationId) {
    const created = await createConversation();
    if (!created) return;
  }
  askQuestion(text, images);
});

function askQuestion(text, images) {
  setBusy(true);
  send({
    type: "ask",
    text,
    images,
    model: els.model.value,
    detail: els.detail.value,
    options: collectOptions(),
  });
}

async function createConversation() {
  const res = await fetch("/api/conversations/", {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
    body: JSON.stringify({ system_prompt: els.systemPrompt.value }),
  }).catch(() => null);
  const data = res ? await res.json().catch(() => ({})) : {};
  if (!res || !res.ok) {
    showError(data.error ? data.error.message : "Could not start a conversation. Check your connection.");
    return false;
  }
  state.conversationId = data.id;
  history.replaceState(null, "", data.url);
  connect();
  return true;
}

function clearComposer() {
  els.question.value = "";
  state.photos = [];
  els.previews.replaceChildren();
  updateEstimate();
}

function stopReply() {
  send({ type: "stop" });
}
els.stop.addEventListener("click", stopReply);

// ---- socket ------------------------------------------------------------------

function setConnection(kind, label) {
  els.connection.dataset.state = kind;
  els.connection.querySelector(".label").textContent = label;
}

function connect() {
  if (!state.conversationId) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/conversations/${state.conversationId}/`);
  state.socket = socket;
  setConnection("connecting", "Connecting…");
  socket.addEventListener("open", () => {
    state.retries = 0;
    setConnection("live", "Connected");
    for (const frame of state.queue.splice(0)) socket.send(JSON.stringify(frame));
  });
  socket.addEventListener("message", (e) => handle(JSON.parse(e.data)));
  socket.addEventListener("close", (e) => {
    if (state.socket !== socket) return;
    // An ask in flight is lost with the socket; its text is still in the box.
    setBusy(Boolean(state.streamingId));
    if (e.code === 4401) {
      location.href = `/accounts/login/?next=${encodeURIComponent(location.pathname)}`;
      return;
    }
    if (e.code === 4403) {
      setConnection("down", "No access");
      showError("You don't have access to this conversation.");
      return;
    }
    const delay = Math.min(30000, 500 * 2 ** state.retries++);
    setConnection("down", `Reconnecting in ${Math.round(delay / 1000)} s…`);
    setTimeout(connect, delay);
  });
}

function send(frame) {
  const socket = state.socket;
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  else state.queue.push(frame);
}

function handle(frame) {
  switch (frame.type) {
    case "message":
      upsertMessage(frame.message);
      break;
    case "reasoning.delta":
    case "answer.delta":
      applyDelta(frame);
      break;
    case "reply.done":
      finishReply(frame);
      break;
    case "error":
      setBusy(Boolean(state.streamingId));
      showError(frame.message);
      break;
  }
}

// ---- messages ----------------------------------------------------------------

function upsertMessage(m) {
  els.welcome.hidden = true;
  let view = state.messages.get(m.id);
  if (!view) {
    view = m.role === "user" ? userView(m) : replyView(m);
    state.messages.set(m.id, view);
    // Retry and Continue belong to the latest reply only.
    for (const old of els.messages.querySelectorAll(".reply-actions")) old.remove();
    els.messages.append(view.el);
    if (m.role === "user") onOwnQuestionSaved(m);
  }
  if (m.role === "assistant") {
    // Retried (final → streaming again) or reclassified text: take the reply whole.
    const restarted = m.status === "streaming" && view.el.dataset.status && view.el.dataset.status !== "streaming";
    // Frames from the generation itself (they carry rev) are exact: take them
    // whole. A saved copy (no rev) may be a second behind: only if not shorter.
    const whole = restarted || m.rev !== undefined || m.status !== "streaming";
    if (restarted) resetReply(view);
    for (const kind of ["reasoning", "answer"]) {
      const text = kind === "answer" ? m.text : m.reasoning;
      if (whole || codePoints(text) >= view.count[kind]) setText(view, kind, text);
    }
    setStatus(view, m);
  }
  scrollDown();
}

function onOwnQuestionSaved(m) {
  // The server has the question now: it is safe to clear the composer.
  if (els.send.disabled && (m.text === els.question.value.trim() || !m.text)) clearComposer();
  const link = els.list.querySelector(`a[data-id="${state.conversationId}"]`);
  if (!link) refreshList();
}

function userView(m) {
  const el = document.createElement("article");
  el.className = "message user";
  el.dataset.id = m.id;
  if (m.images.length) {
    const row = document.createElement("div");
    row.className = "photos";
    for (const image of m.images) {
      const img = document.createElement("img");
      img.src = image.thumbnail_url;
      img.alt = "Your photo";
      img.loading = "lazy";
      img.width = 160;
      row.append(img);
    }
    el.append(row);
  }
  if (m.text) {
    const p = document.createElement("p");
    p.className = "bubble";
    p.textContent = m.text;
    el.append(p);
  }
  return { el, role: "user" };
}

function replyView(m) {
  const el = document.createElement("article");
  el.className = "message assistant";
  el.dataset.id = m.id;
  el.dataset.model = m.model;
  const thinking = document.createElement("details");
  thinking.className = "thinking";
  thinking.hidden = true;
  const summary = document.createElement("summary");
  summary.textContent = "Thinking…";
  const reasoning = document.createElement("div");
  reasoning.className = "reasoning";
  thinking.append(summary, reasoning);
  const answer = document.createElement("div");
  answer.className = "answer";
  const meta = document.createElement("p");
  meta.className = "meta";
  el.append(thinking, answer, meta);
  return {
    el, role: "assistant", thinking, summary, reasoning, answer, meta,
    count: { reasoning: 0, answer: 0 },
    started: null,
    thoughtFor: null,
  };
}

function resetReply(view) {
  view.started = null;
  view.thoughtFor = null;
  view.thinking.hidden = true;
  view.summary.textContent = "Thinking…";
  view.el.querySelector(".reply-error")?.remove();
  view.el.querySelector(".reply-actions")?.remove();
  view.el.querySelector(".notice")?.remove();
}

function setText(view, kind, text) {
  const target = kind === "answer" ? view.answer : view.reasoning;
  target.textContent = text;
  view.count[kind] = codePoints(text);
  if (kind === "reasoning") view.thinking.hidden = !text;
}

function applyDelta(frame) {
  const view = state.messages.get(frame.message_id);
  const kind = frame.type === "answer.delta" ? "answer" : "reasoning";
  if (!view) {
    requestSync();
    return;
  }
  const have = view.count[kind];
  const pieces = Array.from(frame.text);
  if (frame.offset > have) {
    requestSync(); // a hole: ask for the whole reply rather than show a gap
    return;
  }
  const fresh = pieces.slice(have - frame.offset);
  if (!fresh.length) return;
  const target = kind === "answer" ? view.answer : view.reasoning;
  target.append(document.createTextNode(fresh.join("")));
  view.count[kind] += fresh.length;
  if (kind === "reasoning") {
    if (view.started === null) view.started = Date.now();
    if (view.thinking.hidden) {
      view.thinking.hidden = false;
      view.thinking.open = true;
    }
  } else if (view.started !== null && view.thoughtFor === null) {
    view.thoughtFor = Math.max(1, Math.round((Date.now() - view.started) / 1000));
    view.summary.textContent = `Thought for ${view.thoughtFor} s`;
    view.thinking.open = false;
  }
  scrollDown();
}

function requestSync() {
  // At most one sync a second, but never drop one: a late gap still gets filled.
  if (state.syncTimer) return;
  const wait = Math.max(0, state.lastSync + 1000 - Date.now());
  state.syncTimer = setTimeout(() => {
    state.syncTimer = null;
    state.lastSync = Date.now();
    send({ type: "sync" });
  }, wait);
}

const STATUS_TEXT = {
  stopped: "Stopped — the answer so far is kept.",
  interrupted: "Interrupted — the server restarted while answering.",
};

function setStatus(view, m) {
  view.el.dataset.status = m.status;
  if (m.status === "streaming") {
    state.streamingId = m.id;
    setBusy(true);
    if (!view.answer.textContent && !view.reasoning.textContent) view.answer.dataset.placeholder = "…";
    return;
  }
  delete view.answer.dataset.placeholder;
  if (state.streamingId === m.id) {
    state.streamingId = null;
    setBusy(false);
  }
  if (view.thinking.open && view.answer.textContent) view.thinking.open = false;
  if (view.thoughtFor === null && !view.thinking.hidden) view.summary.textContent = "Show thinking";
  const bits = [];
  const model = boot.models.find((x) => x.id === m.model);
  if (model) bits.push(model.label.split(" —")[0]);
  if (m.usage) bits.push(`${m.usage.prompt_tokens + m.usage.completion_tokens} tokens`);
  if (m.finish_reason === "length") bits.push("Cut short: the answer hit its length limit.");
  if (STATUS_TEXT[m.status]) bits.push(STATUS_TEXT[m.status]);
  view.meta.textContent = bits.join(" · ");
  view.el.querySelector(".reply-error")?.remove();
  view.el.querySelector(".notice")?.remove();
  if (m.notice) {
    const p = document.createElement("p");
    p.className = "notice";
    p.textContent = m.notice;
    view.el.append(p);
  }
  if (m.status === "failed" && m.error) {
    const p = document.createElement("p");
    p.className = "reply-error";
    p.setAttribute("role", "alert");
    p.textContent = m.error.message;
    view.el.append(p);
  }
  showActions(view, m);
}

function isLatest(view) {
  return els.messages.lastElementChild === view.el;
}

function showActions(view, m) {
  view.el.querySelector(".reply-actions")?.remove();
  if (!isLatest(view)) return;
  const actions = document.createElement("div");
  actions.className = "reply-actions";
  const canRetry =
    ["stopped", "interrupted"].includes(m.status) || (m.status === "failed" && m.error && m.error.retryable !== false);
  if (canRetry) {
    actions.append(actionButton("Try again", () => {
      setBusy(true);
      send({ type: "retry", message_id: m.id });
    }));
  }
  if (m.status === "completed" && m.finish_reason === "length") {
    actions.append(actionButton("Continue", () => askQuestion("Please continue where you left off.", [])));
  }
  if (actions.children.length) view.el.append(actions);
}

function actionButton(label, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.addEventListener("click", onClick);
  return button;
}

function finishReply(frame) {
  const view = state.messages.get(frame.message_id);
  if (!view) return;
  const lengths = frame.lengths;
  if (lengths && (lengths.answer !== view.count.answer || lengths.reasoning !== view.count.reasoning)) {
    requestSync(); // joined late or missed a delta: fetch the saved reply
  }
  setStatus(view, {
    id: frame.message_id,
    status: frame.status,
    finish_reason: frame.finish_reason,
    usage: frame.usage,
    error: frame.error,
    notice: frame.notice,
    model: view.el.dataset.model,
  });
}

function scrollDown() {
  const nearBottom = els.messages.scrollHeight - els.messages.scrollTop - els.messages.clientHeight < 200;
  if (nearBottom) els.messages.scrollTop = els.messages.scrollHeight;
}

async function refreshList() {
  const res = await fetch("/api/conversations/").catch(() => null);
  if (!res || !res.ok) return;
  const data = await res.json();
  els.list.replaceChildren(
    ...data.conversations.map((c) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = c.url;
      a.dataset.id = c.id;
      a.textContent = c.title;
      if (c.id === state.conversationId) {
        a.setAttribute("aria-current", "page");
        els.title.textContent = c.title;
        document.title = `${c.title} · VisionQA`;
      }
      li.append(a);
      return li;
    }),
  );
}

fillModels();
showKnobs();
connect();
