// A question's photos, as thumbnails, whole (not cropped: the regions marked
// on them are drawn over them): the same in the app and on shared pages.
// Each opens in the full-screen viewer.
import { formatNumber, formatNumbers, gettext, interpolate, ngettext } from "./i18n.js";
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
    // Translators: one of a question's photos, when it has several: "Your photo 2".
    const name = images.length > 1 ? interpolate(gettext("%(photo)s %(number)s"), { photo: alt, number: formatNumber(i + 1) }) : alt;
    const marks = savedMarks(regions, image.id);
    const img = document.createElement("img");
    img.src = image.thumbnail_url;
    img.alt = "";
    img.loading = "lazy";
    // The marks lie over the button, not in it: its name says what they show.
    const open = document.createElement("button");
    open.type = "button";
    open.className = "photo-open";
    const label = marks.length
      ? interpolate(
        ngettext("%(photo)s, region %(regions)s marked: show full screen", "%(photo)s, regions %(regions)s marked: show full screen", marks.length),
        { photo: name, regions: formatNumbers(marks.map((m) => m.n)) },
      )
      : interpolate(gettext("%(photo)s: show full screen"), { photo: name });
    open.setAttribute("aria-label", label);
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
