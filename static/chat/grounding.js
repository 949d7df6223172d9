// Where the model means. Asked where something is, Qwen3-VL answers with JSON:
// {"bbox_2d": [x1, y1, x2, y2], "label": "…"} or {"point_2d": [x, y]}, one
// object or a list, bare in its prose or in a ```json block. This finds that
// JSON in an answer and splits it from the words; answer.js draws it.
//
// It is model output, so untrusted: only JSON that parses and holds numbers is
// taken (anything else stays in the answer as the text it is), coordinates are
// clamped to 0–1000 and swapped corners put right, labels are only ever text.
// While an answer streams, only complete objects and blocks are taken, and the
// unfinished one is held back from the words rather than shown half-written.
// The work is bounded, whatever the answer holds.
import { clamp } from "./overlay.js";

const KEY = /"(?:bbox_2d|point_2d)"\s*:/g;
const FENCE = /^ {0,3}(`{3,}|~{3,})([^\n]*)$/gm;
// Bounds on the work one answer can cause, whatever it holds: at most this
// many objects, each found within this many characters of its key.
const MAX_OBJECTS = 64;
const LOOK_BACK = 400;
const LOOK_AHEAD = 4000;
const MAX_LABEL = 80;
const OPEN = -1; // the text ends inside it
const BAD = -2; // too long to be one of ours

/** The answer split into its prose and what it points at:
 *  {prose, marks: [{box|point, label}], raw: [the JSON as written, to show folded]}. */
export function findGrounding(text, streaming = false) {
  const found = []; // {start, end, entries, raw, fenced}
  const taken = []; // code blocks, ours or not: no bare object is looked for inside
  let cut = text.length; // while streaming, the unfinished part is held back from here
  const { blocks, open } = fencedBlocks(text);
  for (const b of blocks) {
    const content = text.slice(b.contentStart, b.contentEnd);
    const entries = isJsonInfo(b.info) ? entriesOf(content) : null;
    if (entries) found.push({ start: b.start, end: b.end, entries, raw: content.trim(), fenced: true });
    taken.push([b.start, b.end]);
  }
  // An unfinished block of ours is held back, and its complete objects drawn;
  // once the answer is over, an unfinished block is code like any other.
  if (open && streaming && isJsonInfo(open.info, true)) cut = open.start;
  else if (open) taken.push([open.start, text.length]);

  KEY.lastIndex = 0;
  let match;
  let tries = 0;
  while ((match = KEY.exec(text)) && found.length < MAX_OBJECTS && tries++ < 2 * MAX_OBJECTS) {
    if (taken.some(([start, end]) => match.index >= start && match.index < end)) continue;
    const object = objectAround(text, match.index);
    if (!object) continue;
    if (object.open) {
      if (streaming) cut = Math.min(cut, listStart(text, object.start, found));
      break;
    }
    found.push({ start: object.start, end: object.end, entries: [object.entry] });
    KEY.lastIndex = object.end; // its other keys are its own
  }
  found.sort((a, b) => a.start - b.start);
  if (streaming) cut = Math.min(cut, unfinishedTail(text));

  let prose = "";
  let from = 0;
  const raw = [];
  for (const span of spans(text, found)) {
    if (span.start >= cut) break;
    prose += text.slice(from, span.start);
    raw.push(span.raw);
    from = span.end;
  }
  prose += text.slice(from, Math.max(from, cut));
  return { prose, marks: found.flatMap((f) => f.entries), raw };
}

function isJsonInfo(info, partial = false) {
  const word = info.split(/\s/)[0].toLowerCase();
  return word === "" || word === "json" || (partial && "json".startsWith(word));
}

/** Complete fenced blocks, and the one left open at the end, if any. */
function fencedBlocks(text) {
  const blocks = [];
  let open = null;
  FENCE.lastIndex = 0;
  let m;
  while ((m = FENCE.exec(text))) {
    if (!open) {
      open = { start: m.index, contentStart: m.index + m[0].length + 1, fence: m[1], info: m[2].trim() };
    } else if (m[1][0] === open.fence[0] && m[1].length >= open.fence.length && !m[2].trim()) {
      blocks.push({ ...open, contentEnd: m.index, end: m.index + m[0].length });
      open = null;
    }
  }
  return { blocks, open };
}

/** The object holding the key at `at`: its span and entry, {start, open: true}
 *  when the text ends inside it, or null. Its "{" is looked for backwards (a
 *  label before the key may hold braces of its own: a few are tried). */
function objectAround(text, at) {
  let start = at;
  for (let tried = 0; tried < 3; tried++) {
    do start--; while (start >= 0 && at - start <= LOOK_BACK && text[start] !== "{");
    if (start < 0 || at - start > LOOK_BACK) return null;
    const end = closeOf(text, start);
    if (end === OPEN) return tried === 0 ? { start, open: true } : null;
    if (end < at) continue; // closes before the key, or too long (BAD): not this one
    const entry = entryOf(parse(text.slice(start, end)));
    if (entry) return { start, end, entry };
  }
  return null;
}

/** Just past the JSON value opening at `start`, OPEN or BAD. Reads strings as
 *  JSON does, so brackets inside a label don't count. */
function closeOf(text, start) {
  let depth = 0;
  let inString = false;
  const end = Math.min(text.length, start + LOOK_AHEAD);
  for (let i = start; i < end; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === "{" || c === "[") {
      depth++;
    } else if ((c === "}" || c === "]") && --depth === 0) {
      return i + 1;
    }
  }
  return end === text.length ? OPEN : BAD;
}

function parse(json) {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

/** A block's content as marks: every item must be one, or it stays code. */
function entriesOf(content) {
  const value = parse(content);
  if (value === undefined) return null;
  const entries = (Array.isArray(value) ? value : [value]).map(entryOf);
  return entries.length && entries.every(Boolean) ? entries : null;
}

function entryOf(value) {
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const label = labelOf(value.label);
  if ("bbox_2d" in value) {
    if (!numbers(value.bbox_2d, 4)) return null;
    const [a, b, c, d] = value.bbox_2d.map(clamp);
    return { box: [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)], label };
  }
  if ("point_2d" in value) {
    if (!numbers(value.point_2d, 2)) return null;
    return { point: value.point_2d.map(clamp), label };
  }
  return null;
}

const numbers = (v, n) => Array.isArray(v) && v.length === n && v.every(Number.isFinite);

function labelOf(label) {
  if (typeof label !== "string" && typeof label !== "number") return "";
  return Array.from(String(label).trim()).slice(0, MAX_LABEL).join("");
}

/** What is taken out of the prose: each fenced block whole, and bare objects
 *  in runs — with the brackets around, when a run is a whole list `[{…}, {…}]`. */
function spans(text, found) {
  const out = [];
  for (let i = 0; i < found.length; i++) {
    if (found[i].fenced) {
      out.push(found[i]);
      continue;
    }
    let j = i;
    while (j + 1 < found.length && !found[j + 1].fenced && /^\s*,\s*$/.test(text.slice(found[j].end, found[j + 1].start))) j++;
    let start = found[i].start;
    let end = found[j].end;
    const open = skipSpace(text, start, -1);
    const close = skipSpace(text, end, 1);
    if (text[open - 1] === "[" && text[close] === "]") {
      start = open - 1;
      end = close + 1;
    }
    out.push({ start, end, raw: text.slice(start, end) });
    i = j;
  }
  return out;
}

/** From `at`, past any white space backwards (step -1: the index just after
 *  the first other character) or forwards (1: the index of the next one). */
function skipSpace(text, at, step) {
  let i = at;
  while (/\s/.test(text[step < 0 ? i - 1 : i] || "")) i += step;
  return i;
}

/** Where a list being written starts: back over the objects already found in
 *  it, their commas, and its "[". */
function listStart(text, start, found) {
  let at = start;
  for (let i = found.length - 1; ; i--) {
    const before = skipSpace(text, at, -1);
    if (text[before - 1] === "[") return before - 1;
    const object = found[i];
    if (text[before - 1] !== "," || !object || object.fenced || skipSpace(text, before - 1, -1) !== object.end) return at;
    at = object.start;
  }
}

/** A streaming answer's last characters when they are the start of an object
 *  of ours whose key has not arrived yet (`[{"bb`): held back too. */
function unfinishedTail(text) {
  const tail = text.slice(-40);
  const m = tail.match(/(?:\[\s*)?\{\s*(?:"[a-z_0-9]*"?\s*)?$/);
  return m ? text.length - tail.length + m.index : text.length;
}
