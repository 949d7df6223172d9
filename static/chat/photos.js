// Photos: pick, take, drop or paste them; upload with progress; the regions
// marked on them (a tap on a preview opens the viewer to draw); what they cost.
import { findIt } from "./find.js";
import { formatNumber, formatNumbers, gettext, interpolate, ngettext } from "./i18n.js";
import { drawMarks, layerOf, photoFrame, shapeFrame } from "./overlay.js";
import { MAX_PER_QUESTION, firstNumber, regionEditor, regionMarks, regionTokens } from "./regions.js";
import { shrinkForUpload } from "./shrink.js";
import { $, boot, csrfToken, currentModel, els, hideError, shortName, showError, state } from "./state.js";
import { openViewer } from "./viewer.js";

// The stored photo, as large as the server keeps it: the viewer's picture.
export const fullUrl = (image) => `${image.thumbnail_url}?size=full`;

export function checkVision() {
  const model = currentModel();
  if (model && !model.vision && state.photos.length) {
    showError(interpolate(gettext("%(model)s can't see photos. Remove the photos, or:"), { model: shortName(model) }));
    const seeing = boot.models.find((m) => m.vision && m.available);
    if (seeing) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = interpolate(gettext("Use %(model)s"), { model: shortName(seeing) });
      button.addEventListener("click", () => {
        els.model.value = seeing.id;
        els.model.dispatchEvent(new Event("change"));
      });
      els.error.append(button);
    }
    return false;
  }
  hideError();
  return true;
}

function preview(name, src) {
  const item = { key: crypto.randomUUID(), id: null, uploading: true, name, regions: [] };
  const li = document.createElement("li");
  li.className = "preview uploading";
  const img = document.createElement("img");
  img.alt = "";
  img.src = src;
  // Marking regions needs the photo on the server: its size, its full picture.
  const open = document.createElement("button");
  open.type = "button";
  open.className = "photo-open";
  open.disabled = true;
  open.setAttribute("aria-label", name);
  open.append(img);
  open.addEventListener("click", () => markRegions(item));
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "remove";
  remove.setAttribute("aria-label", interpolate(gettext("Remove %(photo)s"), { photo: name }));
  remove.textContent = "×";
  remove.addEventListener("click", () => {
    state.photos = state.photos.filter((p) => p !== item);
    li.remove();
    checkVision();
    showRegions(); // the others' numbers change
  });
  // The region numbers lie over the button, not in it: its name says them.
  // The × sits on the photo's corner, wherever Find it's form widens the item.
  const corner = document.createElement("span");
  corner.className = "preview-photo";
  corner.append(photoFrame(open), remove);
  li.append(corner);
  item.el = li;
  state.photos.push(item);
  els.previews.append(li);
  return { item, li, img };
}

/** The photo is on the server: it can be marked, found in, and counted. */
function ready(item, image) {
  item.id = image.id;
  item.image = image;
  item.tokens = image.visual_tokens;
  item.uploading = false;
  item.el.classList.remove("uploading");
  item.el.dataset.imageId = image.id;
  item.el.querySelector(".photo-open").disabled = false;
  shapeFrame(item.el.querySelector(".photo-frame"), image);
  item.el.append(findIt(image, item.name));
  showRegions();
}

function editor(item) {
  const others = state.photos.reduce((n, p) => n + (p === item ? 0 : p.regions.length), 0);
  return regionEditor(item, {
    first: firstNumber(state.photos, item),
    room: MAX_PER_QUESTION - others,
    onChange: showRegions,
  });
}

function markRegions(item) {
  openViewer({ src: fullUrl(item.image), alt: item.name, draw: editor(item) });
}

/** Every preview's regions, numbered across the question; and the estimate. */
function showRegions() {
  for (const item of state.photos) {
    const first = firstNumber(state.photos, item);
    drawMarks(layerOf(item.el), regionMarks(item.regions, first));
    const count = item.regions.length;
    const label = count
      ? interpolate(
        ngettext("%(photo)s, region %(regions)s marked: mark a part of it", "%(photo)s, regions %(regions)s marked: mark a part of it", count),
        { photo: item.name, regions: formatNumbers(item.regions.map((_, i) => first + i)) },
      )
      : interpolate(gettext("%(photo)s: mark a part of it"), { photo: item.name });
    item.el.querySelector(".photo-open").setAttribute("aria-label", label);
  }
  updateEstimate();
}

/** A photo from the conversation, put (back) in the composer: by Edit &
 *  resend with its regions ([{box}]), or by "Ask about a part" in the viewer. */
export function addSavedPhoto(image, regions = []) {
  const { item } = preview(gettext("Your photo"), image.thumbnail_url);
  item.regions = regions.map((r) => [...r.box]);
  ready(item, image);
  return item;
}

/** "Ask about a part" of a photo in the conversation: the photo joins the
 *  composer (once), and the viewer draws its regions there. */
export function drawOnSaved(image) {
  let item = state.photos.find((p) => p.id === image.id);
  if (!item) {
    if (state.photos.length >= boot.maxImages) {
      showError(tooMany());
      return null;
    }
    item = addSavedPhoto(image);
    checkVision();
  }
  return editor(item);
}

const tooMany = () => interpolate(
  ngettext("At most %(count)s photo per question.", "At most %(count)s photos per question.", boot.maxImages),
  { count: formatNumber(boot.maxImages) },
);

/** Photos shared from the phone's share sheet, already uploaded: in the box,
 *  as if just added, with the text that came along (chat/web/share_target.py). */
export function attachShared() {
  for (const image of boot.attached.slice(0, boot.maxImages)) addSavedPhoto(image);
  if (boot.prefill && !els.question.value) els.question.value = boot.prefill;
  if (state.photos.length) checkVision();
}

async function addPhoto(file) {
  if (state.photos.length >= boot.maxImages) {
    showError(tooMany());
    return;
  }
  const { item, li, img } = preview(file.name, URL.createObjectURL(file));
  checkVision();

  const progress = document.createElement("progress");
  progress.max = 100;
  progress.value = 0;
  progress.setAttribute("aria-label", interpolate(gettext("Uploading %(file)s"), { file: file.name }));
  li.append(progress);

  const upload = await shrinkForUpload(file);
  const body = new FormData();
  body.append("file", upload);
  const xhr = new XMLHttpRequest(); // fetch cannot report upload progress
  xhr.open("POST", "/api/images/");
  xhr.setRequestHeader("X-CSRFToken", csrfToken());
  xhr.responseType = "json";
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
  });
  const rejected = (message) => {
    state.photos = state.photos.filter((p) => p !== item);
    li.classList.remove("uploading");
    li.classList.add("rejected");
    li.title = message;
    // Translators: a photo's file name, and what is wrong with it.
    showError(interpolate(gettext("%(file)s: %(problem)s"), { file: file.name, problem: message }));
    updateEstimate();
    setTimeout(() => li.remove(), 4000);
  };
  xhr.addEventListener("load", () => {
    const data = xhr.response || {};
    if (xhr.status !== 201) {
      rejected(data.error ? data.error.message : gettext("Upload failed. Try again."));
      return;
    }
    // The server's thumbnail: upright, and shown even for HEIC, which browsers can't.
    URL.revokeObjectURL(img.src);
    img.src = data.thumbnail_url;
    progress.remove();
    ready(item, data);
  });
  xhr.addEventListener("error", () => rejected(gettext("Upload failed. Check your connection.")));
  xhr.send(body);
}

export function updateEstimate() {
  const detail = els.detail.value;
  const uploaded = state.photos.filter((p) => p.tokens);
  if (!uploaded.length) {
    els.estimate.hidden = true;
    return;
  }
  // Each region is sent as well, as a close-up at the "high" detail.
  const tokens = uploaded.reduce((sum, p) => sum + p.tokens[detail], 0) + regionTokens(uploaded);
  const regions = uploaded.reduce((n, p) => n + p.regions.length, 0);
  const model = currentModel();
  const what = regions
    ? interpolate(ngettext("Photos and %(count)s region", "Photos and %(count)s regions", regions), { count: formatNumber(regions) })
    : gettext("Photos");
  const parts = [
    // Translators: %(what)s is "Photos" or "Photos and 2 regions"; what sending them costs in tokens.
    interpolate(ngettext("%(what)s: about %(tokens)s token", "%(what)s: about %(tokens)s tokens", tokens), { what, tokens: formatNumber(tokens) }),
  ];
  if (model && model.price_input_per_m != null) {
    const cost = (tokens * model.price_input_per_m) / 1e6;
    const digits = cost < 0.01 ? 4 : 2; // a fraction of a cent still shows
    const price = formatNumber(cost, { style: "currency", currency: "USD", minimumFractionDigits: digits, maximumFractionDigits: digits });
    // Translators: the photos cost nothing to send with this model.
    parts.push(cost === 0 ? gettext("free") : interpolate(gettext("about %(cost)s"), { cost: price }));
  } else {
    parts.push(gettext("price not known for this model"));
  }
  els.estimate.textContent = parts.join(" · ");
  els.estimate.hidden = false;
}

function addFiles(files) {
  for (const file of files) {
    if (file.type && !file.type.startsWith("image/") && !/\.(heic|heif|avif)$/i.test(file.name)) {
      showError(interpolate(gettext("%(file)s: this file isn't a photo we can read."), { file: file.name }));
      continue;
    }
    addPhoto(file);
  }
}

export function initPhotos() {
  els.photoInput.addEventListener("change", () => {
    addFiles(els.photoInput.files);
    els.photoInput.value = "";
  });
  // Drop photos anywhere on the conversation; paste them from the clipboard.
  const dropZone = document.querySelector(".chat");
  dropZone.addEventListener("dragover", (e) => {
    if (![...e.dataTransfer.types].includes("Files")) return;
    e.preventDefault();
    dropZone.classList.add("dropping");
  });
  dropZone.addEventListener("dragleave", (e) => {
    if (!dropZone.contains(e.relatedTarget)) dropZone.classList.remove("dropping");
  });
  dropZone.addEventListener("drop", (e) => {
    e.preventDefault();
    dropZone.classList.remove("dropping");
    addFiles(e.dataTransfer.files);
  });
  document.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData ? e.clipboardData.files : [])];
    if (!files.length) return;
    e.preventDefault();
    addFiles(files);
  });
  $("camera-input").addEventListener("change", (e) => {
    addFiles(e.target.files);
    e.target.value = "";
  });
}
