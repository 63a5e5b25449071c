"""`LiveInput`: capture from a PortAudio input device through PyAudio.

The device is named like ``gansmania live --input`` takes it: "" (the default input), an
index, a name substring, or ``pulse:SOURCE`` (ALSA's "pulse" device with PULSE_SOURCE set, so
any PulseAudio/PipeWire source works, including a sink's ``.monitor``).

The PortAudio callback only copies the samples into the ring and notes the time. A supervisor
thread watches the stream: when the device disappears or stops delivering, the status turns
"failed" (the analyser then publishes silence) and the supervisor reopens the device every
``retry_s`` until it is back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator

import numpy as np

from visualizer.audio.capture import CaptureClock, SourceStatus
from visualizer.audio.devices import quiet_stderr
from visualizer.core.errors import GansmaniaError
from visualizer.core.ring import RingBuffer

log = logging.getLogger(__name__)

RING_SECONDS = 2.0  # how much audio the ring holds if the analysis thread stalls
MIX_CHANNELS = 2  # a mixdown captures the first two channels (stereo); pick others by number
STARTUP_GRACE_S = 5.0  # ALSA's pulse plugin can take ~2 s to deliver its first block


def resolve_input(pa, spec: str) -> tuple[int, str]:
    """(device index, device name) for an --input value, or a one-line GansmaniaError."""
    inputs = []
    for index in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(index)
        if int(info["maxInputChannels"]) > 0:
            inputs.append((index, str(info["name"])))
    listing = ", ".join(f"{i} {n!r}" for i, n in inputs) or "none"
    if spec == "":
        try:
            info = pa.get_default_input_device_info()
        except OSError:
            raise GansmaniaError(f"no default audio input (inputs: {listing}); "
                                 "pick one with --input (see `gansmania devices`)") from None
        return int(info["index"]), str(info["name"])
    if spec.startswith("pulse:"):
        for index, name in inputs:
            if name.lower() == "pulse":
                return index, name
        raise GansmaniaError(f"--input {spec}: ALSA's 'pulse' device is missing (inputs: "
                             f"{listing}); install libasound2-plugins and a PulseAudio server")
    if spec.isdigit():
        for index, name in inputs:
            if index == int(spec):
                return index, name
        raise GansmaniaError(f"audio input {spec} not found; inputs: {listing}")
    matches = [(i, n) for i, n in inputs if spec.lower() in n.lower()]
    if not matches:
        raise GansmaniaError(f"audio input {spec!r} not found; inputs: {listing}")
    if len(matches) > 1:
        log.info("--input %r matches %s; using %r", spec, [n for _, n in matches], matches[0][1])
    return matches[0]


@contextlib.contextmanager
def _pulse_source(spec: str) -> Iterator[None]:
    """PULSE_SOURCE set for ``pulse:SOURCE`` while the stream opens (ALSA's pulse plugin reads
    it then), and restored afterwards so nothing else inherits it."""
    if not spec.startswith("pulse:"):
        yield
        return
    saved = os.environ.get("PULSE_SOURCE")
    os.environ["PULSE_SOURCE"] = spec[len("pulse:"):]
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PULSE_SOURCE", None)
        else:
            os.environ["PULSE_SOURCE"] = saved


class LiveInput:
    """A PortAudio input device as an `AudioSource` (see the module docstring)."""

    def __init__(self, spec: str, *, sample_rate: int = 48000, block: int = 256,
                 channels: int = 0, retry_s: float = 1.0, stall_s: float = 0.5) -> None:
        """``channels``: the 1-based channel wanted (0 mixes the first two down)."""
        self.spec = spec
        self.name = spec or "default input"
        self.sample_rate = sample_rate
        self.block = block
        self.channel = channels
        self.retry_s, self.stall_s = retry_s, stall_s
        self.channels = 0
        self.ring = RingBuffer(capacity=1, channels=1)  # replaced by `start`
        self.clock = CaptureClock(sample_rate=sample_rate)
        self.input_overflows = 0
        self._pa = None
        self._stream = None
        self._status = SourceStatus("starting")
        self._last_callback = self._opened_at = 0.0
        self._callbacks = 0
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None

    # ------------------------------------------------------------------ protocol

    @property
    def status(self) -> SourceStatus:
        return self._status

    def time_of(self, n: int) -> float:
        return self.clock.time_of(n)

    def start(self) -> None:
        """Open the device (errors are one line) and start the supervisor."""
        self._open(first=True)
        self._stop.clear()
        self._supervisor = threading.Thread(target=self._supervise, name="audio-input-supervisor",
                                            daemon=True)
        self._supervisor.start()

    def stop(self) -> None:
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        self._close()
        self._status = SourceStatus("stopped", reopen_count=self._status.reopen_count)

    # ------------------------------------------------------------------ internals

    def _callback(self, in_data, frame_count, time_info, status_flags):
        # Runs on PortAudio's thread: copy, note the time, nothing else.
        self.ring.write(np.frombuffer(in_data, dtype=np.float32).reshape(frame_count,
                                                                           self.channels))
        now = time.monotonic()
        self.clock.observe(self.ring.written, now)
        self._last_callback = now
        self._callbacks += 1
        if status_flags:
            self.input_overflows += 1
        return None, 0  # pyaudio.paContinue

    def _open(self, *, first: bool) -> None:
        import pyaudio

        with quiet_stderr():
            pa = pyaudio.PyAudio()
        try:
            index, name = resolve_input(pa, self.spec)
            info = pa.get_device_info_by_index(index)
            available = int(info["maxInputChannels"])
            if self.channel > available:
                raise GansmaniaError(f"audio input {name!r} has {available} channels; "
                                     f"audio.channels={self.channel} is out of range")
            channels = self.channel if self.channel else min(available, MIX_CHANNELS)
            rate = self._pick_rate(pa, index, channels, float(info["defaultSampleRate"]))
            if first:
                self.channels, self.sample_rate = channels, rate
                self.ring = RingBuffer(capacity=int(RING_SECONDS * rate), channels=channels)
                self.clock = CaptureClock(sample_rate=rate)
            elif (channels, rate) != (self.channels, self.sample_rate):
                raise GansmaniaError(f"audio input {name!r} came back with {channels} ch at "
                                     f"{rate} Hz (was {self.channels} ch at {self.sample_rate} Hz)")
            self.clock.reset()
            self._opened_at = self._last_callback = time.monotonic()
            self._callbacks = 0
            with quiet_stderr(), _pulse_source(self.spec):
                stream = pa.open(format=pyaudio.paFloat32, channels=channels, rate=rate,
                                 input=True, input_device_index=index,
                                 frames_per_buffer=self.block, stream_callback=self._callback)
        except GansmaniaError:
            pa.terminate()
            raise
        except (OSError, ValueError) as exc:
            pa.terminate()
            raise GansmaniaError(f"cannot open audio input {self.name!r}: {exc}") from None
        self._pa, self._stream = pa, stream
        self.name = name if not self.spec.startswith("pulse:") else self.spec
        reopened = self._status.reopen_count + (0 if first else 1)
        self._status = SourceStatus("running", f"{self.name}: {channels} ch, {rate} Hz",
                                    reopen_count=reopened)
        log.info("audio input %s: %d ch at %d Hz, block %d", self.name, channels, rate,
                 self.block)

    def _pick_rate(self, pa, index: int, channels: int, default_rate: float) -> int:
        import pyaudio

        for rate in (self.sample_rate, int(default_rate)):
            try:
                if pa.is_format_supported(rate, input_device=index, input_channels=channels,
                                          input_format=pyaudio.paFloat32):
                    return rate
            except ValueError:
                continue
        return int(default_rate)

    def _close(self) -> None:
        stream, pa = self._stream, self._pa
        self._stream = self._pa = None
        with quiet_stderr():
            if stream is not None:
                # close() aborts (Pa_AbortStream cancels PortAudio's thread) rather than
                # stop_stream(), which joins it: when the PulseAudio server dies, the ALSA
                # host API's thread can spin forever, and a join would hang us with it.
                try:
                    stream.close()
                except OSError as exc:  # a vanished device may refuse; the handle is gone anyway
                    log.debug("close: %s", exc)
            if pa is not None:
                pa.terminate()

    def _fail(self, message: str) -> None:
        log.warning("audio input %s failed: %s; retrying every %.1f s", self.name, message,
                    self.retry_s)
        self._status = SourceStatus("failed", message, self._status.reopen_count)
        self._close()

    def _supervise(self) -> None:
        next_try = 0.0
        while not self._stop.wait(0.1):
            if self._status.state == "running":
                stream = self._stream
                try:
                    active = stream is not None and stream.is_active()
                except OSError:
                    active = False
                now = time.monotonic()
                if not active:
                    self._fail("the stream stopped")
                elif self._callbacks == 0 and now - self._opened_at > STARTUP_GRACE_S:
                    self._fail(f"no audio within {STARTUP_GRACE_S:.0f} s of opening")
                elif self._callbacks and now - self._last_callback > self.stall_s:
                    self._fail(f"no audio for {self.stall_s:.1f} s (device gone?)")
                next_try = time.monotonic() + self.retry_s
            elif self._status.state == "failed" and time.monotonic() >= next_try:
                try:
                    self._open(first=False)
                    log.info("audio input %s is back", self.name)
                except GansmaniaError as exc:
                    log.debug("reopen failed: %s", exc)
                    self._status = SourceStatus("failed", str(exc), self._status.reopen_count)
                    next_try = time.monotonic() + self.retry_s
