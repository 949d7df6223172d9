// Messages on the page: questions, and replies streaming in by offset.
// Model output is untrusted: it only ever reaches the page through textContent.
import { askQuestion, clearComposer } from "./app.js";
import { send } from "./socket.js";
import { boot, codePoints, els, setBusy, showError, state } from "./state.js";

export function handle(frame) {
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

