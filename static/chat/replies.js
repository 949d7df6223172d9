// Messages on the page: questions, and replies streaming in by offset.
// Answers are Markdown, rendered through markdown.js (sanitized); reasoning and
// questions only ever reach the page as text.
import { questionActions, replyActions } from "./actions.js";
import { announce } from "./announce.js";
import { renderAnswer } from "./answer.js";
import { clearComposer } from "./composer.js";
import { findIt } from "./find.js";
import { findGrounding } from "./grounding.js";
import { formatNumber, gettext, interpolate, ngettext } from "./i18n.js";
import { drawOnSaved, fullUrl } from "./photos.js";
import { photoRow } from "./photorow.js";
import { refreshList } from "./sidebar.js";
import { send } from "./socket.js";
import { boot, codePoints, els, setBusy, shortName, showError, state } from "./state.js";

const RENDER_EVERY_MS = 50; // re-render a streaming answer at most 20 times a second

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
    // Regenerate, Try again and Continue belong to the latest reply only.
    for (const old of els.messages.querySelectorAll(".reply-actions .latest-only")) old.remove();
    els.messages.append(view.el);
    // Our own question, just sent (not history replayed on connect, not another member's).
    const ours = m.role === "user" && m.author && m.author.id === boot.userId;
    if (ours && els.send.disabled) onOwnQuestionSaved(m);
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
    setSuperseded(view, m);
    setStatus(view, m);
  }
  scrollDown();
}

function onOwnQuestionSaved(m) {
  // The server has the question now: it is safe to clear the composer.
  if (els.send.disabled && (m.text === els.question.value.trim() || !m.text)) clearComposer();
  refreshList(); // a new conversation appears; an old one moves to the top
}

function userView(m) {
  const el = document.createElement("article");
  el.className = "message user";
  el.dataset.id = m.id;
  const someoneElse = m.author && m.author.id !== boot.userId;
  el.setAttribute("aria-label", someoneElse ? interpolate(gettext("%(name)s asked"), { name: m.author.name }) : gettext("You asked"));
  if (someoneElse) {
    // In a team conversation: who asked.
    const who = document.createElement("p");
    who.className = "author";
    who.textContent = m.author.name;
    el.append(who);
  }
  if (m.images.length) {
    const alt = someoneElse ? interpolate(gettext("%(name)s's photo"), { name: m.author.name }) : gettext("Your photo");
    el.append(photoRow(m.images, alt, {
      regions: m.regions,
      full: fullUrl,
      below: findIt,
      onAsk: drawOnSaved,
    }));
  }
  if (m.text) {
    const p = document.createElement("p");
    p.className = "bubble";
    p.dir = "auto"; // the question's own direction, whatever the page's language
    p.textContent = m.text;
    el.append(p);
  }
  if (m.notice) {
    // In a copy: a photo someone else added stayed in the original.
    const p = document.createElement("p");
    p.className = "notice";
    p.textContent = m.notice;
    el.append(p);
  }
  el.append(questionActions(m));
  return { el, role: "user", images: m.images };
}

function replyView(m) {
  const el = document.createElement("article");
  el.className = "message assistant";
  el.dataset.id = m.id;
  el.dataset.model = m.model;
  // Translators: a reply on the page (a noun), named so for screen readers.
  el.setAttribute("aria-label", gettext("Answer"));
  const thinking = document.createElement("details");
  thinking.className = "thinking";
  thinking.hidden = true;
  const summary = document.createElement("summary");
  // Translators: the model is reasoning before it answers.
  summary.textContent = gettext("Thinking…");
  const reasoning = document.createElement("div");
  reasoning.className = "reasoning";
  reasoning.dir = "auto"; // the model's words in their own direction, whatever the page's
  thinking.append(summary, reasoning);
  const answer = document.createElement("div");
  answer.className = "answer markdown";
  answer.dir = "auto";
  const meta = document.createElement("p");
  meta.className = "meta";
  el.append(thinking, answer, meta);
  return {
    el, role: "assistant", thinking, summary, reasoning, answer, meta,
    text: { reasoning: "", answer: "" },
    count: { reasoning: 0, answer: 0 },
    started: null,
    thoughtFor: null,
    clock: null,
    renderTimer: null,
    announced: 0,
  };
}

function resetReply(view) {
  stopClock(view);
  view.started = null;
  view.thoughtFor = null;
  view.announced = 0;
  view.thinking.hidden = true;
  view.summary.textContent = gettext("Thinking…");
  view.el.querySelector(".reply-error")?.remove();
  view.el.querySelector(".reply-actions")?.remove();
  view.el.querySelector(".notice")?.remove();
}

function setSuperseded(view, m) {
  if (!m.superseded || view.el.classList.contains("superseded")) return;
  // An answer that was regenerated: kept, folded away above the new one.
  view.el.classList.add("superseded");
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "link earlier-toggle";
  const model = boot.models.find((x) => x.id === m.model);
  const label = model ? interpolate(gettext("Earlier answer from %(model)s"), { model: shortName(model) }) : gettext("Earlier answer");
  // Translators: %(answer)s is "Earlier answer" or "Earlier answer from <model>"; the button unfolds it.
  const toggleText = (open) => interpolate(open ? gettext("%(answer)s — hide") : gettext("%(answer)s — show"), { answer: label });
  toggle.textContent = toggleText(false);
  toggle.setAttribute("aria-expanded", "false");
  toggle.addEventListener("click", () => {
    const open = view.el.classList.toggle("expanded");
    toggle.textContent = toggleText(open);
    toggle.setAttribute("aria-expanded", String(open));
  });
  view.el.prepend(toggle);
}

function setText(view, kind, text) {
  view.text[kind] = text;
  view.count[kind] = codePoints(text);
  if (kind === "reasoning") view.thinking.hidden = !text;
  render(view, kind);
}

function render(view, kind) {
  if (kind === "reasoning") {
    view.reasoning.textContent = view.text.reasoning;
    return;
  }
  clearTimeout(view.renderTimer);
  view.renderTimer = null;
  renderAnswer(view.answer, view.text.answer, {
    streaming: view.el.dataset.status === "streaming",
    ...groundingPhoto(view),
    id: `m-${view.el.dataset.id}`,
  });
}

/** The photo an answer's boxes are on: the first photo of the latest question
 *  with photos at or before it (a "find" question has just its one). */
function groundingPhoto(view) {
  for (let el = view.el.previousElementSibling; el; el = el.previousElementSibling) {
    const question = state.messages.get(el.dataset.id);
    if (question && question.role === "user" && question.images.length) {
      const image = question.images[0];
      return { image, full: fullUrl(image) };
    }
  }
  return {};
}

function renderSoon(view) {
  if (view.renderTimer === null) view.renderTimer = setTimeout(() => render(view, "answer"), RENDER_EVERY_MS);
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
  view.text[kind] += fresh.join("");
  view.count[kind] += fresh.length;
  delete view.answer.dataset.placeholder;
  if (kind === "reasoning") {
    view.reasoning.append(document.createTextNode(fresh.join("")));
    if (view.started === null) startClock(view);
    if (view.thinking.hidden) {
      view.thinking.hidden = false;
      view.thinking.open = true;
    }
  } else {
    renderSoon(view);
    announceSentences(view, false);
    if (view.started !== null && view.thoughtFor === null) {
      stopClock(view);
      view.thoughtFor = Math.max(1, Math.round((Date.now() - view.started) / 1000));
      // Translators: how long the model reasoned before answering; "s" is short for seconds.
      view.summary.textContent = interpolate(gettext("Thought for %(seconds)s s"), { seconds: formatNumber(view.thoughtFor) });
      view.thinking.open = false;
    }
  }
  scrollDown();
}

// "Thinking… 7 s", ticking while the model reasons.
function startClock(view) {
  view.started = Date.now();
  const tick = () => {
    const seconds = Math.floor((Date.now() - view.started) / 1000);
    // Translators: "s" is short for seconds.
    view.summary.textContent = seconds ? interpolate(gettext("Thinking… %(seconds)s s"), { seconds: formatNumber(seconds) }) : gettext("Thinking…");
  };
  tick();
  view.clock = setInterval(tick, 1000);
}

function stopClock(view) {
  clearInterval(view.clock);
  view.clock = null;
}

// Screen readers hear the answer a sentence at a time, not a re-read of the
// whole reply on every render.
function announceSentences(view, all) {
  // The words only: the coordinates the model points with are drawn, not read.
  const text = findGrounding(view.text.answer, !all).prose;
  const end = all ? text.length : Math.max(text.lastIndexOf(". "), text.lastIndexOf("\n")) + 1;
  if (end <= view.announced) return;
  announce(text.slice(view.announced, end));
  view.announced = end;
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
  stopped: gettext("Stopped — the answer so far is kept."),
  interrupted: gettext("Interrupted — the server restarted while answering. The text so far is kept."),
};

function setStatus(view, m) {
  view.el.dataset.status = m.status;
  if (m.status === "streaming") {
    state.streamingId = m.id;
    setBusy(true);
    view.answer.setAttribute("aria-busy", "true");
    if (!view.text.answer && !view.text.reasoning) view.answer.dataset.placeholder = "…";
    return;
  }
  stopClock(view);
  render(view, "answer");
  if (view.answer.getAttribute("aria-busy")) {
    announceSentences(view, true);
    view.answer.removeAttribute("aria-busy");
  }
  delete view.answer.dataset.placeholder;
  if (state.streamingId === m.id) {
    state.streamingId = null;
    setBusy(false);
  }
  if (view.thinking.open && view.text.answer) view.thinking.open = false;
  if (view.thoughtFor === null && !view.thinking.hidden) view.summary.textContent = gettext("Show thinking");
  const bits = [];
  const model = boot.models.find((x) => x.id === m.model);
  if (model) bits.push(shortName(model));
  if (m.usage) {
    const tokens = m.usage.prompt_tokens + m.usage.completion_tokens;
    bits.push(interpolate(ngettext("%(count)s token", "%(count)s tokens", tokens), { count: formatNumber(tokens) }));
  }
  if (m.finish_reason === "length") bits.push(gettext("Cut short: the answer hit its length limit."));
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
  view.el.querySelector(".reply-actions")?.remove();
  if (!view.el.classList.contains("superseded")) {
    view.el.append(replyActions(view, m, els.messages.lastElementChild === view.el));
  }
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
