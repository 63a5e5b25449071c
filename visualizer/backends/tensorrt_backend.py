"""The TensorRT backend: a serialised engine (``engine_build``) run on its own CUDA stream.

Inputs and output are torch CUDA tensors bound once by address (``set_tensor_address``), so a
frame is: copy ws from pinned host memory -> ``execute_async_v3`` -> copy the output image,
all queued on this backend's stream, and the image stays on the GPU: ``synthesize`` returns
a float [-1, 1] CUDA tensor [1, 3, R, R] for the renderer to map into its texture.

``tensorrt`` and CUDA are imported only when an engine is loaded: on a CPU-only install this
module imports fine and :func:`availability` says why the backend cannot run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine_build.export import INPUT_NOISE_GAIN, INPUT_TRANSFORM, INPUT_WS, OUTPUT_IMAGE
from visualizer.backends.base import Availability, MotionNotice, note_noise_free
from visualizer.core.errors import GansmaniaError
from visualizer.mapping.frames import LatentFrame

if TYPE_CHECKING:
    from visualizer.backends.base import BackendRequest


def availability() -> Availability:
    """Can TensorRT run here (tensorrt 10 importable, a CUDA GPU visible to torch)?"""
    try:
        import tensorrt as trt
    except ImportError:
        return Availability(False, "tensorrt is not installed (pip install 'gansmania[trt]')")
    if not str(trt.__version__).startswith("10."):
        return Availability(False, f"TensorRT {trt.__version__} is installed; gansmania needs "
                                   "TensorRT 10")
    import torch

    if not torch.cuda.is_available():
        return Availability(False, f"TensorRT {trt.__version__} is installed but torch sees no "
                                   "CUDA GPU")
    return Availability(True, f"TensorRT {trt.__version__} on {torch.cuda.get_device_name(0)}")


class TensorRTGenerator:
    """A :class:`~visualizer.backends.base.ImageBackend` running a TensorRT plan.

    Not thread-safe (one worker thread owns it, as the protocol says). Each call ends with a
    stream synchronise, so the returned tensor is complete when the caller gets it.
    """

    def __init__(self, plan_path: Path | str, *, precision: str = "fp16", device_index: int = 0):
        from engine_build.tensorrt_build import import_tensorrt

        trt = import_tensorrt()
        import torch

        if not torch.cuda.is_available():
            raise GansmaniaError("the tensorrt backend needs a CUDA GPU; torch sees none")
        self._torch = torch
        self.plan_path = Path(plan_path)
        self.name = f"tensorrt-{precision}"
        self.device = "cuda"
        self._device = torch.device("cuda", device_index)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(self.plan_path.read_bytes())
        if self._engine is None:
            raise GansmaniaError(f"{self.plan_path}: TensorRT cannot load this plan (built "
                                 "for another GPU or TensorRT version?); delete it to rebuild")
        self._context = self._engine.create_execution_context()
        _, self.num_ws, self.w_dim = tuple(self._engine.get_tensor_shape(INPUT_WS))
        _, self._channels, self.resolution, _ = tuple(self._engine.get_tensor_shape(OUTPUT_IMAGE))
        # get_tensor_profile_shape -> [min, opt, max] of profile 0.
        self.max_batch = int(self._engine.get_tensor_profile_shape(INPUT_WS, 0)[2][0])
        self._stream = torch.cuda.Stream(device=self._device)
        self._host_ws = torch.empty((1, self.num_ws, self.w_dim), dtype=torch.float32,
                                    pin_memory=True)
        # A StyleGAN3 engine takes translate/rotate (`transform`) where StyleGAN2 takes noise.
        names = {self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)}
        self.moves = INPUT_TRANSFORM in names
        # None: a StyleGAN2 engine of a generator trained with its noise inputs off.
        self._second_input = (INPUT_TRANSFORM if self.moves
                              else INPUT_NOISE_GAIN if INPUT_NOISE_GAIN in names else None)
        if self._second_input is None:
            note_noise_free(self.name)
        self._motion_notice = MotionNotice(self.name)
        self._host_noise_gain = torch.empty((1,), dtype=torch.float32, pin_memory=True)
        self._host_transform = torch.zeros((1, 3), dtype=torch.float32, pin_memory=True)
        self._buffers: dict[str, Any] = {}
        self._bound_batch = 0

    @classmethod
    def from_model(cls, model_path: Path | str, *, precision: str = "fp16",
                   max_batch: int = 1, generator: Any = None) -> TensorRTGenerator:
        """Build (once, cached; minutes, with a progress message) or reuse the engine of
        ``model_path`` for this GPU, then load it; ``generator``: the model already loaded
        from ``model_path``, if any (used only to export the graph)."""
        from engine_build.cache import ensure_engine

        plan = ensure_engine(model_path, precision=precision, max_batch=max_batch,
                             generator=generator)
        return cls(plan, precision=precision)

    def _bind(self, batch: int) -> None:
        """Device buffers for ``batch`` frames, bound to the engine by address."""
        if batch == self._bound_batch:
            return
        if not 1 <= batch <= self.max_batch:
            raise GansmaniaError(f"batch {batch}: this engine was built for 1-{self.max_batch} "
                                 "(gansmania build-engine --max-batch N)")
        torch = self._torch
        shapes = {INPUT_WS: (batch, self.num_ws, self.w_dim),
                  OUTPUT_IMAGE: (batch, self._channels, self.resolution, self.resolution)}
        if self._second_input is not None:
            shapes[self._second_input] = (batch, 3) if self.moves else (batch,)
        self._buffers = {name: torch.empty(shape, dtype=torch.float32, device=self._device)
                         for name, shape in shapes.items()}
        for name in shapes.keys() - {OUTPUT_IMAGE}:
            if not self._context.set_input_shape(name, shapes[name]):
                raise GansmaniaError(f"TensorRT refused input shape {shapes[name]} for {name}")
        for name, buffer in self._buffers.items():
            self._context.set_tensor_address(name, buffer.data_ptr())
        self._bound_batch = batch

    def synthesize(self, frame: LatentFrame):
        """float [-1, 1] CUDA tensor [1, 3, R, R] for ``frame`` (stays on the GPU)."""
        if frame.ws.shape != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must be [{self.num_ws}, {self.w_dim}], got {frame.ws.shape}")
        np.copyto(self._host_ws.numpy()[0], frame.ws)
        if self.moves:
            self._host_transform.numpy()[0] = frame.transform
            return self._run(self._host_ws, self._host_transform)
        self._motion_notice.check(frame)
        self._host_noise_gain[0] = frame.noise_gain
        return self._run(self._host_ws, self._host_noise_gain)

    def run_batch(self, ws: np.ndarray, noise_gain: np.ndarray,
                  transform: np.ndarray | None = None):
        """ws float32 [B, num_ws, w_dim], noise_gain [B] (StyleGAN2 engines), transform [B, 3]
        (StyleGAN3 engines; None = no motion) -> CUDA tensor [B, 3, R, R]."""
        torch = self._torch
        second = noise_gain
        if self.moves:
            second = np.zeros([len(ws), 3]) if transform is None else transform
        return self._run(torch.from_numpy(np.ascontiguousarray(ws, dtype=np.float32)),
                         torch.from_numpy(np.ascontiguousarray(second, dtype=np.float32)))

    def _run(self, ws, second):
        """``second``: the noise gains [B] or, for a StyleGAN3 engine, the transforms [B, 3]
        (unused by an engine without noise inputs)."""
        torch = self._torch
        self._bind(ws.shape[0])
        with torch.cuda.stream(self._stream):
            self._buffers[INPUT_WS].copy_(ws, non_blocking=True)
            if self._second_input is not None:
                self._buffers[self._second_input].copy_(second, non_blocking=True)
            if not self._context.execute_async_v3(self._stream.cuda_stream):
                raise GansmaniaError("TensorRT execution failed (see the TensorRT log)")
            # A copy, so the next frame cannot overwrite an image the renderer still holds.
            image = self._buffers[OUTPUT_IMAGE].clone()
        self._stream.synchronize()
        return image

    def close(self) -> None:
        # Order matters: the context before the engine before the runtime.
        self._buffers = {}
        self._context = None
        self._engine = None
        self._runtime = None


# ------------------------------------------------------------------ registry hooks

def unavailable(request: BackendRequest) -> str | None:
    """Why this backend cannot run ``request`` here (None: it can)."""
    if request.device == "cpu":
        return "model.device = cpu"
    status = availability()
    return None if status.ok else status.reason


def create(request: BackendRequest) -> TensorRTGenerator:
    """The registry's factory: fp16 unless model.precision = fp32; the engine comes from the
    cache or is built now (minutes, with a progress message in the log)."""
    precision = "fp32" if request.precision == "fp32" else "fp16"
    return TensorRTGenerator.from_model(request.model_path, precision=precision,
                                        generator=request.generator)
