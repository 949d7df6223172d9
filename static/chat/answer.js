// An answer on the page: its words as Markdown (markdown.js), and what it
// points at (grounding.js) drawn on the photo it refers to, above it: boxes
// and points labelled, each label linked to where the words mention it, both
// lit together; the JSON itself folded under "Show coordinates".
import { findGrounding } from "./grounding.js";
import { formatNumber, gettext, interpolate, ngettext } from "./i18n.js";
import { renderMarkdown } from "./markdown.js";
import { drawMarks, layerOf, photoFrame } from "./overlay.js";
import { openViewer } from "./viewer.js";

const shown = new WeakMap(); // answer element -> its figure and folded coordinates
const ALT = gettext("The photo, with the places the answer means marked");
const THUMB_SIDE = 320; // the server's thumbnails' longest side (chat/photos/images.py)
const MAX_HEIGHT = 320; // px: app.css, figure.grounding's --max-h

/** Render an answer: its prose as Markdown, and what it points at drawn
 *  above it on `image` (a photo's JSON), whose full size is at `full`. `id`
 *  makes the links between labels and mentions unique on the page. */
export function renderAnswer(answer, text, { streaming = false, image = null, full = "", id = "a" } = {}) {
  const { prose, marks, raw } = findGrounding(text, streaming);
  answer.innerHTML = renderMarkdown(prose);
  let parts = shown.get(answer);
  if (!marks.length && !raw.length) {
    if (parts) {
      parts.figure?.remove();
      parts.details?.remove();
      shown.delete(answer);
    }
    return;
  }
  if (!parts) {
    parts = {};
    shown.set(answer, parts);
  }
  showCoordinates(answer, parts, raw);
  if (!image || !marks.length) {
    parts.figure?.remove();
    parts.figure = null;
    return;
  }
  const figure = photoFigure(answer, parts, image, full);
  const groups = groupByLabel(marks, id);
  const els = drawMarks(layerOf(figure.querySelector(".photo-frame")), marks.map((mark) => ({
    ...mark,
    kind: "found",
    label: labelElement(mark, groups),
  })));
  linkMentions(answer, groups);
  for (const [i, el] of els.entries()) {
    const group = groups.get(key(marks[i].label));
    if (group) group.marks.push(el);
  }
  for (const group of groups.values()) wireGroup(group);
  figure.querySelector("figcaption span").textContent =
    interpolate(ngettext("%(count)s place marked", "%(count)s places marked", marks.length), { count: formatNumber(marks.length) });
  parts.marks = marks;
}

function showCoordinates(answer, parts, raw) {
  if (!raw.length) {
    parts.details?.remove();
    parts.details = null;
    return;
  }
  if (!parts.details) {
    parts.details = document.createElement("details");
    parts.details.className = "coordinates";
    const summary = document.createElement("summary");
    summary.textContent = gettext("Show coordinates");
    parts.details.append(summary, document.createElement("pre"));
    answer.after(parts.details);
  }
  parts.details.querySelector("pre").textContent = raw.join("\n\n");
}

function photoFigure(answer, parts, image, full) {
  if (parts.figure && parts.figure.dataset.src === image.thumbnail_url) return parts.figure;
  parts.figure?.remove();
  const figure = document.createElement("figure");
  figure.className = "grounding";
  figure.dataset.src = image.thumbnail_url;
  const img = document.createElement("img");
  img.src = image.thumbnail_url;
  // Shown larger than the thumbnail (320 px at most): the browser takes the
  // stored photo where the thumbnail would be blurred.
  const thumbWidth = Math.round(image.width * Math.min(1, THUMB_SIDE / Math.max(image.width, image.height)));
  img.srcset = `${image.thumbnail_url} ${thumbWidth}w, ${full} ${image.width}w`;
  img.sizes = `${Math.round(Math.min(image.width, (MAX_HEIGHT * image.width) / image.height))}px`;
  img.alt = ALT;
  const open = () => openViewer({ src: full, alt: ALT, marks: parts.marks.map((m) => ({ ...m, kind: "found" })) });
  img.addEventListener("click", open);
  const caption = document.createElement("figcaption");
  const count = document.createElement("span");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link";
  button.textContent = gettext("Full screen");
  button.setAttribute("aria-label", gettext("Show the photo full screen, with the places marked"));
  button.addEventListener("click", open);
  caption.append(count, " · ", button);
  figure.append(photoFrame(img, image), caption);
  answer.before(figure);
  parts.figure = figure;
  return figure;
}

const key = (label) => label.toLowerCase();

/** Marks grouped by label (three boxes may all be "apple"), each group with
 *  the ids that link its label and its mention. */
function groupByLabel(marks, id) {
  const groups = new Map();
  for (const mark of marks) {
    if (!mark.label || groups.has(key(mark.label))) continue;
    const n = groups.size;
    groups.set(key(mark.label), {
      label: mark.label, labels: [], marks: [], mention: null,
      labelId: `${id}-mark-${n}`, mentionId: `${id}-mention-${n}`,
    });
  }
  return groups;
}

function labelElement(mark, groups) {
  const group = groups.get(key(mark.label));
  if (!group) return "";
  // A link once the answer mentions it (linkMentions sets its href); text till then.
  const el = document.createElement("a");
  el.textContent = mark.label;
  if (!group.labels.length) el.id = group.labelId;
  group.labels.push(el);
  return el;
}

const escapeRegExp = (s) => s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");

/** The first place the prose names each label becomes a link to its mark. */
function linkMentions(answer, groups) {
  for (const group of groups.values()) {
    if (Array.from(group.label).length < 2) continue;
    const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(group.label)}(?:e?s)?(?![\\p{L}\\p{N}])`, "iu");
    const walker = document.createTreeWalker(answer, NodeFilter.SHOW_TEXT, {
      acceptNode: (node) => (node.parentElement.closest("a, code, pre") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
    });
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const m = pattern.exec(node.data);
      if (!m) continue;
      const rest = node.splitText(m.index);
      rest.splitText(m[0].length);
      const link = document.createElement("a");
      link.className = "mention";
      link.id = group.mentionId;
      link.href = `#${group.labelId}`;
      link.textContent = m[0];
      rest.replaceWith(link);
      group.mention = link;
      break;
    }
  }
}

/** A label and its mention lead to each other, and light up together while
 *  either is hovered or has focus. */
function wireGroup(group) {
  const ends = [...group.labels, ...(group.mention ? [group.mention] : [])];
  const lit = [...group.marks, ...(group.mention ? [group.mention] : [])];
  // Looked at once the events settle: focus leaving one end for the other,
  // or the page scrolling away from under the mouse, is not the end of it.
  const update = () => queueMicrotask(() => {
    const on = ends.some((el) => el.matches(":hover") || el === document.activeElement);
    for (const el of lit) el.classList.toggle("lit", on);
  });
  for (const el of ends) {
    for (const type of ["mouseenter", "mouseleave", "focus", "blur"]) el.addEventListener(type, update);
  }
  if (!group.mention) return;
  const go = (target) => (e) => {
    e.preventDefault();
    target.scrollIntoView({ block: "nearest" });
    target.focus({ preventScroll: true });
  };
  for (const label of group.labels) {
    label.href = `#${group.mentionId}`;
    label.addEventListener("click", go(group.mention));
  }
  group.mention.addEventListener("click", go(group.labels[0]));
}
