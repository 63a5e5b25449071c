"""`gansmania render`: a song to a video file, offline, with the live show's own parts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from visualizer.commands.config import config_file_option, set_option
from visualizer.commands.live import phrase_bars_option, setlist_option


@click.command()
@click.argument("audio", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Video file to write (.mp4 or .mkv): H.264 + AAC.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Generator checkpoint (.safetensors); default: the bundled model.")
@click.option("--preset", default=None, help="Preset to render with, name or .toml (default: the "
                                             "show log's, else presets.default).")
@click.option("--size", default=None, metavar="WxH", help="Video size, e.g. 1920x1080 "
                                                          "(default: display.size).")
@click.option("--fps", type=click.FloatRange(min=1.0, max=240.0), default=None,
              help="Video frame rate (default: record.fps, 30).")
@click.option("--seed", type=int, default=None,
              help="Seed bank of the latent walk (the left/right keys live); same seed, same video.")
@click.option("--start", "start_s", type=click.FloatRange(min=0.0), default=0.0,
              help="Start at this song time (s); the song before it is still analysed.")
@click.option("--end", "end_s", type=click.FloatRange(min=0.0), default=None,
              help="End at this song time (s) (default: the end of the song).")
@click.option("--lookahead", is_flag=True,
              help="Track beats over the whole song first (librosa): beats from the first one, "
                   "no warm-up. Not available live.")
@click.option("--replay", "replay_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Re-render a show recorded with `gansmania live --log SHOW.gmlog`: its "
                   "settings, look and control events, at this render's size and rate.")
@click.option("--generator-fps", type=click.FloatRange(min=0.0), default=0.0,
              help="Generator frames per second (0 = one per video frame); lower renders faster, "
                   "the frames between are cross-faded as live.")
@click.option("--generator-batch", type=click.IntRange(min=0, max=256), default=None,
              help="Frames the generator paints at once, on its own thread ahead of the "
                   "shaders (default 1); 0 = in the render loop, no threads. Same frames.")
@click.option("--segments", type=click.IntRange(min=1, max=256), default=1,
              help="Render in this many parts, cut on keyframes, and join them without "
                   "re-encoding: the same frames as one part (each part replays the song "
                   "before it without painting).")
@click.option("--jobs", type=click.IntRange(min=1, max=256), default=None,
              help="Processes rendering segments at once (default: --segments, at most one "
                   "per CPU core).")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs only).")
@setlist_option
@phrase_bars_option
@config_file_option
@set_option
def render(audio: Path, out: Path, model_path: Path | None, preset: str | None, size: str | None,
           fps: float | None, seed: int | None, start_s: float, end_s: float | None,
           lookahead: bool, replay_path: Path | None, generator_fps: float,
           generator_batch: int | None, segments: int,
           jobs: int | None, no_progress: bool,
           setlist: str | None, phrase_bars: int | None, config_path: Path | None,
           assignments: tuple[str, ...]) -> None:
    """Render a song to a video with the live show's analyzer, controller, presets and shaders.

    Not bound to real time: every frame is computed (headless, EGL), on a simulated clock, so
    the same command gives the same frames. The video's audio is the song. The resolved config
    is written beside the video (OUT.config.toml).

    \b
    Example:
      gansmania render song.ogg --out song.mp4 --size 1280x720 --fps 30 --seed 3
      gansmania render song.wav --out intro.mp4 --start 0 --end 20 --lookahead
      gansmania render show-audio.wav --replay SHOW.gmlog --size 1920x1080 --out show.mp4
      gansmania render song.ogg --out set.mp4 --setlist kaleido_bloom,prism,symmetry --phrase-bars 8
      gansmania render long-song.flac --out long.mp4 --segments 4 --jobs 2
    """
    from visualizer.commands.live import _parse_size, with_setlist
    from visualizer.core.config import override

    replay = None
    if replay_path is not None:
        from visualizer.record.showlog import read_show_log

        replay = read_show_log(replay_path)
    show = _base_config(config_path, assignments, replay, replay_path)
    options = {"model.path": model_path, "display.size": _parse_size(size)}
    for key, value in options.items():
        if value is not None:
            show = override(show, key, value, origin=f"--{key.split('.')[1]}")
    rate = fps if fps is not None else show.record.fps
    show = override(show, "record.fps", rate, origin="--fps")
    show = override(show, "display.fps", rate, origin="--fps")
    from visualizer.offline import RenderJob, render_song
    from visualizer.show import prepare_show

    show = prepare_show(with_setlist(show, setlist, phrase_bars), preset=preset,
                        default=replay.header.preset if replay else None)
    if seed is None and replay is not None:
        seed = replay.header.seed
    job = RenderJob(audio=audio, out=out, seed=seed, start_s=start_s,
                    end_s=end_s, lookahead=lookahead, replay=replay, generator_fps=generator_fps)
    if generator_batch is not None:
        job = dataclasses.replace(job, generator_batch=generator_batch)
    if segments > 1:
        import functools
        import os

        from visualizer.segments import render_segmented

        run = functools.partial(render_segmented, segments=segments,
                                jobs=jobs or min(segments, os.cpu_count() or 1))
    else:
        run = render_song
    if no_progress:
        result = run(show, job)
    else:
        with _progress_bar(out.name) as update:
            result = run(show, job, progress=update)
    width, height = show.config.display.size
    click.echo(f"{result.path}: {result.frames} frames, {result.duration_s:.2f} s at "
               f"{width}x{height}, {rate:g} fps ({result.encoder}); rendered in "
               f"{result.wall_s:.1f} s ({result.speed:.2f}x real time)")


def _base_config(config_path: Path | None, assignments: tuple[str, ...], replay, replay_path):
    """--config (or, replaying, the show log's own config), then --set."""
    from visualizer.commands.config import load_show_config
    from visualizer.core.config import from_dict, override, parse_assignment
    from visualizer.settings import ShowConfig

    if replay is None or config_path is not None:
        return load_show_config(config_path, assignments)
    show = from_dict(ShowConfig, dict(replay.header.config), origin=f"{replay_path} (header)")
    for assignment in assignments:
        key, value = parse_assignment(assignment)
        show = override(show, key, value, origin="--set")
    return show


def _progress_bar(name: str):
    """Progress with frames done, elapsed time and ETA; yields update(done, total).

    On a terminal: a rich progress bar (stderr). Otherwise (CI, a log file): a log line every
    10 %, so a long render still says how far it is and when it will be done.
    """
    import contextlib
    import logging
    import time

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)

    @contextlib.contextmanager
    def bar():
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("frames"), TimeElapsedColumn(), TextColumn("ETA"),
                      TimeRemainingColumn(), console=console) as progress:
            task = progress.add_task(f"rendering {name}", total=None)

            def update(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            yield update

    @contextlib.contextmanager
    def lines():
        log = logging.getLogger("visualizer.commands.render")
        first: list[float] = []  # when the first frame was done: the rate leaves out start-up
        shown = [0]

        def update(done: int, total: int) -> None:
            now = time.perf_counter()
            if not first:
                first.append(now)
            tenth = done * 10 // total
            if tenth > shown[0] and done > 1:
                shown[0] = tenth
                elapsed = now - first[0]
                eta = elapsed / (done - 1) * (total - done)
                log.info("rendering %s: %d/%d frames (%d%%), %s elapsed, ETA %s", name, done,
                         total, done * 100 // total, _clock(elapsed), _clock(eta))

        yield update

    return bar() if console.is_terminal else lines()


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{rest:02d}"
