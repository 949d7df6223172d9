// "Find it" under a photo: ask the model where something is in it. A small
// form opens in place for what to find; the ask names that one photo and
// "find", and the server writes the prompt. Shown only while the model picked
// sees photos (app.css hides it on <body data-vision="false">).
import { gettext, interpolate } from "./i18n.js";

// Given by composer.js, which sends asks: it imports the photos module, which
// builds these, so importing it here would make a cycle.
let ask = null;

export function setFindHandler(handler) {
  ask = handler;
}

const MAX_LENGTH = 200;

/** The "Find it" button for `image` (a photo's JSON: id, …), named after
 *  `name` for screen readers when there are several. */
export function findIt(image, name) {
  const box = document.createElement("div");
  box.className = "find-it";
  const open = document.createElement("button");
  open.type = "button";
  open.className = "link";
  // Translators: a button under a photo: ask the model where something is in it.
  open.textContent = gettext("Find it");
  open.setAttribute("aria-label", interpolate(gettext("Find it in %(photo)s"), { photo: name }));
  open.addEventListener("click", () => {
    open.hidden = true;
    box.append(findForm(image, name, () => {
      open.hidden = false;
      open.focus();
    }));
  });
  box.append(open);
  return box;
}

function findForm(image, name, closed) {
  // Not a <form>: the composer is one already, and forms don't nest.
  const form = document.createElement("div");
  form.className = "find-form";
  form.setAttribute("role", "group");
  form.setAttribute("aria-label", interpolate(gettext("Find something in %(photo)s"), { photo: name }));
  const input = document.createElement("input");
  input.type = "text";
  input.maxLength = MAX_LENGTH;
  input.placeholder = gettext("What to find, e.g. the keys");
  input.setAttribute("aria-label", gettext("What to find"));
  input.enterKeyHint = "search";
  const go = document.createElement("button");
  go.type = "button";
  // Translators: the button that asks the model where the thing typed is.
  go.textContent = gettext("Find");
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = "×";
  cancel.setAttribute("aria-label", gettext("Cancel finding"));
  const close = () => {
    form.remove();
    closed();
  };
  const submit = () => {
    const what = input.value.trim();
    if (!what) {
      input.focus();
      return;
    }
    close();
    ask(image, what);
  };
  go.addEventListener("click", submit);
  cancel.addEventListener("click", close);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.isComposing) {
      e.preventDefault(); // not the composer's submit
      submit();
    } else if (e.key === "Escape") {
      e.stopPropagation();
      close();
    }
  });
  form.append(input, go, cancel);
  queueMicrotask(() => input.focus());
  return form;
}
