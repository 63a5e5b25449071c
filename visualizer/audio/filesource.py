"""Audio files: decoding with one-line errors, and `FileSource`, a file played as if live.

`FileSource` releases the file's samples into the ring at the real-time rate, so the live loop
cannot tell it from a sound card. With ``monitor`` the file also plays on the default output
(the performer hears what the visuals react to) and the output stream sets the pace.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
import wave
from pathlib import Path

import numpy as np

from visualizer.audio.capture import SourceStatus
from visualizer.audio.devices import quiet_stderr
from visualizer.core.errors import GansmaniaError
from visualizer.core.ring import RingBuffer

log = logging.getLogger(__name__)

RING_SECONDS = 2.0


def load_audio(path: Path) -> tuple[np.ndarray, int]:
    """Decode ``path``: (samples shape (frames, channels) float32 in [-1, 1], sample rate).

    Any integer width (8/16/24/32-bit), float, and any channel count. WAV/FLAC/OGG/MP3 go
    through libsndfile; other formats through audioread (ffmpeg). Errors are one line.
    """
    import soundfile

    path = Path(path)
    if not path.exists():
        raise GansmaniaError(f"{path}: file not found")
    if path.is_dir():
        raise GansmaniaError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise GansmaniaError(f"{path}: empty file (0 bytes)")
    try:
        audio, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as sndfile_error:
        audio, sr = _load_with_audioread(path, sndfile_error)
    except OSError as exc:
        raise GansmaniaError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if audio.shape[0] == 0:
        raise GansmaniaError(f"{path}: contains no audio (0 samples)")
    return np.ascontiguousarray(audio), int(sr)


# audioread hands the file to whichever backend claims it (Python's wave/aifc, ffmpeg...);
# a corrupt file surfaces as any of these.
_DECODER_ERRORS = (OSError, EOFError, RuntimeError, ValueError, struct.error, wave.Error)


def _load_with_audioread(path: Path, sndfile_error: Exception) -> tuple[np.ndarray, int]:
    import audioread

    try:
        with audioread.audio_open(str(path)) as decoder:
            sr, channels = int(decoder.samplerate), int(decoder.channels)
            chunks = [np.frombuffer(buf, dtype="<i2") for buf in decoder]
    except (audioread.DecodeError, *_DECODER_ERRORS) as exc:
        detail = str(sndfile_error).splitlines()[0] if str(sndfile_error) else type(exc).__name__
        raise GansmaniaError(f"{path}: not a readable audio file ({detail})") from None
    if channels < 1 or not chunks:
        raise GansmaniaError(f"{path}: contains no audio (0 samples)")
    pcm = np.concatenate(chunks).astype(np.float32) / 32768.0
    return pcm[: pcm.shape[0] // channels * channels].reshape(-1, channels), sr


class FileSource:
    """An audio file (or an array) delivered in real time; see the module docstring."""

    def __init__(self, path: Path | None = None, *, audio: np.ndarray | None = None,
                 sample_rate: int | None = None, block: int = 256, monitor: bool = False,
                 loop: bool = False) -> None:
        """Give ``path``, or ``audio`` (shape (frames,) or (frames, channels)) and
        ``sample_rate``."""
        if (path is None) == (audio is None):
            raise ValueError("give either path or audio")
        self.path = path
        self.name = Path(path).name if path is not None else "array"
        self.block, self.monitor, self.loop = block, monitor, loop
        self._audio = None if audio is None else np.ascontiguousarray(
            audio.reshape(audio.shape[0], -1), dtype=np.float32)
        self.sample_rate = int(sample_rate or 0)
        self.channels = 0 if self._audio is None else self._audio.shape[1]
        self.ring = RingBuffer(capacity=1, channels=1)
        self._t0 = time.monotonic()
        self._latency_s = 0.0
        self._status = SourceStatus("starting")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pa = self._stream = None
        self._position = 0  # frames delivered (also the ring's write index)

    @property
    def status(self) -> SourceStatus:
        return self._status

    @property
    def duration_s(self) -> float:
        return 0.0 if self._audio is None else self._audio.shape[0] / self.sample_rate

    def time_of(self, n: int) -> float:
        return self._t0 + n / self.sample_rate + self._latency_s

    def start(self) -> None:
        if self._audio is None:
            self._audio, self.sample_rate = load_audio(Path(self.path))
            self.channels = self._audio.shape[1]
        if self.sample_rate <= 0:
            raise ValueError("sample_rate is required with audio")
        self.ring = RingBuffer(capacity=int(RING_SECONDS * self.sample_rate),
                               channels=self.channels)
        self._stop.clear()
        self._status = SourceStatus("running", f"{self.name}: {self.duration_s:.1f} s, "
                                    f"{self.channels} ch, {self.sample_rate} Hz")
        if self.monitor and self._open_output():
            return
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._pace, name="audio-file-source", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._stream is not None:
            with quiet_stderr():
                self._stream.stop_stream()
                self._stream.close()
                self._pa.terminate()
            self._stream = self._pa = None
        self._status = SourceStatus("stopped")

    def _next_block(self, frames: int) -> np.ndarray | None:
        """The next ``frames`` of the file (fewer at its end; None once it is over)."""
        total = self._audio.shape[0]
        start = self._position % total if self.loop else self._position
        if start >= total:
            return None
        block = self._audio[start:min(start + frames, total)]
        self._position += block.shape[0]
        return block

    def _pace(self) -> None:
        while not self._stop.is_set():
            block = self._next_block(self.block)
            if block is None:
                self._status = SourceStatus("finished", f"{self.name} ended")
                return
            due = self._t0 + self._position / self.sample_rate
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            self.ring.write(block)

    def _open_output(self) -> bool:
        """Play through the default output; the output callback paces delivery."""
        import pyaudio

        with quiet_stderr():
            pa = pyaudio.PyAudio()
        silence = np.zeros((self.block, self.channels), dtype=np.float32)

        def callback(in_data, frame_count, time_info, status_flags):
            block = self._next_block(frame_count)
            if block is None:
                self._status = SourceStatus("finished", f"{self.name} ended")
                return silence[:frame_count].tobytes(), pyaudio.paComplete
            self.ring.write(block)
            if block.shape[0] < frame_count:  # the file's last, short block
                padded = np.zeros((frame_count, self.channels), dtype=np.float32)
                padded[:block.shape[0]] = block
                return padded.tobytes(), pyaudio.paContinue
            return block.tobytes(), pyaudio.paContinue

        try:
            with quiet_stderr():
                stream = pa.open(format=pyaudio.paFloat32, channels=self.channels,
                                 rate=self.sample_rate, output=True,
                                 frames_per_buffer=self.block, stream_callback=callback,
                                 start=False)
        except (OSError, ValueError) as exc:
            pa.terminate()
            log.warning("cannot play %s on the default output (%s); analysing it silently",
                        self.name, exc)
            return False
        # Samples reach the speaker one output latency after the callback hands them over.
        self._latency_s = float(stream.get_output_latency())
        self._t0 = time.monotonic()
        stream.start_stream()
        self._pa, self._stream = pa, stream
        return True
