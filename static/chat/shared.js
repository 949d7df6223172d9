// The public shared page: the conversation, read-only, through the same
// Markdown renderer as live replies (model output stays untrusted).
import { renderAnswer } from "./answer.js";
import { gettext } from "./i18n.js";
import { photoRow } from "./photorow.js";
import { shortName } from "./state.js";

const shared = JSON.parse(document.getElementById("shared").textContent);
const list = document.getElementById("messages");
const modelName = (id) => {
  const model = shared.models.find((m) => m.id === id);
  return model ? shortName(model) : "";
};

// The photo an answer's boxes are on: the first of the latest question with photos.
let lastPhoto = null;
for (const m of shared.messages) {
  const el = document.createElement("article");
  el.className = `message ${m.role === "user" ? "user" : "assistant"}`;
  // Translators: a question or a reply on the page (nouns), named so for screen readers.
  el.setAttribute("aria-label", m.role === "user" ? gettext("Question") : gettext("Answer"));
  if (m.images.length) el.append(photoRow(m.images, gettext("Photo"), { regions: m.regions, full: (image) => image.url }));
  if (m.role === "user") {
    if (m.images.length) lastPhoto = m.images[0];
    if (m.text) {
      const p = document.createElement("p");
      p.className = "bubble";
      p.dir = "auto"; // as in replies.js: people's and the model's words in their own direction
      p.textContent = m.text;
      el.append(p);
    }
  } else {
    if (m.reasoning) {
      const thinking = document.createElement("details");
      thinking.className = "thinking";
      const summary = document.createElement("summary");
      summary.textContent = gettext("Show thinking");
      const reasoning = document.createElement("div");
      reasoning.className = "reasoning";
      reasoning.dir = "auto";
      reasoning.textContent = m.reasoning;
      thinking.append(summary, reasoning);
      el.append(thinking);
    }
    const answer = document.createElement("div");
    answer.className = "answer markdown";
    answer.dir = "auto";
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = modelName(m.model);
    el.append(answer, meta);
    renderAnswer(answer, m.text, { image: lastPhoto, full: lastPhoto?.url, id: `m-${m.id}` });
  }
  list.append(el);
}
document.body.dataset.ready = "true";
