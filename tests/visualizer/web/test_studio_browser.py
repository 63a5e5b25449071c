"""The studio in a real browser (Debian's chromium driven by Playwright): a crashed job shown
failed with its error, bad uploads refused with their one-line message, the demo track uploaded, a 2 s render started from the form, its
progress reaching 100 % over the job feed, the video playing in the page, and the downloaded
file decoding (PyAV).

GANSMANIA_SCREENSHOTS=docs makes it save the README's picture of the page (web-studio.png)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.visualizer.jobs.test_queue import crash_kind
from tests.visualizer.web.studio_helpers import DEMO, studio_server
from visualizer.core.paths import bundled_model
from visualizer.jobs.kinds import KINDS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CHROMIUM = shutil.which("chromium")
WAIT_MS = 30_000  # generous: the studio, its worker, the browser and the test share two cores
RENDER_MS = 600_000  # a 2 s render at 160x96 on a busy CPU (about 15 s alone)
LIMIT = 2_000_000

FETCH = """async ([name, size]) => {
  const response = await fetch('/api/songs', {method: 'POST', body: new Uint8Array(size),
                                headers: {'X-Filename': encodeURIComponent(name)}});
  return [response.status, (await response.json()).error];
}"""


def open_studio(browser, base: str, problems: list[str]):
    """The page, once its job feed is up; script errors land in ``problems``."""
    page = browser.new_page(viewport={"width": 1100, "height": 1000}, accept_downloads=True)
    # A refused request is logged by the browser as a failed resource: expected here.
    page.on("console", lambda m: m.type == "error" and "Failed to load resource"
            not in m.text and problems.append(m.text))
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    page.goto(base)
    page.wait_for_selector("#link.on", timeout=WAIT_MS)
    return page


def status_is(page, text: str) -> None:
    page.wait_for_function("t => document.querySelector('#upload-status').textContent === t",
                           arg=text, timeout=WAIT_MS)


def test_upload_render_play_and_download_in_a_browser(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not "
                                     "installed (pip install 'gansmania[dev]')")
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    av = pytest.importorskip("av")
    problems: list[str] = []
    kinds = {**KINDS, "crash": crash_kind()}  # a job that fails, as a broken model would
    with studio_server(tmp_path / "studio", worker=True, max_bytes=LIMIT, kinds=kinds) \
            as (base, queue), \
            playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM)
        try:
            page = open_studio(browser, base, problems)
            assert page.eval_on_selector("select.models", "e => e.value") == "default"

            # A job that crashes: failed, with its one line on the page.
            page.evaluate("""() => fetch('/api/jobs', {method: 'POST',
                                                       body: JSON.stringify({kind: 'crash'})})""")
            page.wait_for_selector("#jobs li.job.failed", timeout=WAIT_MS)
            assert page.text_content("#jobs li.failed .job-error") \
                == "ZeroDivisionError: the model divided by zero"
            assert page.text_content("#jobs li.failed .state") == "failed"
            assert page.text_content("#jobs li.failed .title") == "crash"

            # Bad uploads, each with its one line on the page.
            page.set_input_files("#song-file", files=[{"name": "notes.wav", "mimeType":
                                                       "audio/wav", "buffer": b"a text\n" * 99}])
            status_is(page, "notes.wav: not an audio file this studio can decode (WAV, FLAC, "
                            "OGG, MP3 or anything ffmpeg reads)")
            page.set_input_files("#song-file", files=[{"name": "huge.wav", "mimeType":
                                                       "audio/wav", "buffer": bytes(LIMIT + 1)}])
            status_is(page, "huge.wav: larger than the upload limit of 2 MB")
            # The server refuses them too, for a client that skips the page's checks.
            assert page.evaluate(FETCH, ["huge.wav", LIMIT + 1]) \
                == [413, "huge.wav: larger than the upload limit of 2 MB"]
            status, error = page.evaluate(FETCH, ["../../etc/passwd", 10])
            assert status == 400 and error.startswith("file name '../../etc/passwd': a plain")

            # The demo track, then a 2 s render of it from the form.
            page.set_input_files("#song-file", str(DEMO))
            status_is(page, "demo_track.ogg: 35.8 s, ready")
            form = "#render-form"
            page.fill(f"{form} [name=size]", "160x96")
            page.fill(f"{form} [name=fps]", "10")
            page.fill(f"{form} [name=end_s]", "2")
            page.fill(f"{form} [name=seed]", "3")
            page.select_option(f"{form} [name=preset]", "prism")
            page.evaluate("""() => {
              window.seen = [];  // every percentage the page shows, in order
              new MutationObserver(() => {
                const out = document.querySelector('#jobs .percent');
                if (out && window.seen.at(-1) !== out.textContent) window.seen.push(out.textContent);
              }).observe(document.querySelector('#jobs'), {subtree: true, childList: true,
                                                           characterData: true});
            }""")
            page.click("#render-start")
            page.wait_for_selector("#jobs li.job.done", timeout=RENDER_MS)
            seen = [int(text.rstrip(" %")) for text in page.evaluate("window.seen")]
            assert seen[-1] == 100 and seen == sorted(seen), seen
            assert page.text_content("#jobs li.job .state") == "done"
            assert page.is_hidden("#jobs li.job .cancel")
            title = page.text_content("#jobs li.job .title")
            assert title.startswith("render demo_track.ogg · default · prism · 160x96 10 fps")

            # It plays in the page...
            page.wait_for_function("() => document.querySelector('#jobs video').readyState >= 1",
                                   timeout=WAIT_MS)
            duration = page.eval_on_selector("#jobs video", "v => v.duration")
            assert duration == pytest.approx(2.0, abs=0.15)
            page.eval_on_selector("#jobs video", "v => { v.muted = true; return v.play(); }")
            page.wait_for_function("() => document.querySelector('#jobs video').currentTime > 0",
                                   timeout=WAIT_MS)
            # ... and the download is the video: 20 frames of 160x96 and the song's audio.
            with page.expect_download(timeout=WAIT_MS) as download:
                page.click("#jobs a.download")
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            assert saved.name.startswith("gansmania-render-") and saved.suffix == ".mp4"
            with av.open(str(saved)) as container:
                video = container.streams.video[0]
                assert (video.width, video.height) == (160, 96)
                assert len(container.streams.audio) == 1
                frames = sum(1 for _ in container.decode(video=0))
            assert frames == 20
            job = queue.jobs()[0]
            assert saved.read_bytes() == queue.result_path(job.id).read_bytes()

            # The same render in 2 parts, each a job for any worker (here the one thread runs
            # the parts, then the join): one entry on the page, the same frames.
            page.fill(f"{form} [name=segments]", "2")
            page.check(f"{form} [name=spread]")
            page.click("#render-start")
            page.wait_for_selector("#jobs li.job.done >> nth=1", timeout=RENDER_MS)
            titles = page.eval_on_selector_all("#jobs li.job .title", "l => l.map(e => e.textContent)")
            assert len(titles) == 3 and titles[0].endswith("· 2 parts on many workers"), titles
            spread = queue.jobs()[0]
            assert spread.kind == "render" and len(spread.needs) == 2

            def pictures(path: Path) -> list[bytes]:
                with av.open(str(path)) as container:
                    return [frame.to_ndarray(format="rgb24").tobytes()
                            for frame in container.decode(video=0)]

            assert pictures(queue.result_path(spread.id)) == pictures(saved)
            if os.environ.get("GANSMANIA_SCREENSHOTS"):
                shoot(page, Path(os.environ["GANSMANIA_SCREENSHOTS"]) / "web-studio.png")
            assert problems == []
        finally:
            browser.close()


def shoot(page, path: Path) -> None:
    """The README's picture: the whole page, as a palette PNG (a dark page needs few colours)."""
    from PIL import Image

    page.eval_on_selector("#jobs video", "v => { v.pause(); v.currentTime = 1.0; }")
    page.wait_for_timeout(500)  # the seek's frame to be drawn: only the picture depends on it
    page.screenshot(path=path, full_page=True)
    Image.open(path).convert("RGB").quantize(colors=128).save(path, optimize=True)


def test_seed_grids_cancel_model_card_and_training_runs_in_a_browser(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not "
                                     "installed (pip install 'gansmania[dev]')")
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    import json

    import numpy as np
    from PIL import Image

    run = tmp_path / "runs" / "abstract"
    run.mkdir(parents=True)
    (run / "metrics.jsonl").write_text(json.dumps({"kimg": 4.0, "cpu_s": 9.0, "kid": 0.0125}))
    Image.fromarray(np.full((32, 64, 3), 90, np.uint8)).save(run / "fakes-000004-000004.png")
    problems: list[str] = []
    with studio_server(tmp_path / "studio", worker=True, runs_dir=tmp_path / "runs") \
            as (base, queue), playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM)
        try:
            page = open_studio(browser, base, problems)
            # The training run: its numbers and its latest fakes grid.
            card = page.locator("#runs .run")
            assert card.locator("b").text_content() == "abstract: 4 kimg, 0 snapshots"
            assert "KID at 4 kimg12.500 ×1e-3" in card.locator("table").text_content()
            page.wait_for_function("() => document.querySelector('#runs img').naturalWidth === 64",
                                   timeout=WAIT_MS)
            # The model card opens with its text; the sample grid decodes.
            page.click("#models .model summary")
            page.wait_for_function("() => document.querySelector('#models pre').textContent"
                                   ".startsWith('# default')", timeout=WAIT_MS)
            page.wait_for_function("() => document.querySelector('#models img').naturalWidth > 0",
                                   timeout=WAIT_MS)
            # A big grid, cancelled from the page once it has begun: it stops between images.
            page.fill("#grid-form [name=count]", "64")
            page.click("#grid-form button")
            page.wait_for_function("() => (document.querySelector('#jobs progress')?.value ?? 0) > 0",
                                   timeout=RENDER_MS)
            page.click("#jobs li .cancel")
            page.wait_for_selector("#jobs li.job.cancelled", timeout=WAIT_MS)
            assert page.text_content("#jobs li.cancelled .state") == "cancelled"
            assert page.is_hidden("#jobs li.cancelled .cancel")
            assert page.locator("#jobs li.cancelled .result > *").count() == 0
            assert queue.jobs()[0].done < 64
            # A seed grid of two images from the form.
            page.fill("#grid-form [name=count]", "2")
            page.fill("#grid-form [name=seed]", "7")
            page.click("#grid-form button")
            page.wait_for_selector("#jobs li.job.done", timeout=RENDER_MS)
            assert page.text_content("#jobs li .title") == "grid · default · seeds 7–8"
            page.wait_for_function("() => document.querySelector('#jobs .result img')"
                                   ".naturalWidth > 0", timeout=WAIT_MS)
            size = page.eval_on_selector("#jobs .result img", "i => [i.naturalWidth, "
                                                              "i.naturalHeight]")
            assert size == [512, 256]  # two 256 px images side by side
            assert queue.jobs()[0].params == {"model": str(bundled_model()), "seed": 7,
                                              "count": 2, "truncation_psi": 1.0}
            assert problems == []
        finally:
            browser.close()
