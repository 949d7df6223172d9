// The model picker, the options and the composer: ask, stop, start a conversation.
import { setFindHandler } from "./find.js";
import { gettext, interpolate } from "./i18n.js";
import { checkVision, updateEstimate } from "./photos.js";
import { regionsToSend } from "./regions.js";
import { showShareButton } from "./share.js";
import { connect, send } from "./socket.js";
import { $, boot, csrfToken, currentModel, els, hideError, setBusy, showError, state } from "./state.js";

const NUMBER_OPTIONS = [
  "temperature", "max_tokens", "top_p", "seed", "presence_penalty", "frequency_penalty",
  "thinking_budget",
];

function fillModels() {
  // Last picked, on any device: saved with each question.
  const saved = boot.preference.model;
  let firstAvailable = null;
  for (const m of boot.models) {
    const opt = document.createElement("option");
    opt.value = m.id;
    opt.textContent = m.available ? m.label : interpolate(gettext("%(model)s (needs an API key)"), { model: m.label });
    opt.disabled = !m.available;
    els.model.append(opt);
    if (m.available && !firstAvailable && m.vision) firstAvailable = m.id;
  }
  const savedOk = boot.models.some((m) => m.id === saved && m.available);
  els.model.value = savedOk ? saved : firstAvailable;
  if (boot.preference.detail) els.detail.value = boot.preference.detail;
}

function showKnobs() {
  const model = currentModel() || { knobs: [], vision: false };
  els.thinkingRow.hidden = !model.knobs.includes("enable_thinking");
  els.budgetRow.hidden = !model.knobs.includes("thinking_budget");
  // "Find it" under photos asks the model picked: only one that sees photos can.
  document.body.dataset.vision = String(Boolean(model.vision));
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

function saveSystemPrompt() {
  if (!state.conversationId) return; // sent when the conversation is created
  fetch(`/api/conversations/${state.conversationId}/`, {
    method: "PATCH",
    headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
    body: JSON.stringify({ system_prompt: els.systemPrompt.value }),
  }).then(async (res) => {
    if (!res.ok) {
      const data = await res.json().catch(() => ({}));
      showError(data.error ? data.error.message : gettext("Could not save the instructions."));
    }
  }, () => showError(gettext("Could not save the instructions. Check your connection.")));
}

function onQuestionKey(e) {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    els.composer.requestSubmit();
  } else if (e.key === "Escape" && state.streamingId) {
    stopReply();
  }
}

async function onSubmit(e) {
  e.preventDefault();
  hideError();
  if (state.photos.some((p) => p.uploading)) {
    showError(gettext("Wait a moment: a photo is still uploading."));
    return;
  }
  const text = els.question.value.trim();
  const images = state.photos.map((p) => p.id);
  if (!text && !images.length) {
    showError(gettext("Type a question or add a photo."));
    return;
  }
  if (!checkVision()) return;
  if (!state.conversationId) {
    const created = await createConversation();
    if (!created) return;
  }
  const regions = regionsToSend(state.photos);
  askQuestion(text, images, regions.length ? { regions } : {});
}

/** `extra`: the ask's regions, or what to find. */
export function askQuestion(text, images, extra = {}) {
  setBusy(true);
  send({
    type: "ask",
    text,
    images,
    model: els.model.value,
    detail: els.detail.value,
    options: collectOptions(),
    ...extra,
  });
}

/** "Find it" under a photo: where `what` is in `image`, asked of the model
 *  picked (a vision one: the button shows only then). */
async function askFind(image, what) {
  hideError();
  if (state.streamingId || els.send.disabled) {
    showError(gettext("Wait for the answer to finish (or stop it), then try again."));
    return;
  }
  if (!state.conversationId && !(await createConversation())) return;
  askQuestion("", [image.id], { find: what });
}

async function createConversation() {
  const res = await fetch("/api/conversations/", {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
    body: JSON.stringify({ system_prompt: els.systemPrompt.value, team: boot.space }),
  }).catch(() => null);
  const data = res ? await res.json().catch(() => ({})) : {};
  if (!res || !res.ok) {
    showError(data.error ? data.error.message : gettext("Could not start a conversation. Check your connection."));
    return false;
  }
  state.conversationId = data.id;
  history.replaceState(null, "", data.url);
  showShareButton();
  connect();
  return true;
}

export function clearComposer() {
  els.question.value = "";
  state.photos = [];
  els.previews.replaceChildren();
  updateEstimate();
}

function stopReply() {
  send({ type: "stop" });
}

export function initComposer() {
  els.model.addEventListener("change", () => {
    showKnobs();
    checkVision();
    updateEstimate();
  });
  els.systemPrompt.addEventListener("change", saveSystemPrompt);
  els.detail.addEventListener("change", updateEstimate);
  els.question.addEventListener("keydown", onQuestionKey);
  els.composer.addEventListener("submit", onSubmit);
  els.stop.addEventListener("click", stopReply);
  setFindHandler(askFind);
  fillModels();
  showKnobs();
}
