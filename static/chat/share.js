// The Share dialog: move the conversation into a team (or back), public
// read-only links (make, copy, revoke), a copy of one's own, downloads.
// And the space picker in the sidebar.
import { formatDateTime, gettext, interpolate } from "./i18n.js";
import { $, api, boot, state } from "./state.js";

// Looked up by initShare(), not at import: importing a module never touches the page.
let dialog = null;
let error = null;

async function call(method, url, body) {
  const res = await api(method, url, body);
  error.textContent = res.ok ? "" : res.message;
  error.hidden = res.ok;
  return res.ok ? res.data : null;
}

const base = () => `/api/conversations/${state.conversationId}`;

function linkRow(link) {
  const li = document.createElement("li");
  const input = document.createElement("input");
  input.className = "invite-url";
  input.dir = "ltr"; // an address reads left to right, in Arabic too
  input.readOnly = true;
  input.value = link.url;
  input.setAttribute("aria-label", gettext("Public link"));
  const when = document.createElement("span");
  when.className = "muted";
  when.textContent = link.active
    // Translators: how long a public link works: "until <date and time>", or "until revoked".
    ? (link.expires_at ? interpolate(gettext("until %(date)s"), { date: formatDateTime(link.expires_at) }) : gettext("until revoked"))
    // Translators: a public link that no longer works: revoked by hand, or past its date.
    : (link.revoked ? gettext("revoked") : gettext("expired"));
  li.append(input, when);
  if (link.active) {
    const copy = document.createElement("button");
    copy.type = "button";
    // Translators: a button that copies the link to the clipboard.
    copy.textContent = gettext("Copy");
    copy.addEventListener("click", async () => {
      await navigator.clipboard.writeText(link.url).catch(() => input.select());
      copy.textContent = gettext("Copied");
    });
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "danger";
    revoke.textContent = gettext("Revoke");
    revoke.addEventListener("click", async () => {
      if (await call("DELETE", `/api/links/${link.id}/`)) loadLinks();
    });
    li.append(copy, revoke);
  }
  return li;
}

async function loadLinks() {
  const data = await call("GET", `${base()}/links/`);
  if (data) $("share-links").replaceChildren(...data.links.map(linkRow));
}

async function move(team) {
  const data = await call("PATCH", `${base()}/`, { team });
  if (data) location.reload(); // the sidebar and the space change with it
}

function fillDialog() {
  const inTeam = Boolean(boot.space);
  $("share-team-state").textContent = inTeam
    ? interpolate(gettext("Shared with everyone in %(team)s."), { team: boot.spaceName })
    : gettext("Only you can see it.");
  if (inTeam) $("share-team-select").value = boot.space;
  $("share-team-personal").hidden = !inTeam;
  $("export-zip").href = `${base()}/export.zip`;
  $("export-json").href = `${base()}/export.json`;
  // A conversation started on this page is the person's own; otherwise the server said.
  const manage = boot.canManage || !boot.conversationId;
  for (const id of ["share-team-move", "share-team-personal", "share-link-create"]) {
    $(id).disabled = !manage;
    $(id).title = manage ? "" : gettext("Only the person who started it, or the team's owners and admins");
  }
  if (!boot.teams.length) $("share-team-move").disabled = true;
}

export function initShare() {
  dialog = $("share-dialog");
  error = $("share-error");
  const space = $("space");
  space.addEventListener("change", () => {
    location.href = space.value ? `/?space=${encodeURIComponent(space.value)}` : "/";
  });
  $("share-button").addEventListener("click", () => {
    fillDialog();
    dialog.showModal();
    loadLinks();
  });
  $("share-team-move").addEventListener("click", () => move($("share-team-select").value || null));
  $("share-team-personal").addEventListener("click", () => move(null));
  $("share-link-create").addEventListener("click", async () => {
    const days = $("share-link-days").value;
    const link = await call("POST", `${base()}/links/`, { days: days ? Number(days) : null });
    if (link) loadLinks();
  });
  $("share-fork").addEventListener("click", async () => {
    const copy = await call("POST", `${base()}/fork/`);
    if (copy) location.href = copy.url;
  });
}

// A conversation was just created on this page: it can be shared now.
export function showShareButton() {
  $("share-button").hidden = false;
}
