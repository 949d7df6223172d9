// Regions: the parts of a photo a question is about. Drawn in the viewer on a
// photo in the composer (a drag, or the keyboard), numbered 1..N across the
// question in the order they are sent, shown on the previews and on the
// question's photos in history. The server sends the model each region as a
// crop at the "high" detail as well as the whole photo: the estimate counts it.
import { formatNumber, gettext, interpolate } from "./i18n.js";
import { boot } from "./state.js";

export const MAX_PER_PHOTO = 4;
export const MAX_PER_QUESTION = 8;
const MIN_SIDE = 10; // the server refuses a box with a shorter side
const STEP = 20; // a key press moves or resizes the frame by 2 % of the photo
const CLICK = 3; // a drag shorter than this either way was a click, not a region

/** Visual tokens for a width × height picture at a budget of `budget` tokens:
 *  the server's chat/photos/images.py target_size and visual_tokens, mirrored. */
export function visualTokens(width, height, budget) {
  const { patch, maxSide, maxAspect, minSide } = boot.photoLimits;
  const side = (n) => {
    const length = Math.floor(n + 1e-6);
    return length < patch ? length : Math.floor(length / patch) * patch;
  };
  let scale = Math.min(1, Math.sqrt((budget * patch * patch) / (width * height)), maxSide / Math.max(width, height));
  if (Math.min(width, height) * scale < minSide) scale = patch / Math.min(width, height);
  let w = side(width * scale);
  let h = side(height * scale);
  const longest = Math.max(patch, Math.floor(Math.floor(Math.min(w, h) * maxAspect) / patch) * patch);
  if (w >= h) w = Math.min(w, longest);
  else h = Math.min(h, longest);
  return Math.ceil(w / patch) * Math.ceil(h / patch);
}

/** What the model reads for a region's crop: its stored pixels, outward to
 *  whole pixels (chat/photos/regions.py crop_size), at the "high" budget. */
export function cropTokens(image, [x1, y1, x2, y2]) {
  const w = Math.ceil((x2 * image.width) / 1000) - Math.floor((x1 * image.width) / 1000);
  const h = Math.ceil((y2 * image.height) / 1000) - Math.floor((y1 * image.height) / 1000);
  return visualTokens(w, h, boot.photoLimits.highTokens);
}

/** The composer's photos' regions as the ask frame sends them, in order. */
export function regionsToSend(photos) {
  return photos.flatMap((p) => p.regions.map((box) => ({ image: p.id, box })));
}

export function regionTokens(photos) {
  return photos.reduce((sum, p) => sum + p.regions.reduce((s, box) => s + cropTokens(p.image, box), 0), 0);
}

/** The number the first region of `photo` has in the question. */
export function firstNumber(photos, photo) {
  let n = 1;
  for (const p of photos) {
    if (p === photo) return n;
    n += p.regions.length;
  }
  return n;
}

/** Numbered rectangles, as overlay.js draws them. */
export function regionMarks(boxes, first) {
  return boxes.map((box, i) => ({ box, kind: "region", label: formatNumber(first + i) }));
}

/** The regions of one of a saved question's photos, as drawn: [{box, n}]. */
export function savedMarks(regions, imageId) {
  return regions
    .filter((r) => r.image === imageId)
    .map((r) => ({ box: r.box, kind: "region", n: r.n, label: formatNumber(r.n) }));
}

/** Drawing on `photo` (a composer photo: {regions, …}) in the viewer: what a
 *  drag or a key does, what to draw, what to list. `room` is how many more
 *  regions the question may take; `onChange` runs after each change. */
export function regionEditor(photo, { first, room, onChange }) {
  const boxes = photo.regions;
  const limit = Math.min(MAX_PER_PHOTO, boxes.length + room);
  let draft = null; // the frame being dragged out, or moved by the keys
  let anchor = null; // where a drag started
  let refresh = () => {};
  let announce = () => {}; // the viewer's status line: what a screen reader hears

  const full = () => {
    if (boxes.length < limit) return false;
    announce(interpolate(
      // Translators: %(photo)s and %(question)s are the limits, numbers (4 and 8).
      gettext("That's the most: %(photo)s regions on a photo, %(question)s in a question."),
      { photo: formatNumber(MAX_PER_PHOTO), question: formatNumber(MAX_PER_QUESTION) },
    ));
    return true;
  };
  const add = (box) => {
    const [x1, y1, x2, y2] = box.map(Math.round);
    if (x2 - x1 < MIN_SIDE || y2 - y1 < MIN_SIDE) {
      announce(gettext("That region is too small: mark a larger part."));
      return false;
    }
    if (full()) return false;
    boxes.push([x1, y1, x2, y2]);
    onChange();
    const number = formatNumber(first + boxes.length - 1);
    // Translators: %(where)s is where it is: "37% from the left, 35% from the top, …".
    announce(interpolate(gettext("Region %(number)s added. %(where)s"), { number, where: describe([x1, y1, x2, y2]) }));
    return true;
  };
  const remove = (i) => {
    boxes.splice(i, 1);
    onChange();
    refresh();
    // Those after it move up a number.
    const removed = i < boxes.length
      ? gettext("Region %(number)s removed; the ones after it are renumbered.")
      : gettext("Region %(number)s removed.");
    announce(interpolate(removed, { number: formatNumber(first + i) }));
  };

  return {
    title: gettext("Point at a part of the photo"),
    // Translators: Shift, Enter and Delete are the keys' names, as printed on keyboards.
    help: gettext("Drag over the part you mean; mark up to four. With the keyboard: arrow keys move the frame, Shift and the arrow keys resize it, Enter adds it, Delete removes the last region."),
    attach(redraw, speak) {
      refresh = redraw;
      announce = speak;
    },
    marks: () => [
      ...regionMarks(boxes, first),
      ...(draft ? [{ box: draft, kind: "draft" }] : []),
    ],
    items: () => boxes.map((_, i) => ({
      label: interpolate(gettext("Region %(number)s"), { number: formatNumber(first + i) }),
      removeLabel: interpolate(gettext("Remove region %(number)s"), { number: formatNumber(first + i) }),
      remove: () => remove(i),
    })),
    start(point) {
      anchor = point;
      draft = null;
    },
    move(point) {
      if (!anchor) return;
      draft = span(anchor, point);
      refresh();
    },
    end(point) {
      if (!anchor) return;
      const box = span(anchor, point);
      anchor = null;
      draft = null;
      const click = box[2] - box[0] < CLICK && box[3] - box[1] < CLICK;
      if (!click) add(box);
      refresh();
    },
    cancel() {
      anchor = null;
      draft = null;
      refresh();
    },
    // Keyboard focus shows the frame the keys move; a mouse's click does not.
    focus(fromKeyboard) {
      if (fromKeyboard && !draft) {
        draft = [350, 350, 650, 650];
        refresh();
      }
    },
    blur() {
      if (!anchor) draft = null;
      refresh();
    },
    key(e) {
      const arrow = ARROWS[e.key];
      if (arrow) {
        draft = e.shiftKey ? resized(draft || [350, 350, 650, 650], arrow) : moved(draft || [350, 350, 650, 650], arrow);
        announce(interpolate(gettext("Frame: %(where)s"), { where: describe(draft) }));
      } else if (e.key === "Enter") {
        if (draft && add(draft)) draft = null;
      } else if (e.key === "Delete" || e.key === "Backspace") {
        if (boxes.length) remove(boxes.length - 1);
        else announce(gettext("No region to remove."));
      } else {
        return false;
      }
      refresh();
      return true;
    },
    done: onChange,
  };
}

const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

const span = ([ax, ay], [bx, by]) => [Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)];

function moved([x1, y1, x2, y2], [dx, dy]) {
  // Slid, not squeezed, at the photo's edges.
  const sx = Math.min(1000 - x2, Math.max(-x1, dx * STEP));
  const sy = Math.min(1000 - y2, Math.max(-y1, dy * STEP));
  return [x1 + sx, y1 + sy, x2 + sx, y2 + sy];
}

function resized([x1, y1, x2, y2], [dx, dy]) {
  // The right and bottom edges move; never thinner than the server takes.
  return [
    x1, y1,
    Math.min(1000, Math.max(x1 + MIN_SIDE * 2, x2 + dx * STEP)),
    Math.min(1000, Math.max(y1 + MIN_SIDE * 2, y2 + dy * STEP)),
  ];
}

// Whole percents of the photo's side: 1000 units are 100 %.
const percent = (units) => formatNumber(Math.round(units / 10) / 100, { style: "percent" });

function describe([x1, y1, x2, y2]) {
  return interpolate(
    gettext("%(left)s from the left, %(top)s from the top, %(width)s wide, %(height)s high."),
    { left: percent(x1), top: percent(y1), width: percent(x2 - x1), height: percent(y2 - y1) },
  );
}
