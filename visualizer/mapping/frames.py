"""The latent controller's contract with the generator worker: one `LatentFrame` per step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class LatentFrame:
    """What the generator should paint next; frozen, so it crosses threads without locks.

    ``ws`` is final: truncation, walks, pulses and chroma directions are already applied, so a
    backend only runs the synthesis network.
    """

    seq: int  # step number, increasing; the worker drops results older than what was shown
    t_audio: float  # capture time (time.monotonic() s) of the audio this frame was computed from
    ws: np.ndarray  # float32 [num_ws, w_dim], read-only
    noise_gain: float  # multiplier on the generator's learned per-layer noise (0 = none)
    # (translate_x, translate_y, rotate_deg) of a StyleGAN3 model's input: image widths and
    # degrees counter-clockwise. StyleGAN2 models have no such input and ignore it.
    transform: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if self.ws.ndim != 2 or self.ws.dtype != np.float32:
            raise ValueError(f"ws must be float32 [num_ws, w_dim], got {self.ws.dtype} "
                             f"{self.ws.shape}")
        self.ws.setflags(write=False)
