// The buttons under messages: Edit & resend a question; Copy, Regenerate,
// Try again and Continue under a reply.
import { announce } from "./announce.js";
import { askQuestion } from "./composer.js";
import { gettext, interpolate } from "./i18n.js";
import { addSavedPhoto, checkVision, updateEstimate } from "./photos.js";
import { readAloudButton } from "./readaloud.js";
import { send } from "./socket.js";
import { boot, els, hideError, setBusy, shortName, state } from "./state.js";

export function questionActions(m) {
  const bar = document.createElement("div");
  bar.className = "message-actions";
  bar.append(button(gettext("Edit & resend"), () => editQuestion(m), gettext("Edit this question and send it again")));
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
    // Translators: a button that goes on writing an answer that stopped short.
    bar.append(latestOnly(button(gettext("Continue"), () => {
      setBusy(true);
      send({ type: "continue", message_id: m.id });
    }, gettext("Continue this answer from where it stopped"))));
  }
  const retryable =
    ["stopped", "interrupted"].includes(m.status) || (m.status === "failed" && m.error && m.error.retryable !== false);
  if (retryable) {
    bar.append(latestOnly(button(gettext("Try again"), () => {
      setBusy(true);
      send({ type: "retry", message_id: m.id });
    })));
  }
  if (m.status === "completed" && m.finish_reason === "length") {
    // Translators: sent to the model as the person's own question, and shown as it.
    const goOn = gettext("Please continue where you left off.");
    bar.append(latestOnly(button(gettext("Continue"), () => askQuestion(goOn, []))));
  }
  if (m.status === "completed") {
    const regenerate = latestOnly(button(gettext("Regenerate"), () => {
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
  el.textContent = other ? interpolate(gettext("Regenerate with %(model)s"), { model: shortName(picked) }) : gettext("Regenerate");
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
  // Translators: "Send" is the composer's button.
  announce(gettext("The question is in the box below: change it and press Send."));
}

function copyButton(view) {
  // Translators: a button that copies the answer to the clipboard.
  const el = button(gettext("Copy"), async () => {
    const ok = await copyText(view.text.answer);
    el.textContent = ok ? gettext("Copied") : gettext("Copy failed");
    setTimeout(() => { el.textContent = gettext("Copy"); }, 2000);
  }, gettext("Copy this answer"));
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
