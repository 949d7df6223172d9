// Boxes, points and numbered regions over a photo. Coordinates are Qwen3-VL's
// (0–1000 of the upright photo's width and height); they are placed in
// percentages of the photo, so they scale with it at any size it is shown.

export const clamp = (v) => Math.min(1000, Math.max(0, v));

/** The photo (an <img>, or a button holding one) in a frame, and the layer
 *  over it, whose box is exactly the picture's (so 10 % of it is 100 units).
 *  Given the photo's size, the frame takes its shape and the largest size its
 *  context's CSS allows (--max-w, --max-h), and the picture fills it; without,
 *  it shrink-wraps the picture. */
export function photoFrame(photo, size = null) {
  const frame = document.createElement("span");
  frame.className = "photo-frame";
  if (size) shapeFrame(frame, size);
  const layer = document.createElement("span");
  layer.className = "overlay";
  frame.append(photo, layer);
  return frame;
}

/** Give a frame the photo's shape ({width, height}), once it is known. */
export function shapeFrame(frame, { width, height }) {
  if (!width || !height) return;
  frame.classList.add("sized");
  frame.style.setProperty("--ratio", width / height);
}

export const layerOf = (frame) => frame.querySelector(".overlay");

/** Draw marks — {box: [x1, y1, x2, y2]} or {point: [x, y]}, each with a
 *  `kind` (its class: region, found, draft) and a `label` (text, or an element
 *  to use as the label) — replacing what the layer held. Returns the mark
 *  elements, in order. */
export function drawMarks(layer, marks) {
  const els = marks.map((mark) => {
    const el = document.createElement("span");
    el.className = `mark ${mark.kind || ""}`;
    if (mark.box) {
      const [x1, y1, x2, y2] = mark.box;
      Object.assign(el.style, {
        left: pct(x1), top: pct(y1), width: pct(x2 - x1), height: pct(y2 - y1),
      });
      // Near the top edge the label goes inside the box, where it can be seen.
      if (y1 < 80) el.classList.add("label-inside");
    } else {
      el.classList.add("point");
      Object.assign(el.style, { left: pct(mark.point[0]), top: pct(mark.point[1]) });
    }
    if (mark.label instanceof Element) {
      mark.label.classList.add("mark-label");
      mark.label.dir = "auto"; // placed physically (app.css); its words in their own direction
      el.append(mark.label);
    } else if (mark.label) {
      const label = document.createElement("span");
      label.className = "mark-label";
      label.dir = "auto";
      label.textContent = mark.label; // model output: text, never HTML
      el.append(label);
    }
    return el;
  });
  layer.replaceChildren(...els);
  // Numbers on regions are for the eye: the photo's name says which are
  // marked. Labels given as elements (the answer's, linked) are read.
  if (marks.some((mark) => mark.label instanceof Element)) layer.removeAttribute("aria-hidden");
  else layer.setAttribute("aria-hidden", "true");
  return els;
}

// Three decimals: a tenth of a unit, far finer than a pixel on any screen.
const pct = (units) => `${(units / 10).toFixed(3)}%`;
