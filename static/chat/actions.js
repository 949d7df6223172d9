// The buttons under messages: Edit & resend a question; Copy, Regenerate,
// Try again and Continue under a reply.
import { announce } from "./announce.js";
import { askQuestion } from "./composer.js";
import { addSavedPhoto, checkVision, updateEstimate } from "./photos.js";
import { readAloudButton } from "./readaloud.js";
import { send } from "./socket.js";
import { boot, els, hideError, setBusy, shortName, state } from "./state.js";

export function questionActions(m) {
  const bar = document.createElement("div");
  bar.className = "message-actions";
  bar.append(button("Edit & resend", () => editQuestion(m), "Edit this question and send it again"));
  return bar;
}

export function replyActions(view, m, latest) {
  const bar = document.createElement("div");
  bar.className = "reply-actions";
  if (view.text.answer) bar.append(copyButton(view));
  const readAloud = view.text.answer && readAloudButton(view.answer);
  if (readAloud) bar.append(readAloud);
  if (!latest) return bar;
  if (m.status === "interrupted" && view.text.answer) {
    // Goes on from the saved text, in the same reply.
    bar.append(latestOnly(button("Continue", () => {
      setBusy(true);
      send({ type: "continue", message_id: m.id });
    }, "Continue this answer from where it stopped")));
  }
  const retryable =
    ["stopped", "interrupted"].includes(m.status) || (m.status === "failed" && m.error && m.error.retryable !== false);
  if (retryable) {
    bar.append(latestOnly(button("Try again", () => {
      setBusy(true);
      send({ type: "retry", message_id: m.id });
    })));
  }
  if (m.status === "completed" && m.finish_reason === "length") {
    bar.append(latestOnly(button("Continue", () => askQuestion("Please continue where you left off.", []))));
  }
  if (m.status === "completed") {
    const regenerate = latestOnly(button("Regenerate", () => {
      setBusy(true);
      send({ type: "regenerate", message_id: m.id, model: els.model.value });
    }));
    regenerate.classList.add("regenerate");
    regenerate.dataset.replyModel = m.model;
    labelRegenerate(regenerate);
    bar.append(regenerate);
  }
  return bar;
}

// "Regenerate" with the reply's own model; "Regenerate with …" once another is picked.
function labelRegenerate(el) {
  const picked = boot.models.find((x) => x.id === els.model.value);
  const other = picked && picked.id !== el.dataset.replyModel;
  el.textContent = other ? `Regenerate with ${shortName(picked)}` : "Regenerate";
}

function editQuestion(m) {
  hideError();
  els.question.value = m.text;
  state.photos = [];
  els.previews.replaceChildren();
  for (const image of m.images) addSavedPhoto(image, m.regions.filter((r) => r.image === image.id));
  checkVision();
  updateEstimate();
  els.question.focus();
  els.question.setSelectionRange(m.text.length, m.text.length);
  announce("The question is in the box below: change it and press Send.");
}

function copyButton(view) {
  const el = button("Copy", async () => {
    const ok = await copyText(view.text.answer);
    el.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { el.textContent = "Copy"; }, 2000);
  }, "Copy this answer");
  return el;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (an insecure page, an old browser): the old way.
    const area = document.createElement("textarea");
    area.value = text;
    area.className = "visually-hidden";
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

function latestOnly(el) {
  el.classList.add("latest-only");
  return el;
}

function button(label, onClick, description) {
  const el = document.createElement("button");
  el.type = "button";
  el.textContent = label;
  if (description) el.title = description;
  el.addEventListener("click", onClick);
  return el;
}

export function initActions() {
  // Another model picked: every Regenerate on the page says which it will use.
  els.model.addEventListener("change", () => {
    for (const el of els.messages.querySelectorAll(".regenerate")) labelRegenerate(el);
  });
}
