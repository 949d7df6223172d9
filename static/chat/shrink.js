// Shrink a big photo in the page before it is uploaded: on a phone's uplink a
// 12 MP JPEG is seconds of waiting, and nothing above the "high" size ever
// reaches the model. The server still decodes, checks, strips and re-encodes
// whatever arrives, and decides photo (JPEG) or line art and transparency (PNG).
import { boot } from "./state.js";

// What browsers decode themselves and can write back smaller. (A WEBP would
// come back as a bigger PNG; HEIC and the rest go up as they are.)
const SHRINKABLE = { "image/jpeg": "image/jpeg", "image/png": "image/png" };

// The server's "high" size (chat/images.py target_size): within the token
// budget, sides in whole patches, at most maxAspect:1. Null when the photo is
// no bigger, or so long and thin that the server should judge it whole.
export function highSize(width, height) {
  const { patch, highTokens, maxSide, maxAspect } = boot.photoLimits;
  const scale = Math.min(
    Math.sqrt((highTokens * patch * patch) / (width * height)),
    maxSide / Math.max(width, height),
  );
  if (scale >= 1 || Math.max(width, height) > maxAspect * Math.min(width, height)) return null;
  const side = (n) => Math.floor(Math.floor(n * scale + 1e-6) / patch) * patch;
  let [w, h] = [side(width), side(height)];
  if (Math.min(w, h) < patch) return null;
  const longest = Math.floor((Math.min(w, h) * maxAspect) / patch) * patch;
  if (w >= h) w = Math.min(w, longest);
  else h = Math.min(h, longest);
  return [w, h];
}

export async function shrinkForUpload(file) {
  const type = SHRINKABLE[file.type];
  if (!type || !window.createImageBitmap || !window.OffscreenCanvas) return file;
  let bitmap;
  try {
    // Turned upright from its EXIF here: the canvas keeps no EXIF to turn it by later.
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return file; // the server explains what is wrong with it
  }
  try {
    const size = highSize(bitmap.width, bitmap.height);
    if (!size) return file;
    const canvas = new OffscreenCanvas(...size);
    const context = canvas.getContext("2d");
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, ...size);
    const blob = await canvas.convertToBlob({ type, quality: 0.92 });
    return blob.size < file.size ? new File([blob], file.name, { type }) : file;
  } catch {
    return file;
  } finally {
    bitmap.close();
  }
}
