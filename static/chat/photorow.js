// A question's photos, as thumbnails: the same in the app and on shared pages.
export function photoRow(images, alt, linkTo = null) {
  const row = document.createElement("div");
  row.className = "photos";
  for (const image of images) {
    const img = document.createElement("img");
    img.src = image.thumbnail_url;
    img.alt = alt;
    img.loading = "lazy";
    img.width = 160;
    if (linkTo) {
      const link = document.createElement("a");
      link.href = linkTo(image);
      link.append(img);
      row.append(link);
    } else {
      row.append(img);
    }
  }
  return row;
}
