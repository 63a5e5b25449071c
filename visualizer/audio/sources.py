"""Audio sources: the ``--input`` value -> the source that delivers its samples.

- `visualizer.audio.soundcard.LiveInput`: a PortAudio input through PyAudio (a device index,
  a name substring, or ``pulse:SOURCE`` for a PulseAudio source);
- `visualizer.audio.filesource.FileSource`: an audio file played in real time, as if live.

Both implement `visualizer.audio.capture.AudioSource`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from visualizer.audio.capture import AudioSource


def looks_like_file(spec: str) -> bool:
    """True when an --input value names a file rather than a device."""
    if not spec or spec.startswith("pulse:") or spec.isdigit():
        return False
    path = Path(spec).expanduser()
    return path.exists() or path.suffix.lower() in AUDIO_SUFFIXES or "/" in spec


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".opus", ".m4a")


DEMO_INPUT = "demo"  # `--input demo` plays the bundled demo track, as `make demo` does


def open_source(spec: str, *, sample_rate: int = 48000, block: int = 256, channels: int = 0,
                monitor: bool = False, loop: bool = False) -> AudioSource:
    """The source an ``--input`` value names (not started yet).

    ``spec``: "" (default input), a device index, a name substring, ``pulse:SOURCE``, an
    audio file path, or ``demo`` (the bundled demo track). ``channels``: the 1-based channel to
    use (0 = mix all down), which decides how many channels a live input captures.
    ``monitor``/``loop`` apply to files.
    """
    if spec == DEMO_INPUT:
        from visualizer.audio.demo import demo_track_path

        spec = str(demo_track_path())
    if looks_like_file(spec):
        from visualizer.audio.filesource import FileSource

        return FileSource(Path(spec).expanduser(), block=block, monitor=monitor, loop=loop)
    from visualizer.audio.soundcard import LiveInput

    return LiveInput(spec, sample_rate=sample_rate, block=block,
                     channels=channels if channels else 0)


def mixdown(block: np.ndarray, out: np.ndarray, *, channel: int) -> np.ndarray:
    """Channel ``channel`` (1-based) of ``block`` (frames, channels), or the mean of all when 0,
    written into ``out`` (frames,)."""
    if channel == 0:
        if block.shape[1] == 1:
            out[:] = block[:, 0]
        else:
            np.mean(block, axis=1, out=out)
    else:
        out[:] = block[:, channel - 1]
    return out

