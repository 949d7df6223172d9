"""Phone upload benchmark: prints a table; not a test.

    .venv/bin/python tests/bench/upload.py [--runs N] [--uplink-mbit 4]

A real Daphne and Debian's Chromium, the uplink throttled through the DevTools
protocol (as a phone's would be). The photo is a 12 MP JPEG made from a real
iPhone photo (../shared/photos/heif/pug.heic), held sideways (EXIF orientation 6).
"Before" is the same page with shrinking unavailable (no OffscreenCanvas, as in
a browser without it): the file goes up as it is. Measured: from choosing the
file to the photo being ready to send, and the bytes posted.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from pillow_heif import register_heif_opener

ROOT = Path(__file__).resolve().parents[2]
PUG = ROOT.parent / "shared" / "photos" / "heif" / "pug.heic"
PASSWORD = "bench-password-1"


def phone_jpeg(path):
    register_heif_opener()
    with Image.open(PUG) as iphone:
        upright = iphone.convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(
        path, "JPEG", quality=95, exif=exif.tobytes()
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "visionqa.test_settings",
        "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
        "MEDIA_ROOT": f"{folder}/media",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    env.pop("REDIS_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    create = (
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user('bench', password='{PASSWORD}')"
    )
    subprocess.run([*manage, "shell", "-c", create], cwd=ROOT, env=env, check=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "visionqa.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("Daphne did not start")


async def one_upload(browser, url, photo, uplink_mbit, shrink):
    from playwright.async_api import expect

    context = await browser.new_context()
    if not shrink:
        await context.add_init_script("delete window.OffscreenCanvas")
    page = await context.new_page()
    await page.goto(f"{url}/")
    await page.get_by_label("Username").fill("bench")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 40,
            "downloadThroughput": 20e6 / 8,
            "uploadThroughput": uplink_mbit * 1e6 / 8,
        },
    )
    started = time.perf_counter()
    async with page.expect_request_finished(lambda r: r.url.endswith("/api/images/")) as done:
        await page.locator("#photo-input").set_input_files(photo)
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1, timeout=120_000)
    seconds = time.perf_counter() - started
    # Chromium reports no body size for a posted Blob; its Content-Length is exact.
    posted = int((await (await done.value).all_headers())["content-length"])
    await context.close()
    return seconds, posted


async def run(args):
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "IMG_1234.jpg"
        phone_jpeg(photo)
        server, url = start_server(folder)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                    args=["--no-sandbox", "--disable-gpu"],
                )
                print(
                    f"photo: 4032×3024 JPEG, {photo.stat().st_size / 1e6:.2f} MB; uplink "
                    f"{args.uplink_mbit} Mbit/s; median of {args.runs} runs"
                )
                print(f"{'page':34} {'ready to send, s':>17} {'uploaded, MB':>13}")
                for label, shrink in (("before (file sent as it is)", False),
                                      ("after (shrunk in the page)", True)):  # fmt: skip
                    results = [
                        await one_upload(browser, url, photo, args.uplink_mbit, shrink)
                        for _ in range(args.runs)
                    ]
                    seconds = statistics.median(r[0] for r in results)
                    posted = statistics.median(r[1] for r in results)
                    print(f"{label:34} {seconds:17.2f} {posted / 1e6:13.2f}")
                await browser.close()
        finally:
            server.terminate()
            server.wait(10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--uplink-mbit", type=float, default=4.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
