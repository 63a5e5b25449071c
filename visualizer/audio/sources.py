"""Audio sources: where the samples come from. One protocol, two implementations.

- `visualizer.audio.live.LiveInput`: a PortAudio input through PyAudio (a device index, a
  name substring, or ``pulse:SOURCE`` for a PulseAudio source);
- `visualizer.audio.filesource.FileSource`: an audio file played in real time, as if live.

A source writes into a `RingBuffer` (all its channels, float32) and can say when each sample
was captured. It never raises once running: failures show in `status`, and a live input
retries on its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from visualizer.core.ring import RingBuffer

SourceState = Literal["starting", "running", "failed", "finished", "stopped"]


@dataclass(frozen=True)
class SourceStatus:
    state: SourceState
    message: str = ""  # why it failed, or what is playing
    reopen_count: int = 0  # successful reopens after a failure


class AudioSource(Protocol):
    name: str  # for the HUD and the log
    ring: RingBuffer  # (frames, channels) float32 samples, written by the source
    sample_rate: int  # Hz; fixed once `start` returns
    channels: int  # channels in the ring

    def start(self) -> None:
        """Open and start delivering; a bad device or file raises GansmaniaError (one line)."""

    def stop(self) -> None: ...

    @property
    def status(self) -> SourceStatus: ...

    def time_of(self, n: int) -> float:
        """Capture time (time.monotonic() s) of the sample just before ring index ``n``."""


class CaptureClock:
    """Maps ring indices to capture times from (index, callback time) observations.

    A callback runs a little after its audio was captured, by a varying amount. Over the last
    ``size`` observations, the one with the least lateness gives the offset; sample counting
    gives the rest. The callback only stores two numbers (no allocation, no lock).
    """

    def __init__(self, *, sample_rate: int, latency_s: float = 0.0, size: int = 64) -> None:
        self.sample_rate = sample_rate
        self.latency_s = latency_s  # known capture-to-callback delay (driver buffering)
        self._observations = np.full((size, 2), np.nan)  # rows: (callback time, index)
        self._count = 0

    def observe(self, n: int, t: float) -> None:
        """Called from the audio callback: ``n`` samples have arrived by time ``t``."""
        self._observations[self._count % self._observations.shape[0]] = (t, n)
        self._count += 1

    def reset(self) -> None:
        """Forget all observations (a reopened device starts a new timeline)."""
        self._observations.fill(np.nan)
        self._count = 0

    def time_of(self, n: int) -> float:
        if self._count == 0:  # nothing captured yet
            return time.monotonic()
        times, indices = self._observations[:, 0], self._observations[:, 1]
        offset = np.nanmin(times - indices / self.sample_rate)
        return float(offset + n / self.sample_rate - self.latency_s)


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
    from visualizer.audio.live import LiveInput

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

