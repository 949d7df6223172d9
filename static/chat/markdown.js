// Model output is untrusted: the one way it becomes HTML in any page (live
// replies, saved history, shared pages) is renderMarkdown() below.
import { Marked } from "../vendor/marked/marked.esm.js";
import DOMPurify from "../vendor/dompurify/purify.es.mjs";
import { gettext, interpolate } from "./i18n.js";

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    // Raw HTML in a reply is shown as the text it is, never parsed.
    html({ text }) {
      return escapeHtml(text);
    },
    // A remote image would be fetched the moment it is shown, and its address
    // can carry anything a prompt injection put there: show its words instead.
    image({ text }) {
      const label = text ? interpolate(gettext("Picture not shown: %(description)s"), { description: text }) : gettext("Picture not shown");
      return `<span class="blocked-image">${escapeHtml(label)}</span>`;
    },
  },
});

const FORBID_TAGS = [
  "img", "picture", "source", "video", "audio", "track", "iframe", "frame", "object", "embed",
  "form", "input", "button", "select", "textarea", "style", "link", "meta", "base", "svg", "math",
];
const SAFE_LINK = /^(https?:|mailto:)/i;

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName !== "A") return;
  const href = node.getAttribute("href") || "";
  if (!SAFE_LINK.test(href)) {
    node.removeAttribute("href");
    return;
  }
  node.setAttribute("target", "_blank");
  node.setAttribute("rel", "noopener noreferrer nofollow ugc");
});

export function renderMarkdown(text) {
  const html = marked.parse(text || "", { async: false });
  return DOMPurify.sanitize(html, {
    FORBID_TAGS,
    FORBID_ATTR: ["style", "srcset", "action", "formaction", "background", "poster"],
    ALLOW_DATA_ATTR: false,
  });
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
