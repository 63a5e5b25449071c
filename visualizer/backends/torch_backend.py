"""The torch backend (CPU and CUDA) and the latent space every backend's controller walks in.

`TorchGenerator` runs the synthesis network of a loaded ``training.networks.Generator`` eagerly;
on CUDA it uses the checkpoint's own fp16 layers (NVlabs' ``num_fp16_res``). `TorchLatentSpace`
wraps the same generator's mapping network: compiled backends (ONNX Runtime, TensorRT) only
synthesise, so the controller maps seeds and z through this one, on the CPU (~0.5 ms a call).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from visualizer.backends.base import MotionNotice, note_noise_free
from visualizer.mapping.frames import LatentFrame

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when torch sees a GPU, else "cpu"; "cuda" without one is a one-line error."""
    import torch

    from visualizer.core.errors import GansmaniaError

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise GansmaniaError("model.device = cuda, but torch sees no CUDA GPU "
                             f"(torch {torch.__version__}); use --set model.device=cpu")
    return device


class TorchGenerator:
    """The :class:`visualizer.backends.base.ImageBackend` protocol on a torch module.

    ``generator``: a ``training.networks.Generator`` (eval mode, no grads) on any device; it is
    moved to ``device``. ``precision``: "auto" (fp16 layers on CUDA as the checkpoint says) or
    "fp32". Returns float [1, 3, H, W] tensors in [-1, 1] on ``device``.
    """

    def __init__(self, generator: torch.nn.Module, *, device: str = "cpu",
                 precision: str = "auto") -> None:
        import torch

        if precision not in ("auto", "fp32"):
            raise ValueError(f"precision must be auto or fp32, got {precision!r}")
        self.torch_device = torch.device(device)
        self.device = self.torch_device.type
        self.synthesis = generator.synthesis.to(self.torch_device).eval().requires_grad_(False)
        from training.networks import StyleGAN3Generator

        # StyleGAN3 takes the frames' translate/rotate as a live input; StyleGAN2 has none.
        self.moves = isinstance(generator, StyleGAN3Generator)
        self._motion_notice = MotionNotice(f"torch-{self.device}")
        self.force_fp32 = precision == "fp32"
        self.resolution = int(generator.img_resolution)
        self.num_ws = int(generator.num_ws)
        self.w_dim = int(generator.w_dim)
        fp16 = self.device == "cuda" and not self.force_fp32 and generator.config.num_fp16_res
        self.name = f"torch-{self.device}" + ("-fp16" if fp16 else "")
        if not self.moves and not generator.config.use_noise:
            note_noise_free(self.name)
        # Frames' ws are read-only numpy; they are copied into this host buffer (shared with a
        # tensor) and from there, on CUDA, to the device: no allocation per frame.
        self._host = torch.zeros((1, self.num_ws, self.w_dim), dtype=torch.float32)
        self._host_np = self._host.numpy()
        self._ws = self._host if self.device == "cpu" else self._host.to(self.torch_device)
        self._host_transform = torch.zeros((1, 3), dtype=torch.float32)
        self._host_transform_np = self._host_transform.numpy()
        self._transform = self._host_transform if self.device == "cpu" \
            else self._host_transform.to(self.torch_device)

    def synthesize(self, frame: LatentFrame) -> torch.Tensor:
        import torch

        if frame.ws.shape != (self.num_ws, self.w_dim):
            raise ValueError(f"LatentFrame.ws has shape {frame.ws.shape}, this generator needs "
                             f"({self.num_ws}, {self.w_dim})")
        np.copyto(self._host_np[0], frame.ws)
        with torch.inference_mode():
            if self._ws is not self._host:
                self._ws.copy_(self._host)
            if not self.moves:
                self._motion_notice.check(frame)
                return self.synthesis(self._ws, noise_mode="const", force_fp32=self.force_fp32,
                                      noise_gain=float(frame.noise_gain))
            self._host_transform_np[0] = frame.transform
            if self._transform is not self._host_transform:
                self._transform.copy_(self._host_transform)
            return self.synthesis(self._ws, transform=self._transform,
                                  force_fp32=self.force_fp32)

    def close(self) -> None:
        if self.device == "cuda":
            import torch

            del self.synthesis
            torch.cuda.empty_cache()


class TorchLatentSpace:
    """z/seed -> w through a generator's mapping network (on the CPU), with seeds' w cached.

    Implements ``visualizer.mapping.latent.LatentSpace``: every array is float32 numpy,
    ws untruncated, shapes [N, num_ws, w_dim].
    """

    def __init__(self, generator: torch.nn.Module) -> None:
        import copy

        from training.latents import WCache

        if generator.c_dim:
            from visualizer.core.errors import GansmaniaError

            raise GansmaniaError("conditional generators (c_dim > 0) are not supported live yet")
        # A CPU copy of the small mapping network: the synthesis may live on a GPU, and the
        # controller's mapping calls must not queue behind a frame being painted there.
        self._generator = copy.deepcopy(generator).cpu() if _device_of(generator) != "cpu" \
            else generator
        self.z_dim = int(generator.z_dim)
        self.w_dim = int(generator.w_dim)
        self.num_ws = int(generator.num_ws)
        self._cache = WCache(self._generator)
        self.w_avg = self._cache.w_avg

    @functools.cached_property
    def model_id(self) -> str:
        """The generator's identity (training.checkpoint.module_digest), for keyframe files;
        computed when first asked (a few ms per 10 MB of weights)."""
        from training.checkpoint import module_digest

        return module_digest(self._generator)

    def ws_of_seeds(self, seeds: Sequence[int]) -> np.ndarray:
        return self._cache.get_many([int(s) for s in seeds])

    def ws_of_z(self, z: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            ws = self._generator.mapping(torch.from_numpy(np.asarray(z, dtype=np.float32)), None,
                                         skip_w_avg_update=True)
        return ws.numpy()


def _device_of(module: torch.nn.Module) -> str:
    return next(module.parameters()).device.type
