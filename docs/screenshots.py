"""The README's pictures of the web remote: the real show (`gansmania live --headless --web`,
the default model on the demo track) and its page in Debian's chromium through Playwright, at a
phone's size and a desktop's, with the preview on.

    python docs/screenshots.py [--out docs]

Writes web-remote-phone.png and web-remote-desktop.png (palette PNGs: a dark page with one
small picture needs few colours, and the README should stay light).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from PIL import Image

VIEWS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_up(base: str, show: subprocess.Popen, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(base + "api/controls", timeout=2).read()
            return
        except OSError:
            if show.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the show's web remote did not come up") from None
            time.sleep(0.2)


def shoot(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=shutil.which("chromium"))
        try:
            for name, viewport in VIEWS.items():
                page = browser.new_page(viewport=viewport)
                page.goto(base)
                page.wait_for_selector("#link.on", timeout=30_000)
                page.click("#preview-toggle")
                page.wait_for_function("() => document.querySelector('#preview').naturalWidth > 0"
                                       " && Number(document.querySelector('#bpm').value) > 0",
                                       timeout=60_000)
                path = out / f"web-remote-{name}.png"
                page.screenshot(path=path)
                Image.open(path).convert("RGB").quantize(colors=128).save(path, optimize=True)
                print(f"{path}: {path.stat().st_size // 1024} kB")
                page.close()
        finally:
            browser.close()


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = options.parse_args()
    port = free_port()
    show = subprocess.Popen([sys.executable, "-m", "visualizer.cli", "-q", "live", "--headless",
                             "--input", "demo", "--size", "640x360", "--duration", "300",
                             "--web", str(port)], stdout=subprocess.DEVNULL)
    try:
        wait_up(f"http://127.0.0.1:{port}/", show)
        shoot(f"http://127.0.0.1:{port}/", args.out)
    finally:
        show.terminate()
        show.wait(timeout=30)


if __name__ == "__main__":
    main()
