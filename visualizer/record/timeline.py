"""The output timeline of a recording: stamped frames and audio chunks -> fixed-rate slots.

Times come in on the capture clock (``time.monotonic()`` s live, the song's own seconds
offline). ``origin_s`` on that clock is 0 in the file. Video slot ``k`` covers the time
``origin_s + k / fps``: each slot shows the newest frame stamped nearest to it, so a display
running faster than the recording skips frames and a slower one repeats them. Frames stamped
with the time they went on screen (``on_screen``, ``record.align = "presented"``) are placed as
a camera would film them: a slot shows the frame that was on screen at its time, never one that
was shown after it (the nearest slot could be up to half a slot earlier than the screen, which
makes a picture look faster than it was). Audio is placed
by its stamp too, with silence for gaps, so both tracks stay on one timeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Audio stamps jitter by a fraction of a callback block: within this, chunks are taken as
# contiguous (sample counting beats a noisy clock); beyond it, a gap is filled with silence.
AUDIO_GAP_S = 0.05


@dataclass(frozen=True)
class SlotRun:
    """Write ``image`` into slots ``first``..``first + count - 1``."""

    image: np.ndarray
    first: int
    count: int


class FrameTimeline:
    """Turns stamped frames into runs of fixed-rate slots (repeats and skips counted)."""

    def __init__(self, *, fps: float, origin_s: float, on_screen: bool = False) -> None:
        """``on_screen``: stamps are present times (see the module docstring)."""
        self.fps = fps
        self.origin_s = origin_s
        self.on_screen = on_screen
        self.next_slot = 0  # slots before this are written
        self.repeated = 0  # slots that repeat the previous frame
        self.skipped = 0  # frames replaced by a newer one in the same slot
        self._held: np.ndarray | None = None  # the frame for `next_slot`, until a newer slot shows up

    def slot_of(self, t_s: float) -> int:
        """The slot nearest to ``t_s`` (a tie goes to the later slot); with ``on_screen``, the
        first slot at or after it."""
        position = (t_s - self.origin_s) * self.fps
        if self.on_screen:
            return max(0, math.ceil(position - 1e-9))  # -1e-9: a stamp on a slot's time is that slot
        return max(0, math.floor(position + 0.5))

    def add(self, image: np.ndarray, *, t_s: float) -> SlotRun | None:
        """Take a frame stamped ``t_s``; returns the run now final (the previously held frame)."""
        slot = max(self.slot_of(t_s), self.next_slot)  # a late stamp lands in the next free slot
        run = None
        if self._held is not None:
            if slot == self.next_slot:
                self.skipped += 1
            else:
                run = SlotRun(self._held, self.next_slot, slot - self.next_slot)
                self.repeated += run.count - 1
                self.next_slot = slot
        elif slot > 0:
            # Slots before the first frame show it too (the file starts at the origin).
            run = SlotRun(image, 0, slot)
            self.next_slot = slot
        self._held = image
        return run

    def finish(self, *, end_slot: int | None = None) -> SlotRun | None:
        """The held frame's final run: up to ``end_slot`` (the audio's end) when given, else one
        slot. A held frame at or past ``end_slot`` would only outlast the audio: it is skipped."""
        if self._held is None:
            return None
        if end_slot is not None and self.next_slot >= end_slot > 0:
            self.skipped += 1
            self._held = None
            return None
        count = 1 if end_slot is None else max(1, end_slot - self.next_slot)
        run = SlotRun(self._held, self.next_slot, count)
        self.repeated += count - 1
        self.next_slot += count
        self._held = None
        return run


class AudioTimeline:
    """Places stamped audio chunks on the output's sample grid."""

    def __init__(self, *, sample_rate: int, channels: int, origin_s: float) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.origin_s = origin_s
        self.written = 0  # samples (per channel) placed so far
        self.gaps = 0  # silences inserted for missing audio

    def add(self, samples: np.ndarray, *, t_s: float) -> list[np.ndarray]:
        """``samples`` (n, channels) float32 whose first sample was captured at ``t_s``; returns
        the blocks to encode next, in order (silence first when audio was missing)."""
        start = round((t_s - self.origin_s) * self.sample_rate)
        tolerance = round(AUDIO_GAP_S * self.sample_rate)
        if start < 0:  # captured before the recording began
            samples = samples[-start:]
            start = 0
        blocks = []
        if start > self.written + tolerance:
            blocks.append(self.silence(start - self.written))
            self.gaps += 1
        elif start < self.written - tolerance:
            samples = samples[self.written - start:]  # overlaps what is already written
        if samples.shape[0]:
            blocks.append(samples)
        self.written += sum(block.shape[0] for block in blocks)
        return blocks

    def pad_to(self, samples: int) -> np.ndarray | None:
        """Silence up to ``samples`` written (the video ran longer than the audio), or None."""
        if samples <= self.written:
            return None
        block = self.silence(samples - self.written)
        self.written = samples
        return block

    def silence(self, frames: int) -> np.ndarray:
        return np.zeros((frames, self.channels), dtype=np.float32)
