// The conversation sidebar: the list (latest activity first), search, rename in
// place, and delete with undo. Titles are untrusted: they reach the page through
// textContent and attributes only, never as HTML.
import { formatNumber, gettext, interpolate, ngettext } from "./i18n.js";
import { $, api, boot, els, state } from "./state.js";

const UNDO_MS = 8000;
const RESTORED_MS = 3000;
const SEARCH_DELAY_MS = 200;
const TITLE_LIMIT = 200; // as the server's (services.TITLE_LIMIT)

// Looked up by initSidebar(), not at import: importing a module never touches the page.
let search = null;
let searchStatus = null;
let toast = null;
let rowTemplate = null;

let listRequest = 0; // the latest list request: an older answer never overwrites a newer one
let searchTimer = null;
let editing = null; // the rename in progress: {li, form, input, error, old, saving}
let refreshWanted = false; // a refresh held back while a title is being typed
const deleted = new Set(); // ids deleted from this page: never shown again unless undone
let current = null; // the toast on show: {undo, timer, remaining, since}
let goHome = false; // the open conversation was deleted for good: leave once the toast goes

const detailUrl = (id) => `/api/conversations/${encodeURIComponent(id)}/`;

// ---- the list ----------------------------------------------------------------------

/** Re-render the list from the server (with the search, if any), marking and titling
 *  the conversation open in the page. */
export async function refreshList() {
  if (editing) {
    refreshWanted = true; // re-rendering now would throw away what is being typed
    return;
  }
  const request = ++listRequest;
  const q = search.value.trim();
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (boot.space) params.set("space", boot.space); // the space the page is in: personal or a team
  const res = await api("GET", `/api/conversations/?${params}`);
  if (request !== listRequest) return;
  if (!res.ok) {
    if (q) searchStatus.textContent = res.message;
    return;
  }
  if (editing) {
    refreshWanted = true;
    return;
  }
  render(res.data.conversations, q);
}

function render(conversations, q) {
  const shown = conversations.filter((c) => !deleted.has(c.id));
  const focus = focusedControl();
  els.list.replaceChildren(...shown.map(rowFor));
  if (!shown.length) els.list.append(emptyItem(q ? gettext("No matches") : gettext("No conversations yet.")));
  if (q) {
    searchStatus.textContent = shown.length
      ? interpolate(ngettext("%(count)s match", "%(count)s matches", shown.length), { count: formatNumber(shown.length) })
      : gettext("No matches");
  }
  else searchStatus.textContent = "";
  const open = shown.find((c) => c.id === state.conversationId);
  if (open) showTitle(open.title);
  if (focus) refocus(focus);
}

function rowFor(c) {
  const li = rowTemplate.content.firstElementChild.cloneNode(true);
  li.dataset.id = c.id;
  const link = li.querySelector("a");
  link.href = c.url;
  link.dataset.id = c.id;
  if (c.id === state.conversationId) link.setAttribute("aria-current", "page");
  setRowTitle(li, c.title);
  return li;
}

function setRowTitle(li, title) {
  li.querySelector("a").textContent = title;
  li.querySelector(".rename").setAttribute("aria-label", interpolate(gettext("Rename “%(title)s”"), { title }));
  li.querySelector(".delete").setAttribute("aria-label", interpolate(gettext("Delete “%(title)s”"), { title }));
}

function emptyItem(text) {
  const li = document.createElement("li");
  li.className = "muted empty-list";
  li.textContent = text;
  return li;
}

function showTitle(title) {
  els.title.textContent = title;
  document.title = `${title} · VisionQA`;
}

const rows = () => [...els.list.querySelectorAll(".conversation-row")];
const rowById = (id) => rows().find((li) => li.dataset.id === id);

// A re-render must not drop the keyboard user's place.
function focusedControl() {
  const active = document.activeElement;
  const li = active && els.list.contains(active) ? active.closest(".conversation-row") : null;
  if (!li) return null;
  return { id: li.dataset.id, kind: active.matches(".rename") ? ".rename" : active.matches(".delete") ? ".delete" : "a" };
}

function refocus({ id, kind }) {
  const li = rowById(id);
  if (li) li.querySelector(kind).focus();
  else search.focus();
}

// ---- search ------------------------------------------------------------------------

function onSearchInput() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(refreshList, SEARCH_DELAY_MS);
}

function onSearchKey(e) {
  if (e.key === "Escape" && search.value) {
    e.preventDefault();
    search.value = "";
    clearTimeout(searchTimer);
    refreshList();
  }
}

// ---- rename ------------------------------------------------------------------------

function startRename(li) {
  if (editing) endRename(false);
  const link = li.querySelector("a");
  const old = link.textContent;
  const form = document.createElement("form");
  form.className = "rename-form";
  form.noValidate = true;
  const input = document.createElement("input");
  input.type = "text";
  input.value = old;
  input.autocomplete = "off";
  input.enterKeyHint = "done";
  // Translators: Enter and Esc are the keys' names, as printed on keyboards.
  input.setAttribute("aria-label", interpolate(gettext("New title for “%(title)s” (Enter saves, Esc cancels)"), { title: old }));
  const error = document.createElement("p");
  error.className = "row-error";
  error.id = `rename-error-${li.dataset.id}`;
  error.setAttribute("role", "alert");
  error.hidden = true;
  input.setAttribute("aria-describedby", error.id);
  form.append(input, error);
  link.hidden = true;
  li.querySelector(".row-actions").hidden = true;
  li.classList.add("editing");
  link.after(form);
  const edit = { li, form, input, error, old, saving: false };
  editing = edit;

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    saveRename(edit);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      endRename(true);
    }
  });
  // Clicking away keeps a good title and drops anything else.
  input.addEventListener("blur", () => {
    if (editing !== edit || edit.saving) return;
    if (titleProblem(tidy(input.value)) || tidy(input.value) === old) endRename(false);
    else saveRename(edit);
  });
  input.focus();
  input.select();
}

const tidy = (text) => text.split(/\s+/).filter(Boolean).join(" ");

function titleProblem(title) {
  if (!title) return gettext("A title can't be empty. Type a name for it.");
  const length = Array.from(title).length;
  if (length > TITLE_LIMIT) {
    return interpolate(
      ngettext(
        "A title can be at most %(limit)s character; this one has %(length)s.",
        "A title can be at most %(limit)s characters; this one has %(length)s.",
        TITLE_LIMIT,
      ),
      { limit: formatNumber(TITLE_LIMIT), length: formatNumber(length) },
    );
  }
  return null;
}

async function saveRename(edit) {
  if (editing !== edit || edit.saving) return;
  const title = tidy(edit.input.value);
  const problem = titleProblem(title);
  if (problem) {
    renameError(edit, problem);
    return;
  }
  if (title === edit.old) {
    endRename(true);
    return;
  }
  edit.saving = true;
  edit.input.readOnly = true;
  const res = await api("PATCH", detailUrl(edit.li.dataset.id), { title });
  edit.saving = false;
  edit.input.readOnly = false;
  if (editing !== edit) return;
  if (!res.ok) {
    renameError(edit, res.status === 404 ? gettext("This conversation no longer exists.") : res.message);
    return;
  }
  setRowTitle(edit.li, res.data.title);
  if (edit.li.dataset.id === state.conversationId) showTitle(res.data.title);
  endRename(edit.form.contains(document.activeElement));
}

function renameError(edit, message) {
  edit.error.textContent = message;
  edit.error.hidden = false;
  edit.input.setAttribute("aria-invalid", "true");
  if (document.activeElement !== edit.input && edit.li.isConnected) edit.input.focus();
}

function endRename(keepFocus) {
  const edit = editing;
  if (!edit) return;
  editing = null;
  edit.form.remove();
  edit.li.classList.remove("editing");
  edit.li.querySelector("a").hidden = false;
  edit.li.querySelector(".row-actions").hidden = false;
  if (keepFocus) edit.li.querySelector("a").focus();
  if (refreshWanted) {
    refreshWanted = false;
    refreshList();
  }
}

// ---- delete and undo ---------------------------------------------------------------

async function deleteRow(li) {
  const id = li.dataset.id;
  const wasCurrent = id === state.conversationId;
  const hadFocus = li.contains(document.activeElement);
  const next = li.nextElementSibling || li.previousElementSibling;
  deleted.add(id);
  li.remove(); // at once; the server catches up
  if (!rows().length) els.list.append(emptyItem(search.value.trim() ? gettext("No matches") : gettext("No conversations yet.")));
  if (hadFocus) (next && next.matches(".conversation-row") ? next.querySelector("a") : search).focus();
  const res = await api("DELETE", detailUrl(id));
  if (!res.ok && res.status !== 404) {
    deleted.delete(id);
    // Translators: %(reason)s is the server's explanation, already translated.
    showToast(interpolate(gettext("Could not delete the conversation. %(reason)s"), { reason: res.message }));
    refreshList();
    return;
  }
  if (res.ok) showToast(gettext("Conversation deleted."), { id, wasCurrent });
}

async function undoDelete(undo) {
  if (current && current.undo === undo) {
    current.undo = null; // the window must not run out while the restore is on its way
    pauseToast();
  }
  const res = await api("PATCH", detailUrl(undo.id), { deleted: false });
  if (!res.ok) {
    if (undo.wasCurrent) goHome = true;
    // Translators: %(reason)s is the server's explanation, already translated.
    showToast(interpolate(gettext("Could not undo. %(reason)s"), { reason: res.message }));
    return;
  }
  deleted.delete(undo.id);
  showToast(gettext("Conversation restored."), null, RESTORED_MS);
  await refreshList();
  const li = rowById(undo.id);
  if (li) li.querySelector("a").focus();
}

function showToast(text, undo = null, ms = UNDO_MS) {
  if (current) settle(current);
  const message = document.createElement("span");
  message.className = "toast-text";
  message.textContent = text;
  const parts = [message];
  if (undo) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "toast-undo";
    button.textContent = gettext("Undo");
    button.addEventListener("click", () => undoDelete(undo), { once: true });
    parts.push(button);
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "icon-button toast-close";
  close.setAttribute("aria-label", gettext("Dismiss"));
  close.title = gettext("Dismiss");
  close.textContent = "×";
  close.addEventListener("click", closeToast);
  parts.push(close);
  toast.replaceChildren(...parts);
  current = { undo, timer: null, remaining: ms, since: 0 };
  if (!toast.matches(":hover, :focus-within")) resumeToast();
}

// The window to undo does not run out while the pointer or the keyboard is on the toast.
function pauseToast() {
  if (!current || current.timer === null) return;
  clearTimeout(current.timer);
  current.timer = null;
  current.remaining = Math.max(2000, current.remaining - (Date.now() - current.since));
}

function resumeToast() {
  if (!current || current.timer !== null) return;
  current.since = Date.now();
  current.timer = setTimeout(closeToast, current.remaining);
}

function settle(t) {
  clearTimeout(t.timer);
  if (t.undo && t.undo.wasCurrent) goHome = true;
}

function closeToast() {
  const t = current;
  if (!t) return;
  const hadFocus = toast.contains(document.activeElement);
  settle(t);
  current = null;
  toast.replaceChildren();
  if (goHome) {
    location.assign("/"); // the open conversation is gone: start a new one
    return;
  }
  if (hadFocus) (rows()[0]?.querySelector("a") || search).focus();
}

// ---- wiring ------------------------------------------------------------------------

export function initSidebar() {
  search = $("conversation-search");
  searchStatus = $("search-status");
  toast = $("sidebar-toast");
  rowTemplate = $("conversation-row");
  search.addEventListener("input", onSearchInput);
  search.addEventListener("keydown", onSearchKey);
  els.list.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    const li = button && button.closest(".conversation-row");
    if (!li || !els.list.contains(li)) return;
    if (button.classList.contains("rename")) startRename(li);
    else if (button.classList.contains("delete")) deleteRow(li);
  });
  toast.addEventListener("pointerenter", pauseToast);
  toast.addEventListener("pointerleave", () => {
    if (!toast.contains(document.activeElement)) resumeToast();
  });
  toast.addEventListener("focusin", pauseToast);
  toast.addEventListener("focusout", (e) => {
    if (!toast.contains(e.relatedTarget) && !toast.matches(":hover")) resumeToast();
  });
  // Back to this page from the browser's cache: the list may have changed meanwhile.
  window.addEventListener("pageshow", (e) => {
    if (e.persisted) refreshList();
  });
}
