"""The remote in a real browser (Debian's chromium driven by Playwright): two pages on a running
headless show, real input events, the show's changes coming back, the preview decoding, and no
script errors or failed loads on the way."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

import pytest

from tests.visualizer.web.web_helpers import remote_show, run_beside

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CHROMIUM = shutil.which("chromium")
WAIT_MS = 15_000  # generous: the show, two pages and the test share two busy cores


def wait_until(check: Callable[[], bool], what: str, *, timeout_s: float = WAIT_MS / 1000) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def open_page(browser, url: str, problems: list[str]):
    """A page on ``url`` whose console errors, uncaught exceptions and failed requests land in
    ``problems``; returned once its controls are drawn and its WebSocket is up."""
    page = browser.new_page(viewport={"width": 400, "height": 800})
    page.on("console", lambda m: m.type in ("error", "warning")
            and problems.append(f"{m.text} ({m.location.get('url')})"))
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.goto(url)
    page.wait_for_selector("#link.on", timeout=WAIT_MS)
    return page


def fader_value(page, address: str) -> float:
    return float(page.eval_on_selector(f'input[data-address="{address}"]', "e => e.value"))


def wait_fader(page, address: str, value: float) -> None:
    page.wait_for_function("([a, v]) => Math.abs(document.querySelector(`input[data-address=\"${a}\"]`)"
                           ".value - v) < 1e-6", arg=[address, value], timeout=WAIT_MS)


def test_two_pages_drive_the_show_and_follow_it(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not "
                                     "installed (pip install 'gansmania[dev]')")
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    app, surfaces, remote = remote_show(tmp_path)
    presets: list = []
    app.on_action("preset", presets.append)
    problems: list[str] = []
    intensity = "/gm/intensity"

    def script() -> None:
        with playwright.sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM)
            try:
                first, second = (open_page(browser, remote.url, problems) for _ in range(2))
                wait_fader(second, intensity, 1.0)
                # A drag on page 1's fader (real pointer events): the store, then page 2.
                box = first.locator(f'input[data-address="{intensity}"]').bounding_box()
                y = box["y"] + box["height"] / 2
                first.mouse.move(box["x"] + box["width"] - 4, y)
                first.mouse.down()
                first.mouse.move(box["x"] + box["width"] * 0.3, y, steps=8)
                first.mouse.up()
                moved = fader_value(first, intensity)
                assert 0.1 < moved < 0.5
                wait_until(lambda: app.params.get("master.intensity") == pytest.approx(moved),
                           "the drag to reach the ParamStore")
                wait_fader(second, intensity, moved)
                assert second.text_content(f'.control:has([data-address="{intensity}"]) output') \
                    == f"{moved:.2f}"
                # The keyboard on page 2's fader: Home is its minimum.
                second.focus(f'input[data-address="{intensity}"]')
                second.keyboard.press("Home")
                wait_until(lambda: app.params.get("master.intensity") == 0.0, "the key's value")
                wait_fader(first, intensity, 0.0)
                # A change made over OSC (the same route table, as the OSC server calls it).
                assert surfaces.table.dispatch(intensity, [0.8], source="osc") is None
                for page in (first, second):
                    wait_fader(page, intensity, 0.8)
                # A toggle: blackout from page 1 lights page 2's button (its only button:
                # the generated controls leave out what the transport bar has).
                assert first.locator('[data-address="/gm/blackout"]').count() == 0
                first.click('button[data-flag="/gm/blackout"]')
                wait_until(lambda: app.params.get("master.blackout") is True, "blackout")
                second.wait_for_selector('button[data-flag="/gm/blackout"].on', timeout=WAIT_MS)
                # A preset slot: the app's preset action.
                second.click('[data-slot="3"]')
                wait_until(lambda: [p.value for p in presets] == [3], "the preset action")
                # The preview: an image that decodes, at the preview's width.
                first.click("#preview-toggle")
                first.wait_for_function("() => document.querySelector('#preview').naturalWidth > 0",
                                        timeout=WAIT_MS)
                size = first.eval_on_selector("#preview", "e => [e.naturalWidth, e.naturalHeight]")
                assert size[0] > 0 and size[1] > 0
                assert first.is_visible("#preview")
            finally:
                browser.close()

    try:
        run_beside(app, script)
        assert presets[0].source == "web"
        assert problems == []
    finally:
        remote.close()
        surfaces.close()
        app.close()
