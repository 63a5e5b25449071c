"""`gansmania analyze`: the live feature extractor, run over a file faster than real time."""

from __future__ import annotations

import json
from pathlib import Path

import click

from visualizer.commands.config import config_file_option, load_show_config, set_option


@click.command()
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help='Write {"duration_s", "bpm", "beats_s", "onsets_s", "chroma"} to this file.')
@click.option("--hop", type=click.Choice(["32", "64", "128", "256"]), default=None,
              help="Analysis hop in samples (default: audio.hop, 256).")
@config_file_option
@set_option
def analyze(audio: Path, json_path: Path | None, hop: str | None, config_path: Path | None,
            assignments: tuple[str, ...]) -> None:
    """Analyse an audio file with the same streaming extractor the live show runs.

    Prints the duration, tempo, beat and onset times and a per-second chroma summary (the
    strongest pitch classes). The audio is processed hop by hop, using only the past, exactly
    as it would be live, just faster than real time.

    \b
    Example:
      gansmania analyze song.ogg
      gansmania analyze song.wav --json song.analysis.json --hop 128
    """
    from visualizer.audio.analyzer import analyze_file
    from visualizer.audio.features import extractor_settings

    show = load_show_config(config_path, assignments)
    settings = extractor_settings(show.audio, hop=int(hop) if hop else None)
    result = analyze_file(audio, settings=settings, channel=show.audio.channels)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result.to_json()) + "\n")
    click.echo(_summary(audio, result))


def _summary(path: Path, result) -> str:
    from visualizer.audio.frames import PITCH_CLASSES

    def times(values: tuple[float, ...], limit: int = 16) -> str:
        shown = " ".join(f"{t:.2f}" for t in values[:limit])
        return shown + (f" ... ({len(values)} in all)" if len(values) > limit else "")

    lines = [f"{path.name}: {result.duration_s:.2f} s, {result.sr} Hz, hop {result.hop}",
             f"tempo: {result.bpm:.1f} BPM" if result.bpm else "tempo: not found",
             f"beats ({len(result.beats_s)}): {times(result.beats_s)}",
             f"onsets ({len(result.onsets_s)}): {times(result.onsets_s)}",
             "chroma per second (strongest pitch classes):"]
    for second, row in enumerate(result.chroma):
        if max(row) <= 0.0:
            lines.append(f"  {second:4d} s  (silence)")
            continue
        top = sorted(range(12), key=lambda k: -row[k])[:3]
        lines.append(f"  {second:4d} s  " + " ".join(f"{PITCH_CLASSES[k]:<2} {row[k]:.2f}"
                                                       for k in top))
    return "\n".join(lines)
