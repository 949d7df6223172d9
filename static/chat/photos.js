// Photos: pick, take, drop or paste them; upload with progress; what they will cost.
import { shrinkForUpload } from "./shrink.js";
import { $, boot, csrfToken, currentModel, els, hideError, shortName, showError, state } from "./state.js";

export function checkVision() {
  const model = currentModel();
  if (model && !model.vision && state.photos.length) {
    showError(`${shortName(model)} can't see photos. Remove the photos, or:`);
    const seeing = boot.models.find((m) => m.vision && m.available);
    if (seeing) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `Use ${shortName(seeing)}`;
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
  const item = { key: crypto.randomUUID(), id: null, uploading: true };
  const li = document.createElement("li");
  li.className = "preview uploading";
  const img = document.createElement("img");
  img.alt = name;
  img.src = src;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "remove";
  remove.setAttribute("aria-label", `Remove ${name}`);
  remove.textContent = "×";
  remove.addEventListener("click", () => {
    state.photos = state.photos.filter((p) => p !== item);
    li.remove();
    checkVision();
    updateEstimate();
  });
  li.append(img, remove);
  item.el = li;
  state.photos.push(item);
  els.previews.append(li);
  return { item, li, img };
}

// A photo already on the server (Edit & resend): no upload, just the preview.
export function addSavedPhoto(image) {
  const { item, li } = preview("Your photo", image.thumbnail_url);
  item.id = image.id;
  item.tokens = image.visual_tokens;
  item.uploading = false;
  li.classList.remove("uploading");
  li.dataset.imageId = image.id;
}

async function addPhoto(file) {
  if (state.photos.length >= boot.maxImages) {
    showError(`At most ${boot.maxImages} photos per question.`);
    return;
  }
  const { item, li, img } = preview(file.name, URL.createObjectURL(file));
  checkVision();

  const progress = document.createElement("progress");
  progress.max = 100;
  progress.value = 0;
  progress.setAttribute("aria-label", `Uploading ${file.name}`);
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
    showError(`${file.name}: ${message}`);
    updateEstimate();
    setTimeout(() => li.remove(), 4000);
  };
  xhr.addEventListener("load", () => {
    const data = xhr.response || {};
    if (xhr.status !== 201) {
      rejected(data.error ? data.error.message : "Upload failed. Try again.");
      return;
    }
    item.id = data.id;
    item.tokens = data.visual_tokens;
    // The server's thumbnail: upright, and shown even for HEIC, which browsers can't.
    URL.revokeObjectURL(img.src);
    img.src = data.thumbnail_url;
    item.uploading = false;
    progress.remove();
    li.classList.remove("uploading");
    li.dataset.imageId = data.id;
    updateEstimate();
  });
  xhr.addEventListener("error", () => rejected("Upload failed. Check your connection."));
  xhr.send(body);
}

export function updateEstimate() {
  const detail = els.detail.value;
  const ready = state.photos.filter((p) => p.tokens);
  if (!ready.length) {
    els.estimate.hidden = true;
    return;
  }
  const tokens = ready.reduce((sum, p) => sum + p.tokens[detail], 0);
  const model = currentModel();
  let text = `Photos: about ${tokens.toLocaleString()} tokens`;
  if (model && model.price_input_per_m != null) {
    const cost = (tokens * model.price_input_per_m) / 1e6;
    text += cost === 0 ? " · free" : ` · about $${cost.toFixed(cost < 0.01 ? 4 : 2)}`;
  } else {
    text += " · price not known for this model";
  }
  els.estimate.textContent = text;
  els.estimate.hidden = false;
}

function addFiles(files) {
  for (const file of files) {
    if (file.type && !file.type.startsWith("image/") && !/\.(heic|heif|avif)$/i.test(file.name)) {
      showError(`${file.name}: this file isn't a photo we can read.`);
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
