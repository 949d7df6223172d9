// One polite live region for the page: what a screen reader should hear.
const KEEP = 3; // a few recent lines, so the region never grows without end

export function announce(text) {
  const region = document.getElementById("announcer");
  const plain = text.replace(/[*_`#>|~]+/g, "").trim();
  if (!plain || !region) return;
  const line = document.createElement("p");
  line.textContent = plain;
  region.append(line);
  while (region.childElementCount > KEEP) region.firstElementChild.remove();
}
