"""The `ImageBackend` protocol every generator backend implements, and what it returns.

A backend wraps one synthesis network (torch module, ONNX Runtime session, TensorRT engine) and
turns a :class:`LatentFrame` into an image. Backends are chosen from the explicit registry in
``visualizer.backends.registry`` — never from dotted strings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from visualizer.mapping.frames import LatentFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GeneratedFrame:
    """A generator result, stamped with the latent frame it came from."""

    seq: int  # LatentFrame.seq
    t_audio: float  # LatentFrame.t_audio: the audio capture time behind this image
    image: Any  # uint8 numpy (H, W, 3), or a float [-1, 1] torch tensor [1, 3, H, W]
    gen_ms: float  # wall time of synthesize(), milliseconds


@runtime_checkable
class ImageBackend(Protocol):
    """Paints one image per LatentFrame. Not thread-safe: one worker thread owns it."""

    name: str  # e.g. "torch-cpu", "onnxruntime-cuda", "tensorrt-fp16": shown on the HUD/stats
    device: str  # where it paints: "cpu" or "cuda"
    resolution: int  # output size in pixels (square)
    num_ws: int  # LatentFrame.ws rows expected
    w_dim: int  # LatentFrame.ws columns expected

    def synthesize(self, frame: LatentFrame) -> Any:
        """The image for ``frame``: uint8 (H, W, 3) numpy or a float [-1, 1] [1, 3, H, W] tensor."""
        ...

    def close(self) -> None:
        """Release sessions, engines and device memory."""
        ...


@runtime_checkable
class BatchBackend(Protocol):
    """A backend that paints many frames in one call, each image exactly (bit for bit) what
    ``synthesize`` paints for it alone: an offline render batches its generator so and its
    frames do not change. A backend whose batches round differently (torch's convolutions
    do) does not implement it."""

    def synthesize_many(self, frames: Sequence[LatentFrame]) -> list[Any]:
        """The uint8 (H, W, 3) images of ``frames``, in order."""
        ...


@dataclass(frozen=True)
class BackendRequest:
    """What every factory gets: the checkpoint and the already loaded torch generator (CPU)."""

    model_path: Path  # the .safetensors checkpoint (compiled backends key their caches on it)
    generator: Any  # training.networks.Generator, eval mode, on the CPU
    device: str = "auto"  # model.device: auto / cpu / cuda
    precision: str = "auto"  # model.precision: auto / fp32


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether a backend can run here, and why (shown when `auto` explains its pick)."""

    ok: bool
    reason: str


class MotionNotice:
    """Says once, in the log, that a model without a movable input (StyleGAN2) ignores the
    frames' translate/rotate; a StyleGAN3 model moves its picture by them."""

    def __init__(self, backend_name: str) -> None:
        self.backend_name = backend_name
        self.said = False

    def check(self, frame: LatentFrame) -> None:
        if not self.said and any(frame.transform):
            self.said = True
            log.info("%s: translate/rotate (motion.*) are ignored: they move the input of "
                     "StyleGAN3 models, and this is a StyleGAN2 model", self.backend_name)


def note_noise_free(backend_name: str) -> None:
    """Says in the log that this StyleGAN2 model has no noise inputs (trained with
    ``generator.use_noise=false``): its graph takes no ``noise_gain``, and the noise routes and
    the audio's noise gain change nothing in its picture."""
    log.info("%s: this model has no noise inputs (generator.use_noise=false): noise gain "
             "changes nothing", backend_name)
