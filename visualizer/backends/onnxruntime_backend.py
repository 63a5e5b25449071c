"""The ONNX Runtime backend: the exported synthesis graph on the CPU (or CUDA) provider.

Session options, chosen for one frame at a time on a small CPU (bench/backends.py measures
them):

- ``ORT_ENABLE_ALL``: constant folding and Conv+Add/Mul fusions, and on the CPU the NCHWc
  layout transformer, which runs the convolutions in the blocked layouts MLAS's kernels want
  (this, more than anything, is why ONNX Runtime beats torch eager here).
- sequential execution with one inter-op thread: the graph is one chain of layers, so a
  parallel executor would only add scheduling cost.
- intra-op threads = the cores (``threads`` overrides): each convolution is split across
  them.
- spinning kept on: the graph is ~500 small operators, and waking sleeping worker threads
  for each doubled the frame time on 2 cores (23 vs 12 ms for the ``cpu`` config). Workers
  spin only while a frame is computed, so the audio and render threads get the cores back
  between frames. ``spin=False`` trades that speed for a quieter CPU.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine_build.export import (INPUT_NOISE_GAIN, INPUT_TRANSFORM, INPUT_WS, OUTPUT_IMAGE,
                                 read_graph_info)
from visualizer.backends.base import Availability, MotionNotice, note_noise_free
from visualizer.core.errors import GansmaniaError
from visualizer.mapping.frames import LatentFrame
from visualizer.render.frames import float_chw_to_rgb8

if TYPE_CHECKING:
    from visualizer.backends.base import BackendRequest

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
DEVICES = ("cpu", "cuda")


def availability(device: str) -> Availability:
    """Can ONNX Runtime run on ``device`` ('cpu' | 'cuda') in this installation?"""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        return Availability(False, f"onnxruntime is not installed ({exc})")
    provider = CUDA_PROVIDER if device == "cuda" else CPU_PROVIDER
    if provider not in ort.get_available_providers():
        return Availability(False, f"onnxruntime {ort.__version__} has no {provider}"
                                   + (" (install onnxruntime-gpu)" if device == "cuda" else ""))
    return Availability(True, f"onnxruntime {ort.__version__} with {provider}")


def session_options(*, threads: int | None = None, spin: bool = True):
    """Low-latency batch-1 session options (see the module docstring for each choice)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    options.log_severity_level = 3  # errors only: its warnings are about node placement
    return options


class OnnxRuntimeGenerator:
    """A :class:`~visualizer.backends.base.ImageBackend` running an exported graph.

    ``synthesize`` returns uint8 (H, W, 3) numpy, on both providers (CUDA copies the frame
    back to the host). ``run_batch`` runs a whole batch (benchmarks, offline rendering).
    """

    def __init__(self, onnx_path: Path | str, *, device: str = "cpu",
                 threads: int | None = None, spin: bool = True):
        import onnxruntime as ort

        if device not in DEVICES:
            raise GansmaniaError(f"onnxruntime device {device!r}; allowed: {', '.join(DEVICES)}")
        status = availability(device)
        if not status.ok:
            raise GansmaniaError(status.reason)
        self.onnx_path = Path(onnx_path)
        info = read_graph_info(self.onnx_path)
        self.resolution, self.num_ws, self.w_dim = info.resolution, info.num_ws, info.w_dim
        self.moves = info.transform_input  # a StyleGAN3 graph: takes translate/rotate
        self.name = f"onnxruntime-{device}"
        self.device = device
        providers = [CPU_PROVIDER] if device == "cpu" else [(CUDA_PROVIDER, {"device_id": 0}),
                                                           CPU_PROVIDER]
        options = session_options(threads=threads, spin=spin)
        self.threads = options.intra_op_num_threads  # shown in stats and benchmarks
        try:
            self._session = ort.InferenceSession(str(self.onnx_path), options,
                                                 providers=providers)
        except (*_ort_errors(), RuntimeError, ValueError) as exc:
            raise GansmaniaError(f"{self.onnx_path}: ONNX Runtime cannot load it "
                                 f"({' '.join(str(exc).split())[:300]})") from None
        if device == "cuda" and self._session.get_providers()[0] != CUDA_PROVIDER:
            raise GansmaniaError(f"{self.onnx_path}: ONNX Runtime fell back to the CPU "
                                 "(CUDA provider failed to start; see its log)")
        # A generator trained with its noise inputs off exports a graph without `noise_gain`.
        self._feeds_noise = INPUT_NOISE_GAIN in {i.name for i in self._session.get_inputs()}
        if not self.moves and not self._feeds_noise:
            note_noise_free(self.name)
        self._noise_gain = np.zeros([1], dtype=np.float32)
        self._transform = np.zeros([1, 3], dtype=np.float32)
        self._motion_notice = MotionNotice(self.name)

    @classmethod
    def from_model(cls, model_path: Path | str, *, device: str = "cpu",
                   threads: int | None = None, spin: bool = True,
                   generator: Any = None) -> OnnxRuntimeGenerator:
        """Export ``model_path`` once (cached, see ``engine_build.cache``) and load it;
        ``generator``: the model already loaded from ``model_path``, if any."""
        from engine_build.cache import ensure_onnx

        return cls(ensure_onnx(model_path, generator=generator), device=device,
                   threads=threads, spin=spin)

    def synthesize(self, frame: LatentFrame) -> np.ndarray:
        """uint8 (R, R, 3): the image for ``frame.ws`` [num_ws, w_dim] and its noise gain."""
        if frame.ws.shape != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must be [{self.num_ws}, {self.w_dim}], got {frame.ws.shape}")
        self._noise_gain[0] = frame.noise_gain
        self._transform[0] = frame.transform
        if not self.moves:
            self._motion_notice.check(frame)
        image = self.run_batch(frame.ws[None], self._noise_gain, self._transform)
        return float_chw_to_rgb8(image[0])

    def synthesize_many(self, frames: Sequence[LatentFrame]) -> list[np.ndarray]:
        """uint8 (R, R, 3) images of ``frames``, painted as one batch on the CPU provider: MLAS
        computes each image of a batch as it computes it alone (`BatchBackend`; the render
        tests compare). On CUDA one by one: cuDNN may pick other kernels per batch size."""
        if self.device != "cpu":
            return [self.synthesize(frame) for frame in frames]
        for frame in frames:
            if frame.ws.shape != (self.num_ws, self.w_dim):
                raise ValueError(f"ws must be [{self.num_ws}, {self.w_dim}], got {frame.ws.shape}")
            if not self.moves:
                self._motion_notice.check(frame)
        images = self.run_batch(
            np.stack([frame.ws for frame in frames]),
            np.array([frame.noise_gain for frame in frames], dtype=np.float32),
            np.array([frame.transform for frame in frames], dtype=np.float32))
        return [float_chw_to_rgb8(image) for image in images]

    def run_batch(self, ws: np.ndarray, noise_gain: np.ndarray,
                  transform: np.ndarray | None = None) -> np.ndarray:
        """ws float32 [B, num_ws, w_dim], noise_gain float32 [B] (StyleGAN2 graphs), transform
        float32 [B, 3] (StyleGAN3 graphs; None = no motion) -> float32 [B, 3, R, R]."""
        if not self.moves:
            feeds = {INPUT_WS: ws}
            if self._feeds_noise:
                feeds[INPUT_NOISE_GAIN] = noise_gain
            return self._session.run([OUTPUT_IMAGE], feeds)[0]
        if transform is None:
            transform = np.zeros([ws.shape[0], 3], dtype=np.float32)
        return self._session.run([OUTPUT_IMAGE], {INPUT_WS: ws, INPUT_TRANSFORM: transform})[0]

    def close(self) -> None:
        self._session = None


def _ort_errors() -> tuple[type[Exception], ...]:
    """ONNX Runtime's load errors (pybind classes deriving from Exception directly)."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    return tuple(getattr(state, name) for name in (
        "Fail", "InvalidArgument", "InvalidGraph", "InvalidProtobuf", "NoSuchFile",
        "NotImplemented", "RuntimeException") if hasattr(state, name))


# ------------------------------------------------------------------ registry hooks

def unavailable(request: BackendRequest) -> str | None:
    """Why this backend cannot run ``request`` here (None: it can). Device "auto" needs
    only the CPU provider; "cuda" needs the CUDA provider and a GPU."""
    if request.device == "cuda":
        import torch

        status = availability("cuda")
        if not status.ok:
            return status.reason
        return None if torch.cuda.is_available() else "no CUDA GPU visible to torch"
    status = availability("cpu")
    return None if status.ok else status.reason


def create(request: BackendRequest) -> OnnxRuntimeGenerator:
    """The registry's factory: CUDA when asked for (or "auto" and usable), else the CPU with
    as many intra-op threads as torch was given (the live loop sizes that for the machine)."""
    import torch

    device = request.device
    if device == "auto":
        device = "cuda" if unavailable(dataclasses.replace(request, device="cuda")) is None \
            else "cpu"
    threads = torch.get_num_threads() if device == "cpu" else None
    return OnnxRuntimeGenerator.from_model(request.model_path, device=device, threads=threads,
                                           generator=request.generator)
