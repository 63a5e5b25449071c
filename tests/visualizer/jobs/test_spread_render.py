"""A render spread over the job queue (`"segments": N, "spread": true`): its segments are jobs
any worker takes, the render job joins them, and the file decodes to the very frames of the
same render on one worker. In this process on SQLite (the tiny model), and as the issue asks:
`gansmania web --broker` and two `gansmania worker --broker` processes on a real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.rigs.processes import stop
from tests.signals import click_train
from tests.visualizer.jobs.job_helpers import web_banner
from tests.visualizer.record.conftest import tiny_model  # noqa: F401 (a fixture)
from tests.visualizer.record.shows import write_wav
from tests.visualizer.record.test_segmented_render import frame_hashes
from visualizer.jobs import JobQueue
from visualizer.jobs.kinds import KINDS, RENDER_FILE

pytestmark = pytest.mark.timeout(900)
TRAILS = "dream_trails"  # feedback trails: frames carried across a cut, replayed by each part


def test_a_spread_render_has_the_one_job_frames(tmp_path: Path, tiny_model: Path,  # noqa: F811
                                                isolated_threads) -> None:
    audio, _ = click_train(bpm=128, duration_s=3.0)
    song = write_wav(tmp_path / "song.wav", audio)
    queue = JobQueue.open(tmp_path / "studio", kinds=KINDS)
    params = {"audio": str(song), "model": str(tiny_model), "size": [128, 72], "fps": 12,
              "seed": 4, "preset": TRAILS}
    spread_id = queue.submit("render", {**params, "segments": 3, "spread": True})
    whole_id = queue.submit("render", params)
    parts = queue.get(spread_id).needs
    assert [queue.get(i).params["segment"] for i in parts] == [
        [0, 3, 0, 12], [1, 3, 12, 24], [2, 3, 24, 36]]  # a keyframe every 12 frames
    while queue.run_next():  # one worker: the parts, the join, the one-job render
        pass
    jobs = {i: queue.get(i) for i in (*parts, spread_id, whole_id)}
    assert {(job.state, job.error, job.attempts) for job in jobs.values()} == {("done", "", 1)}
    joined, whole = queue.result_path(spread_id), queue.result_path(whole_id)
    assert joined.name == whole.name == RENDER_FILE
    assert frame_hashes(joined) == frame_hashes(whole) and len(frame_hashes(whole)) == 36
    assert all(not queue.folder_of(i).exists() for i in parts)  # joined, then removed


def test_a_spread_render_is_checked_at_submit(tmp_path: Path) -> None:
    from tests.visualizer.web.studio_helpers import DEMO
    from visualizer.core.errors import GansmaniaError

    queue = JobQueue.open(tmp_path, kinds=KINDS)
    with pytest.raises(GansmaniaError, match=r"^spread 'yes': wants true or false$"):
        queue.submit("render", {"audio": str(DEMO), "segments": 2, "spread": "yes"})
    with pytest.raises(GansmaniaError, match=r"^segment \[0, 0, 0, 5\]: wants \[index, count"):
        queue.submit("render_part", {"audio": str(DEMO), "segment": [0, 0, 0, 5]},
                     part_of="f" * 32)
    # A part alone is not a job a user submits.
    with pytest.raises(GansmaniaError, match=r"^job kind 'render_part' unknown; allowed: "
                                             r"render, grid$"):
        queue.submit("render_part", {"audio": str(DEMO), "segment": [0, 1, 0, 5]})
    assert queue.jobs() == []
    # One keyframe (a 1 s render, a keyframe a second): nothing to spread, one job.
    job_id = queue.submit("render", {"audio": str(DEMO), "end_s": 1, "segments": 4,
                                     "spread": True})
    assert [job.id for job in queue.jobs()] == [job_id] and queue.get(job_id).needs == ()


@pytest.mark.slow
def test_two_workers_and_the_studio_on_redis_render_one_song_split(redis_server, tmp_path):
    """The issue's scenario: the studio's API submits a render split in 2; two `gansmania
    worker` processes each render a part; the joined file has the one-worker frames. Prints
    the job's overhead (submit -> the first part's first frame) and times."""
    from tests.visualizer.web.studio_helpers import post_json, request, upload

    data = ["--data", str(tmp_path), "--broker", redis_server.url]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two workers on a 2-core machine
    logs = [tmp_path / f"worker{n}.log" for n in (1, 2)]
    web = subprocess.Popen([sys.executable, "-m", "visualizer.cli", "web", "--port", "0", *data],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers = [subprocess.Popen([sys.executable, "-m", "visualizer.cli", "worker", *data],
                                env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
               for log in logs]
    try:
        base, _ = web_banner(web)
        audio, _ = click_train(bpm=120, duration_s=4.0)
        status, song = upload(base, write_wav(tmp_path / "clicks.wav", audio).read_bytes(),
                              "clicks.wav")
        assert status == 201, song
        deadline = time.monotonic() + 120  # both workers waiting on the queue
        while not all(b"jobs of" in log.read_bytes() for log in logs):
            assert time.monotonic() < deadline and all(w.poll() is None for w in workers)
            time.sleep(0.1)

        render = {"kind": "render", "song": song["id"], "size": "128x72", "fps": 8, "seed": 3,
                  "preset": TRAILS}

        def run(payload: dict) -> tuple[str, float, float]:
            """(job id, s to the first frame of it or any of its parts, s to done), read
            through the API as the page does."""
            submitted = time.monotonic()
            status, job = post_json(base + "api/jobs", payload)
            assert status == 201, job
            first = None
            deadline = submitted + 600
            while (job := request(base + f"api/jobs/{job['id']}")[1])["state"] != "done":
                assert job["state"] in ("queued", "running"), job
                if first is None and any(request(base + f"api/jobs/{i}")[1]["done"] > 0
                                         for i in [job["id"], *job["needs"]]):
                    first = time.monotonic() - submitted
                assert time.monotonic() < deadline, job
                assert all(w.poll() is None for w in workers)
                time.sleep(0.05)
            return job["id"], first, time.monotonic() - submitted

        spread_id, spread_first, spread_s = run({**render, "segments": 2, "spread": True})
        whole_id, whole_first, whole_s = run(render)
        print(f"\nspread over 2 workers: first frame {spread_first:.1f} s, done {spread_s:.1f} "
              f"s; one worker: first frame {whole_first:.1f} s, done {whole_s:.1f} s")
        # The page lists the user's two renders, not the parts.
        assert {job["id"] for job in request(base + "api/jobs")[1]} == {spread_id, whole_id}
    finally:
        for process in (*workers, web):
            process.terminate()
            try:
                process.wait(timeout=60)
            finally:
                stop(process)
    assert [w.returncode for w in workers] == [0, 0] and web.returncode == 0

    queue = JobQueue.open(tmp_path, kinds=KINDS, broker=redis_server.url)
    parts = [queue.get(i) for i in queue.get(spread_id).needs]
    assert len(parts) == 2 and all(part.state == "done" for part in parts)
    assert {part.worker for part in parts} == {f"{socket_host()}:{w.pid}" for w in workers}
    hashes = frame_hashes(queue.result_path(spread_id))
    assert hashes == frame_hashes(queue.result_path(whole_id)) and len(hashes) == 32


def socket_host() -> str:
    import socket

    return socket.gethostname()
