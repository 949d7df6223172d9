"""What a region question costs against the same question about the whole
photo, in visual tokens: prints a table; not a test.

    .venv/bin/python tests/bench/regions.py [photo]

The photo (default: ../shared/photos/heif/pug.heic, a real 12 MP iPhone
photo) is uploaded as the app does (stored upright, capped at the "high"
budget); then, for each detail the question may be asked at, the whole photo's
visual tokens beside those of one region's crop, which is always sent at
"high" from the stored pixels, and the two together. Each crop is really
encoded, and its size read back, so the table shows what is sent, not only
what the formula says.
"""

import io
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PIL import Image  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "photos" / "heif" / "pug.heic"
# Boxes in the model's 0–1000 coordinates: a small detail, a quarter of the
# photo, and the whole of it (the most a region can cost).
BOXES = {
    "a tenth each way": [450, 450, 550, 550],
    "a quarter (half each way)": [250, 250, 750, 750],
    "the whole photo": [0, 0, 1000, 1000],
}


def main() -> None:
    from chat.photos import images, regions

    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    with Image.open(source) as original:
        original_size = original.size
    stored = images.process_upload(io.BytesIO(source.read_bytes()))
    width, height = stored.width, stored.height
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"stored.{stored.extension}"
        path.write_bytes(stored.content)
        encoded = regions.encode_crops(path, list(BOXES.values()))
    sent = {}
    for name, (_, content) in zip(BOXES, encoded, strict=True):
        with Image.open(io.BytesIO(content)) as crop:
            sent[name] = crop.size
        assert sent[name] == regions.sent_size(width, height, BOXES[name])

    print(f"{source.name}: {original_size[0]}×{original_size[1]} as taken, "
          f"stored {width}×{height} (capped at the \"high\" budget)\n")
    header = ("detail", "whole photo", "region", "crop sent", "crop (high)", "total", "× whole")
    rows = []
    for detail in ("low", "auto", "high"):
        whole = images.visual_tokens(width, height, detail)
        for name, box in BOXES.items():
            crop = regions.crop_tokens(width, height, box)
            w, h = sent[name]
            rows.append(
                (detail, str(whole), name, f"{w}×{h}", str(crop), str(whole + crop),
                 f"{(whole + crop) / whole:.2f}")
            )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(f"| {line} |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
