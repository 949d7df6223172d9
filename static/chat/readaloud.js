// Read aloud: a finished answer spoken by the browser's speech synthesis, in
// the answer's language, one answer at a time. The words come from the
// rendered answer, so Markdown is read as text and not as its symbols; code
// is not read, and the reasoning (outside the answer's element) never is.
import { gettext, locale } from "./i18n.js";
import { showError } from "./state.js";

// Characters per utterance: Chrome cuts one off after about 15 seconds, and
// Chinese, Japanese or Korean take about three times as long per character.
const CHUNK = 200;
const CHUNK_CJK = 60;

const primary = (tag) => tag.toLowerCase().split(/[-_]/)[0];

/** A Django language code as speech engines know it. The plain language
 *  ("es", "ar") where it is enough: it is what the spec falls back to (the
 *  page's <html lang>) and lets the engine use its own variety rather than a
 *  region we would guess. The region where it decides the variety ("pt-br" →
 *  "pt-BR"), and Simplified Chinese as "zh-CN": engines know no "zh-Hans". */
export function speechLang(code = locale()) {
  const [language, sub = ""] = code.toLowerCase().split(/[-_]/);
  if (language === "zh") return ["hant", "tw", "hk"].includes(sub) ? "zh-TW" : "zh-CN";
  return sub.length === 2 ? `${language}-${sub.toUpperCase()}` : language;
}

// The scripts an answer may be mostly in, each with the language to read it
// in when the page's language is written in another; Han is Chinese unless
// there is kana in it.
const SCRIPTS = {
  Latin: "en", Han: "zh-CN", Hangul: "ko", Arabic: "ar", Cyrillic: "ru",
  Greek: "el", Hebrew: "he", Thai: "th", Devanagari: "hi",
};
const KANA = /[\p{Script=Hiragana}\p{Script=Katakana}]/u;
const PAGE_SCRIPT = {
  zh: "Han", ja: "Han", ko: "Hangul", ar: "Arabic", fa: "Arabic", ur: "Arabic", ru: "Cyrillic",
  uk: "Cyrillic", bg: "Cyrillic", sr: "Cyrillic", el: "Greek", he: "Hebrew", th: "Thai", hi: "Devanagari",
};

/** The language to read `text` in: the page's (`page`), unless more than
 *  half of its letters are in a script the page's language is not written in. */
export function answerLang(text, page = speechLang()) {
  const letters = text.match(/\p{L}/gu) || [];
  const counts = {};
  for (const ch of letters) {
    const script = KANA.test(ch) ? "Han" : Object.keys(SCRIPTS).find((s) => scriptTest(s).test(ch));
    if (script) counts[script] = (counts[script] || 0) + 1;
  }
  const top = Object.keys(counts).find((s) => counts[s] > letters.length / 2);
  if (!top) return page;
  const lang = top === "Han" && KANA.test(text) ? "ja" : SCRIPTS[top];
  const pageScript = PAGE_SCRIPT[primary(page)] || "Latin";
  if (pageScript === top && (top !== "Han" || primary(lang) === primary(page))) return page;
  return lang;
}

const scriptTests = {};
const scriptTest = (s) => (scriptTests[s] ||= new RegExp(`\\p{Script=${s}}`, "u"));

const BLOCK = /^(P|LI|H[1-6]|BLOCKQUOTE|UL|OL|TABLE|TR|DIV|DL|DT|DD|HR|BR|FIGCAPTION)$/;

/** What a person reading the answer would say: its text, a paragraph a line,
 *  each code block replaced by a short word. */
export function spokenText(answer) {
  const parts = [];
  const walk = (node) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) parts.push(child.data);
      if (child.nodeType !== Node.ELEMENT_NODE) continue;
      if (child.tagName === "PRE") {
        parts.push("\n", gettext("Code block skipped."), "\n");
        continue;
      }
      const block = BLOCK.test(child.tagName);
      if (block) parts.push("\n");
      walk(child);
      parts.push(block ? "\n" : /^T[DH]$/.test(child.tagName) ? ", " : "");
    }
  };
  walk(answer);
  return parts.join("").split("\n").map((line) => line.replace(/\s+/g, " ").trim()).filter(Boolean).join("\n");
}

/** `text` in pieces short enough to be spoken whole: never across a
 *  paragraph, at sentence ends where they fit, else at a space or comma. */
export function chunksOf(text, lang) {
  const limit = ["zh", "ja", "ko"].includes(primary(lang)) ? CHUNK_CJK : CHUNK;
  const segmenter = globalThis.Intl?.Segmenter ? new Intl.Segmenter(lang, { granularity: "sentence" }) : null;
  const chunks = [];
  for (const line of text.split("\n")) {
    const sentences = segmenter
      ? Array.from(segmenter.segment(line), (s) => s.segment)
      : line.split(/(?<=[.!?。！？])\s*/);
    let chunk = "";
    for (let sentence of sentences) {
      if (chunk && (chunk + sentence).length > limit) {
        chunks.push(chunk.trim());
        chunk = "";
      }
      while (sentence.length > limit) {
        const breaks = sentence.slice(0, limit).search(/[\s,，、;；][^\s,，、;；]*$/);
        const cut = breaks > limit / 2 ? breaks + 1 : limit;
        chunks.push(sentence.slice(0, cut).trim());
        sentence = sentence.slice(cut);
      }
      chunk += sentence;
    }
    if (chunk.trim()) chunks.push(chunk.trim());
  }
  return chunks;
}

/** The voice for `lang`: the language and region matching before the
 *  language alone, and one that speaks on this device before an online one
 *  (which would send the answer to the browser maker's servers). */
function pickVoice(lang) {
  const want = lang.toLowerCase();
  const tag = (voice) => voice.lang.replace("_", "-").toLowerCase();
  const score = (voice) => (tag(voice) === want ? 4 : 0) + (voice.localService ? 2 : 0) + (voice.default ? 1 : 0);
  const voices = speechSynthesis.getVoices().filter((v) => primary(tag(v)) === primary(want));
  return voices.sort((a, b) => score(b) - score(a))[0] || null;
}

const supported = () => "speechSynthesis" in globalThis && typeof globalThis.SpeechSynthesisUtterance === "function";

let reading = null; // {answer, button, utterance}: the one answer being read

/** The Read aloud button for an answer's element, or null where the browser
 *  cannot speak. The answer's actions are drawn again when its status
 *  changes: a new button for the answer being read takes over as its Stop. */
export function readAloudButton(answer) {
  if (!supported()) return null;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "read-aloud";
  button.addEventListener("click", () => {
    if (reading && reading.answer === answer) stopReading();
    else startReading(answer, button);
  });
  if (reading && reading.answer === answer) reading.button = button;
  showReading(button, Boolean(reading && reading.answer === answer));
  return button;
}

function showReading(button, on) {
  button.textContent = on ? gettext("Stop reading") : gettext("Read aloud");
  button.setAttribute("aria-pressed", String(on));
  if (on) button.removeAttribute("title");
  else button.title = gettext("Read this answer aloud");
}

function startReading(answer, button) {
  stopReading();
  const text = spokenText(answer);
  const lang = answerLang(text);
  const chunks = chunksOf(text, lang);
  if (!chunks.length) return;
  const voice = pickVoice(lang);
  const session = { answer, button, utterance: null };
  reading = session;
  showReading(button, true);
  const speak = (i) => {
    if (reading !== session) return; // stopped, or another answer took over
    if (i >= chunks.length || !answer.isConnected) {
      done(session);
      return;
    }
    const utterance = new SpeechSynthesisUtterance(chunks[i]);
    utterance.lang = lang;
    if (voice) utterance.voice = voice;
    utterance.onend = () => speak(i + 1);
    utterance.onerror = (e) => {
      if (reading !== session) return;
      done(session);
      if (!["interrupted", "canceled"].includes(e.error)) {
        showError(gettext("Your browser could not read this answer aloud."));
      }
    };
    // Kept: Chrome forgets an utterance nothing refers to, and its end with it.
    session.utterance = utterance;
    speechSynthesis.speak(utterance);
  };
  speak(0);
}

function done(session) {
  if (reading !== session) return;
  reading = null;
  showReading(session.button, false);
}

/** Stop whatever answer is being read (another starting, dictation, the page going). */
export function stopReading() {
  if (!reading) return;
  done(reading);
  speechSynthesis.cancel();
}
