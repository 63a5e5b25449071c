"""Enumerating audio inputs: PortAudio devices (through PyAudio) and PulseAudio sources."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioInput:
    index: int  # PortAudio device index (what `--input N` takes)
    name: str
    channels: int  # maximum input channels
    default_rate: float  # Hz
    host_api: str


@dataclass(frozen=True)
class PulseSource:
    name: str  # what `--input pulse:NAME` takes; "*.monitor" captures what a sink plays
    driver: str
    sample_spec: str  # e.g. "s16le 2ch 44100Hz"


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence C-level stderr: ALSA and JACK print pages of probe noise while PortAudio starts."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def portaudio() -> Iterator[pyaudio.PyAudio]:  # noqa: F821 - imported lazily
    """A PyAudio instance for the duration of the block, started without the ALSA noise."""
    import pyaudio

    with quiet_stderr():
        pa = pyaudio.PyAudio()
    try:
        yield pa
    finally:
        pa.terminate()


def list_audio_inputs() -> list[AudioInput]:
    """Every PortAudio device with at least one input channel."""
    inputs = []
    with portaudio() as pa:
        for index in range(pa.get_device_count()):
            info = pa.get_device_info_by_index(index)
            if int(info["maxInputChannels"]) > 0:
                host = pa.get_host_api_info_by_index(info["hostApi"])["name"]
                inputs.append(AudioInput(index, str(info["name"]), int(info["maxInputChannels"]),
                                         float(info["defaultSampleRate"]), str(host)))
    return inputs


def list_pulse_sources() -> list[PulseSource] | None:
    """PulseAudio/PipeWire sources, or None when no server answers (or pactl is missing)."""
    if shutil.which("pactl") is None:
        return None
    try:
        result = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True,
                                text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("pactl failed: %s", exc)
        return None
    if result.returncode != 0:
        log.debug("no PulseAudio server: %s", result.stderr.strip())
        return None
    sources = []
    for line in result.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) >= 4:
            sources.append(PulseSource(name=fields[1], driver=fields[2], sample_spec=fields[3]))
    return sources
