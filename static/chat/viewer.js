// The full-screen viewer: any photo, as large as the screen allows, in a
// <dialog>. Zoom with the wheel, a pinch, the + and − buttons or keys; drag
// (or the arrow keys) to move around once zoomed; Esc or × closes it and focus
// goes back to what opened it. Regions and the answer's marks are drawn on
// it, in the photo's own coordinates, so they follow the zoom.
//
// In drawing mode a one-finger or mouse drag draws a region instead of
// panning (a pinch still zooms and pans): the drawing itself — what a drag or
// a key does to the regions — is given by regions.js (regionEditor).
import { gettext } from "./i18n.js";
import { clamp, drawMarks, layerOf, photoFrame } from "./overlay.js";

const MAX_ZOOM = 8;
const KEY_ZOOM = 1.5;
const KEY_PAN = 60; // px

let v = null; // the dialog and its parts, made on first use

const VIEW_HELP = gettext("Scroll, pinch or press + and − to zoom; drag or use the arrow keys to move around.");

function build() {
  const dialog = document.createElement("dialog");
  dialog.className = "viewer";
  dialog.setAttribute("aria-labelledby", "viewer-title");
  const bar = el("div", "viewer-bar");
  const title = el("h2", "viewer-title");
  title.id = "viewer-title";
  const zoomOut = button("−", gettext("Zoom out"));
  const zoomIn = button("+", gettext("Zoom in"));
  const ask = button(gettext("Ask about a part"));
  ask.classList.add("viewer-ask");
  // Translators: the button that ends marking regions and closes the viewer.
  const done = button(gettext("Done"));
  done.classList.add("primary");
  const close = button("×", gettext("Close"));
  close.classList.add("viewer-close");
  bar.append(title, zoomOut, zoomIn, ask, done, close);
  const stage = el("div", "viewer-stage");
  stage.tabIndex = 0;
  stage.setAttribute("role", "group");
  stage.setAttribute("aria-describedby", "viewer-help");
  const photo = el("div", "viewer-photo");
  stage.append(photo);
  const foot = el("div", "viewer-foot");
  const help = el("p", "viewer-help");
  help.id = "viewer-help";
  const list = el("ul", "viewer-regions");
  list.setAttribute("aria-label", gettext("Regions marked"));
  const status = el("p", "visually-hidden");
  status.setAttribute("role", "status");
  foot.append(help, list, status);
  dialog.append(bar, stage, foot);
  document.body.append(dialog);

  v = {
    dialog, title, stage, photo, help, list, status, ask, done,
    img: null, frame: null, marks: [], draw: null, opener: null,
    scale: 1, x: 0, y: 0, base: { w: 0, h: 0 },
    pointers: new Map(), pinch: null, pan: null, drawing: false,
  };
  zoomIn.addEventListener("click", () => zoomAt(KEY_ZOOM));
  zoomOut.addEventListener("click", () => zoomAt(1 / KEY_ZOOM));
  close.addEventListener("click", () => dialog.close());
  done.addEventListener("click", () => dialog.close());
  ask.addEventListener("click", () => {
    const draw = v.onAsk();
    if (draw) startDrawing(draw);
  });
  dialog.addEventListener("close", onClose);
  stage.addEventListener("wheel", onWheel, { passive: false });
  stage.addEventListener("pointerdown", onPointerDown);
  stage.addEventListener("pointermove", onPointerMove);
  stage.addEventListener("pointerup", onPointerUp);
  stage.addEventListener("pointercancel", onPointerUp);
  stage.addEventListener("keydown", onKey);
  stage.addEventListener("focus", () => v.draw?.focus(stage.matches(":focus-visible")));
  stage.addEventListener("blur", () => v.draw?.blur());
  new ResizeObserver(() => v.img && fit()).observe(stage);
}

/** Show `src` full screen with `marks` drawn ({box|point, kind, label}, as
 *  overlay.js draws them). With `onAsk`, an "Ask about a part" button that
 *  turns drawing on with the editor it returns; with `draw`, drawing from the
 *  start. */
export function openViewer({ src, alt, title = alt, marks = [], onAsk = null, draw = null }) {
  if (!v) build();
  v.opener = document.activeElement;
  v.marks = marks;
  v.onAsk = onAsk;
  v.draw = null;
  v.title.textContent = title;
  v.stage.setAttribute("aria-label", alt);
  v.help.textContent = VIEW_HELP;
  v.ask.hidden = !onAsk;
  v.done.hidden = true;
  v.dialog.dataset.mode = "view";
  v.list.replaceChildren();
  v.status.textContent = "";
  const img = document.createElement("img");
  img.alt = alt;
  img.draggable = false;
  img.addEventListener("load", fit);
  img.src = src;
  v.img = img;
  v.frame = photoFrame(img);
  v.photo.replaceChildren(v.frame);
  v.scale = 1;
  v.dialog.showModal();
  if (draw) startDrawing(draw);
  redraw();
  v.stage.focus();
}

function startDrawing(draw) {
  v.draw = draw;
  v.dialog.dataset.mode = "draw";
  v.ask.hidden = true;
  v.done.hidden = false;
  v.title.textContent = draw.title;
  v.stage.setAttribute("aria-label", draw.title);
  v.help.textContent = draw.help;
  draw.attach(redraw, (text) => { v.status.textContent = text; });
  redraw();
  v.stage.focus();
}

function redraw() {
  if (!v.frame) return;
  // Drawing shows the regions being marked, not what the photo had before.
  drawMarks(layerOf(v.frame), v.draw ? v.draw.marks() : v.marks);
  if (!v.draw) return;
  v.list.replaceChildren(...v.draw.items().map((item) => {
    const li = document.createElement("li");
    const remove = button("×", item.removeLabel);
    remove.addEventListener("click", () => {
      item.remove();
      v.stage.focus();
    });
    li.append(item.label, remove);
    return li;
  }));
}

function onClose() {
  v.draw?.done();
  v.draw = null;
  v.pointers.clear();
  v.photo.replaceChildren();
  v.img = v.frame = null;
  if (v.opener && v.opener.isConnected) v.opener.focus();
}

// ---- zoom and pan -------------------------------------------------------------

/** The photo at scale 1: as large as fits the stage, aspect kept. */
function fit() {
  const { clientWidth: sw, clientHeight: sh } = v.stage;
  const { naturalWidth: nw, naturalHeight: nh } = v.img;
  if (!nw || !nh || !sw || !sh) return;
  const k = Math.min(sw / nw, sh / nh);
  v.base = { w: nw * k, h: nh * k };
  v.img.style.width = `${v.base.w}px`;
  v.img.style.height = `${v.base.h}px`;
  place();
}

/** Zoom by `factor` keeping the stage point (cx, cy) still (the centre when not given). */
function zoomAt(factor, cx = v.stage.clientWidth / 2, cy = v.stage.clientHeight / 2) {
  const scale = Math.min(MAX_ZOOM, Math.max(1, v.scale * factor));
  v.x = cx - ((cx - v.x) * scale) / v.scale;
  v.y = cy - ((cy - v.y) * scale) / v.scale;
  v.scale = scale;
  place();
}

/** Keep the photo on the stage: centred on an axis where it is smaller, its
 *  edges no further in than the stage's where it is larger. */
function place() {
  const { clientWidth: sw, clientHeight: sh } = v.stage;
  const w = v.base.w * v.scale;
  const h = v.base.h * v.scale;
  v.x = w <= sw ? (sw - w) / 2 : Math.min(0, Math.max(sw - w, v.x));
  v.y = h <= sh ? (sh - h) / 2 : Math.min(0, Math.max(sh - h, v.y));
  v.photo.style.transform = `translate(${v.x}px, ${v.y}px) scale(${v.scale})`;
  // Lines and labels keep their size on screen however far it is zoomed.
  v.photo.style.setProperty("--zoom", v.scale);
  v.dialog.dataset.zoomed = String(v.scale > 1);
}

function stagePoint(e) {
  const r = v.stage.getBoundingClientRect();
  return { x: e.clientX - r.left, y: e.clientY - r.top };
}

/** Where a pointer is on the photo, in its 0–1000 coordinates. */
function photoPoint(e) {
  const r = v.img.getBoundingClientRect();
  return [clamp(((e.clientX - r.left) / r.width) * 1000), clamp(((e.clientY - r.top) / r.height) * 1000)];
}

function onWheel(e) {
  e.preventDefault();
  const lines = e.deltaMode === 1 ? 16 : 1; // some mice scroll by lines
  const p = stagePoint(e);
  zoomAt(Math.exp((-e.deltaY * lines) / 400), p.x, p.y);
}

function onPointerDown(e) {
  if (!v.img || (e.pointerType === "mouse" && e.button !== 0)) return;
  v.stage.setPointerCapture(e.pointerId);
  v.pointers.set(e.pointerId, stagePoint(e));
  if (v.pointers.size === 2) {
    // A second finger: a pinch, whatever the first one had started.
    if (v.drawing) v.draw.cancel();
    v.drawing = false;
    v.pan = null;
    v.pinch = pinchOf();
  } else if (v.pointers.size === 1 && v.draw) {
    v.drawing = true;
    v.draw.start(photoPoint(e));
  } else if (v.pointers.size === 1) {
    v.pan = stagePoint(e);
  }
}

function onPointerMove(e) {
  if (!v.pointers.has(e.pointerId)) return;
  v.pointers.set(e.pointerId, stagePoint(e));
  if (v.pinch && v.pointers.size >= 2) {
    const now = pinchOf();
    v.x += now.mid.x - v.pinch.mid.x;
    v.y += now.mid.y - v.pinch.mid.y;
    zoomAt(now.distance / v.pinch.distance, now.mid.x, now.mid.y);
    v.pinch = now;
  } else if (v.drawing) {
    v.draw.move(photoPoint(e));
  } else if (v.pan) {
    const p = stagePoint(e);
    v.x += p.x - v.pan.x;
    v.y += p.y - v.pan.y;
    v.pan = p;
    place();
  }
}

function onPointerUp(e) {
  if (!v.pointers.delete(e.pointerId)) return;
  if (v.drawing) {
    v.drawing = false;
    if (e.type === "pointerup") v.draw.end(photoPoint(e));
    else v.draw.cancel();
  }
  if (v.pointers.size < 2) v.pinch = null;
  v.pan = v.pointers.size === 1 && !v.draw ? [...v.pointers.values()][0] : null;
}

function pinchOf() {
  const [a, b] = [...v.pointers.values()];
  return { distance: Math.max(1, Math.hypot(a.x - b.x, a.y - b.y)), mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 } };
}

const PAN_KEYS = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };

function onKey(e) {
  if (v.draw && v.draw.key(e)) {
    e.preventDefault();
    return;
  }
  if (e.key === "+" || e.key === "=") zoomAt(KEY_ZOOM);
  else if (e.key === "-") zoomAt(1 / KEY_ZOOM);
  else if (e.key === "0") zoomAt(1 / v.scale);
  else if (PAN_KEYS[e.key] && !v.draw) {
    v.x += PAN_KEYS[e.key][0] * KEY_PAN;
    v.y += PAN_KEYS[e.key][1] * KEY_PAN;
    place();
  } else {
    return;
  }
  e.preventDefault();
}

function el(tag, className) {
  const node = document.createElement(tag);
  node.className = className;
  return node;
}

function button(text, label) {
  const node = document.createElement("button");
  node.type = "button";
  node.textContent = text;
  if (label) node.setAttribute("aria-label", label);
  return node;
}
