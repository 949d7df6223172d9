// Voice: dictating the question (here) and reading answers aloud
// (readaloud.js). Dictation is a microphone button beside the question box,
// shown only where the browser offers speech recognition; what is heard goes
// into the box at the cursor, next to what was typed and never over it.
import { announce } from "./announce.js";
import { gettext } from "./i18n.js";
import { speechLang, stopReading } from "./readaloud.js";
import { els, hideError, showError } from "./state.js";

const Recognition = () => globalThis.SpeechRecognition || globalThis.webkitSpeechRecognition;
const NOTED = "visionqa.dictation-noted"; // localStorage: the first-use note has been shown
const MIC =
  '<svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" ' +
  'stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><rect x="9" y="3" width="6" height="11" rx="3"/>' +
  '<path d="M5 11a7 7 0 0 0 14 0"/><path d="M12 18v3"/></svg>';

const ui = { button: null, status: null, note: null };
let onDevice = false; // the browser turns speech into text itself (see checkOnDevice)
// The latest dictation: {recognition, before, after, final, stopping, detached}. Stopped,
// it still writes what the browser settles on, until it ends or someone types.
let current = null;
const listening = () => Boolean(current && !current.stopping);

// Where the voice goes, said on the button (its description) and the first time.
const whereNote = () =>
  onDevice
    ? gettext("Your voice is turned into text on this device.")
    : gettext("Your browser sends your voice to its maker's servers to turn it into text.");

// What each of the recogniser's errors means for the person (the page's frame
// dispatch is the only `case "<type>"` switch: tests/chat/live/test_frames.py).
const ERRORS = {
  "not-allowed": () => gettext("The microphone is blocked. Allow it for this site in your browser to dictate."),
  "no-speech": () => gettext("No speech was heard. Press the microphone and try again."),
  "audio-capture": () => gettext("No microphone was found. Check that one is connected."),
  network: () => gettext("Dictation needs a connection to your browser's speech service. Check your connection."),
  "language-not-supported": () => gettext("Your browser cannot take dictation in this language."),
};
ERRORS["service-not-allowed"] = ERRORS["not-allowed"];

const errorMessage = (code) => (Object.hasOwn(ERRORS, code) ? ERRORS[code]() : gettext("Dictation stopped. Try again."));

function start() {
  hideError();
  stopReading(); // the microphone would hear it
  const recognition = new (Recognition())();
  recognition.lang = speechLang();
  recognition.interimResults = true;
  recognition.continuous = true; // until the person stops it, not at the first pause
  if (onDevice && "processLocally" in recognition) recognition.processLocally = true;
  const box = els.question;
  const at = box.selectionEnd ?? box.value.length;
  const session = {
    recognition, before: box.value.slice(0, at), after: box.value.slice(at), final: "", stopping: false, detached: false,
  };
  recognition.addEventListener("result", (e) => onResult(session, e));
  recognition.addEventListener("error", (e) => {
    if (e.error !== "aborted") showError(errorMessage(e.error));
    onEnd(session);
  });
  recognition.addEventListener("end", () => onEnd(session));
  try {
    recognition.start();
  } catch {
    showError(errorMessage(""));
    return;
  }
  if (current) current.detached = true;
  current = session;
  showListening(true);
}

function stopDictation() {
  if (!listening()) return;
  // stop(), not abort(): the browser still turns what it has heard into text.
  current.stopping = true;
  current.recognition.stop();
  showListening(false);
}

function onResult(session, e) {
  if (session.detached) return;
  let final = "";
  let interim = "";
  for (let i = 0; i < e.results.length; i++) {
    if (e.results[i].isFinal) final += e.results[i][0].transcript;
    else interim += e.results[i][0].transcript;
  }
  session.final = final;
  write(session, final + interim);
}

/** The box as it was when dictation started, with `heard` at the cursor. */
function write(session, heard) {
  const text = heard.trim();
  const { before, after } = session;
  const lead = before && text && !/\s$/.test(before) ? " " : "";
  const trail = after && text && !/^\s/.test(after) ? " " : "";
  els.question.value = before + lead + text + trail + after;
  const caret = (before + lead + text).length;
  els.question.setSelectionRange(caret, caret);
}

function onEnd(session) {
  // Words still being guessed when it ended are dropped; what was settled stays.
  if (!session.detached) write(session, session.final);
  session.detached = true;
  if (current !== session) return;
  current = null;
  if (!session.stopping) showListening(false);
}

function showListening(on) {
  ui.button.setAttribute("aria-pressed", String(on));
  ui.status.hidden = !on;
  let first = false;
  try {
    first = on && !localStorage.getItem(NOTED);
    if (first) localStorage.setItem(NOTED, "1");
  } catch {
    // No storage (a private window's rules): the note is on the button still.
  }
  ui.note.hidden = !first;
  announce(on ? gettext("Listening…") + (first ? ` ${whereNote()}` : "") : gettext("Stopped listening."));
}

/** Newer Chrome can turn speech into text on the device
 *  (SpeechRecognition.available / processLocally): used, and said, where its
 *  language is already installed; else the maker's service, as the note says. */
async function checkOnDevice(SR) {
  if (typeof SR.available !== "function") return;
  try {
    onDevice = (await SR.available({ langs: [speechLang()], processLocally: true })) === "available";
  } catch {
    onDevice = false;
  }
  ui.button.title = whereNote();
  ui.note.textContent = whereNote();
}

function onKey(e) {
  if (e.key !== "Escape" || !listening()) return;
  // Only the dictation stops: not also an answer streaming in (composer.js).
  e.stopPropagation();
  e.preventDefault();
  stopDictation();
}

export function initVoice() {
  addEventListener("pagehide", stopReading);
  const SR = Recognition();
  if (typeof SR !== "function") return; // no recognition here: no button at all
  const button = document.createElement("button");
  button.type = "button";
  button.id = "dictate";
  button.className = "dictate";
  button.innerHTML = MIC;
  button.setAttribute("aria-label", gettext("Dictate"));
  button.setAttribute("aria-pressed", "false");
  button.title = whereNote();
  button.addEventListener("click", () => (listening() ? stopDictation() : start()));
  // Under the box, not beside the button: the bar would wrap when it shows.
  const status = document.createElement("p");
  status.className = "dictate-status";
  status.hidden = true;
  const label = document.createElement("strong");
  label.textContent = gettext("Listening…");
  const note = document.createElement("span");
  note.className = "dictate-note";
  note.textContent = whereNote();
  status.append(label, " ", note);
  Object.assign(ui, { button, status, note });
  // Beside the box, as in a messenger (the bar below has no room left for it
  // at common widths): the two in a row of their own.
  const row = document.createElement("div");
  row.className = "question-row";
  els.question.replaceWith(row);
  row.append(els.question, button);
  row.after(status);
  // Typing takes over: what was heard so far stays, nothing more is added.
  const letGo = () => {
    if (!current) return;
    const typing = listening();
    current.detached = true;
    current.recognition.abort();
    current = null;
    if (typing) showListening(false);
  };
  els.question.addEventListener("input", letGo);
  // Sent: the microphone stops, and nothing heard later writes the question back.
  els.composer.addEventListener("submit", letGo, true);
  document.addEventListener("keydown", onKey, true);
  checkOnDevice(SR);
}
