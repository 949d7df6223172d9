// A question's photos, as thumbnails, whole (not cropped: the regions marked
// on them are drawn over them): the same in the app and on shared pages.
// Each opens in the full-screen viewer.
import { drawMarks, layerOf, photoFrame } from "./overlay.js";
import { savedMarks } from "./regions.js";
import { openViewer } from "./viewer.js";

/** `regions`: the question's ([{n, image, box}]); `full(image)`: the photo's
 *  full-size address; `below(image, name)`: what goes under a photo (Find it);
 *  `onAsk(image)`: what "Ask about a part" in the viewer starts, if anything. */
export function photoRow(images, alt, { regions = [], full, below = null, onAsk = null }) {
  const row = document.createElement("div");
  row.className = "photos";
  images.forEach((image, i) => {
    const name = images.length > 1 ? `${alt} ${i + 1}` : alt;
    const marks = savedMarks(regions, image.id);
    const img = document.createElement("img");
    img.src = image.thumbnail_url;
    img.alt = "";
    img.loading = "lazy";
    // The marks lie over the button, not in it: its name says what they show.
    const open = document.createElement("button");
    open.type = "button";
    open.className = "photo-open";
    const marked = marks.length === 1 ? ", region 1 marked" : marks.length ? `, regions ${marks.map((m) => m.label).join(", ")} marked` : "";
    open.setAttribute("aria-label", `${name}${marked}: show full screen`);
    open.append(img);
    const frame = photoFrame(open, image);
    drawMarks(layerOf(frame), marks);
    open.addEventListener("click", () => openViewer({
      src: full(image),
      alt: name,
      marks,
      onAsk: onAsk && (() => onAsk(image)),
    }));
    const figure = document.createElement("figure");
    figure.className = "photo";
    figure.append(frame);
    if (below) figure.append(below(image, name));
    row.append(figure);
  });
  return row;
}
