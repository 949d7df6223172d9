"""Photo pipeline benchmark: prints a table; not a test.

    .venv/bin/python bench/images.py [--runs N]

Cases: a 12-megapixel JPEG and HEIC (4032×3024, photo-like noise) taken from
upload to stored photo, and from stored photo to the data URL sent at each
detail. Time is the median of N runs; memory is how far the resident size of
a fresh process rose above where it started while doing the case once (Linux).
"""

import argparse
import io
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402
from pillow_heif import register_heif_opener  # noqa: E402

register_heif_opener()

SIZE = (4032, 3024)  # a 12 MP phone camera
# "jpeg → …" and "heic → …" are the whole path from the uploaded file to the
# data URL; "stored → …" is what each later turn of a conversation pays
# (before the per-detail cache, which makes it a file read).
TARGETS_MS = {"jpeg → high": 150, "jpeg → low": 40, "heic → high": 400}


def photo_like(size):
    noise = Image.effect_noise((size[0] // 8, size[1] // 8), 60).resize(size, Image.BILINEAR)
    fine = Image.effect_noise(size, 20)
    base = [noise.point(lambda v, c=c: max(0, min(255, c + (v - 128) // 2))) for c in (60, 130, 70)]
    return Image.merge("RGB", [Image.blend(b, fine, 0.08) for b in base])


def make_inputs(folder):
    picture = photo_like(SIZE)
    jpeg = Path(folder) / "photo.jpg"
    picture.save(jpeg, "JPEG", quality=92)
    heic = Path(folder) / "photo.heic"
    # As an iPhone stores it: a grid of 512×512 tiles, 2–3 MB for 12 MP.
    # Decoding time follows the bit rate, so a smaller file would flatter us.
    picture.save(heic, "HEIF", quality=70, tile_size=512)
    return {"jpeg": jpeg, "heic": heic}


def cases(inputs):
    from chat.images import data_url, encode_for_model, process_upload

    def upload(path):
        return lambda: process_upload(io.BytesIO(path.read_bytes()))

    def stored(path):
        """The photo as the app keeps it after upload."""
        kept = path.with_suffix(path.suffix + ".stored.jpg")
        if not kept.exists():
            kept.write_bytes(process_upload(io.BytesIO(path.read_bytes())).content)
        return kept

    def whole(path, detail):
        # Upload to data URL, as a photo goes the first time it is sent.
        return lambda: data_url(*encode_for_model(write(path), detail))

    def write(path):
        kept = path.with_suffix(path.suffix + ".once.jpg")
        kept.write_bytes(process_upload(io.BytesIO(path.read_bytes())).content)
        return kept

    def send(path, detail):
        kept = stored(path)
        return lambda: data_url(*encode_for_model(kept, detail))

    def original(path, detail):
        return lambda: data_url(*encode_for_model(path, detail))

    return {
        "jpeg → low": original(inputs["jpeg"], "low"),
        "jpeg → auto": original(inputs["jpeg"], "auto"),
        "jpeg → high": original(inputs["jpeg"], "high"),
        "heic → high": original(inputs["heic"], "high"),
        "jpeg upload (decode, orient, strip, cap, thumb)": upload(inputs["jpeg"]),
        "jpeg stored → low": send(inputs["jpeg"], "low"),
        "jpeg stored → auto": send(inputs["jpeg"], "auto"),
        "jpeg stored → high": send(inputs["jpeg"], "high"),
        "heic upload (decode, orient, strip, cap, thumb)": upload(inputs["heic"]),
        "jpeg upload, then → high (first send)": whole(inputs["jpeg"], "high"),
        "heic upload, then → high (first send)": whole(inputs["heic"], "high"),
    }


def _peak_rss(name, folder, queue):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionqa.test_settings")
    inputs = {"jpeg": Path(folder) / "photo.jpg", "heic": Path(folder) / "photo.heic"}
    run = cases(inputs)[name]
    # The peak resident size survives fork and exec (the parent made 12 MP
    # pictures): reset it, then read the peak of this case alone.
    Path("/proc/self/clear_refs").write_text("5")
    baseline = _rss_kb("VmRSS")
    run()
    queue.put(_rss_kb("VmHWM") - baseline)


def _rss_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_memory_mb(name, folder):
    # Spawned, not forked: a clean process, nothing inherited.
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_peak_rss, args=(name, folder, queue))
    child.start()
    child.join()
    return queue.get() / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionqa.test_settings")
    with tempfile.TemporaryDirectory() as folder:
        inputs = make_inputs(folder)
        print(
            f"inputs: {SIZE[0]}×{SIZE[1]} JPEG {inputs['jpeg'].stat().st_size / 1e6:.1f} MB, "
            f"HEIC {inputs['heic'].stat().st_size / 1e6:.1f} MB; {os.cpu_count()} cores; "
            f"median of {args.runs} runs"
        )
        print(f"{'case':48} {'ms':>8} {'target':>8} {'peak +MB':>9}")
        failed = False
        for name, run in cases(inputs).items():
            run()  # warm up
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                run()
                times.append((time.perf_counter() - start) * 1000)
            median = statistics.median(times)
            target = TARGETS_MS.get(name)
            mark = "" if target is None else (" ok" if median <= target else " SLOW")
            failed |= mark == " SLOW"
            peak = peak_memory_mb(name, folder)
            print(f"{name:48} {median:8.0f} {target or '':>8} {peak:9.0f}{mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
