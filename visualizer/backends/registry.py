"""The backend registry: an explicit dict of name -> how to build it and whether it can run here.

``auto`` takes the first entry of :data:`AUTO_ORDER` that can run on this machine and says why
(the HUD and ``--stats`` show the reason). A backend is added by writing one `BackendEntry`
into :data:`BACKENDS` (and its name into :data:`AUTO_ORDER` where it should be preferred).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from visualizer.backends.base import BackendRequest, ImageBackend
from visualizer.core.errors import GansmaniaError


@dataclass(frozen=True)
class BackendEntry:
    doc: str
    create: Callable[[BackendRequest], ImageBackend]
    # Why the backend cannot run for this request on this machine; None when it can.
    unavailable: Callable[[BackendRequest], str | None]


def _torch_create(request: BackendRequest) -> ImageBackend:
    from visualizer.backends.torch_backend import TorchGenerator, resolve_device

    return TorchGenerator(request.generator, device=resolve_device(request.device),
                          precision=request.precision)


def _torch_unavailable(request: BackendRequest) -> str | None:
    if request.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            return "no CUDA GPU visible to torch"
    return None


def _onnxruntime_create(request: BackendRequest) -> ImageBackend:
    from visualizer.backends import onnxruntime_backend

    return onnxruntime_backend.create(request)


def _onnxruntime_unavailable(request: BackendRequest) -> str | None:
    from visualizer.backends import onnxruntime_backend

    return onnxruntime_backend.unavailable(request)


def _tensorrt_create(request: BackendRequest) -> ImageBackend:
    from visualizer.backends import tensorrt_backend

    return tensorrt_backend.create(request)


def _tensorrt_unavailable(request: BackendRequest) -> str | None:
    from visualizer.backends import tensorrt_backend

    return tensorrt_backend.unavailable(request)


BACKENDS: dict[str, BackendEntry] = {
    "torch": BackendEntry(doc="torch eager, CPU or CUDA (fp16 layers on CUDA)",
                          create=_torch_create, unavailable=_torch_unavailable),
    "onnxruntime": BackendEntry(doc="ONNX Runtime on the exported graph (CPU; CUDA with "
                                    "onnxruntime-gpu); exported once per model, cached",
                                create=_onnxruntime_create, unavailable=_onnxruntime_unavailable),
    "tensorrt": BackendEntry(doc="TensorRT 10 engine on an NVIDIA GPU (fp16 unless "
                                 "model.precision = fp32); built once per model and GPU, cached",
                             create=_tensorrt_create, unavailable=_tensorrt_unavailable),
}

# Preference of `--backend auto`, fastest first, as (backend, device). Every GPU path before
# any CPU path; on a GPU, TensorRT then ONNX Runtime then torch. On the CPU ONNX Runtime before
# torch because it measured faster there: 2.4x torch eager's fps for the `cpu` config at batch 1
# on 2 cores (bench/backends.py; its graph optimiser runs the convolutions in blocked layouts).
# Names not in BACKENDS are skipped; model.device = cpu/cuda skips the other device's entries.
AUTO_ORDER: tuple[tuple[str, str], ...] = (
    ("tensorrt", "cuda"), ("onnxruntime", "cuda"), ("torch", "cuda"),
    ("onnxruntime", "cpu"), ("torch", "cpu"))


def resolve_backend(name: str, request: BackendRequest) -> tuple[str, str]:
    """(backend name, reason) for ``name`` ("auto" or a key of BACKENDS).

    A named backend that cannot run, or an auto choice with nothing usable, is a one-line
    GansmaniaError naming what was tried.
    """
    if name != "auto":
        entry = BACKENDS.get(name)
        if entry is None:
            raise GansmaniaError(f"backend {name!r} is not available in this build; "
                                 f"available: auto, {', '.join(BACKENDS)}")
        problem = entry.unavailable(request)
        if problem:
            raise GansmaniaError(f"backend {name!r} cannot run here: {problem}")
        return name, "asked for"
    chosen, _, reason = _auto_choice(request)
    return chosen, reason


def _auto_choice(request: BackendRequest) -> tuple[str, BackendRequest, str]:
    """The first usable (backend, device) of AUTO_ORDER: its name, the request with that
    device, and why (what was skipped ahead of it)."""
    skipped = []
    for candidate, device in AUTO_ORDER:
        entry = BACKENDS.get(candidate)
        if entry is None:
            continue
        label = f"{candidate}-{device}"
        if request.device not in ("auto", device):
            skipped.append(f"{label}: model.device = {request.device}")
            continue
        concrete = dataclasses.replace(request, device=device)
        problem = entry.unavailable(concrete)
        if problem is None:
            reason = f"auto: {label}, the first usable" + (
                f" (skipped {'; '.join(skipped)})" if skipped else "")
            return candidate, concrete, reason
        skipped.append(f"{label}: {problem}")
    raise GansmaniaError("no generator backend can run here: " + "; ".join(skipped))


def create_backend(name: str, request: BackendRequest) -> tuple[ImageBackend, str]:
    """Build the backend ``name`` resolves to; returns (generator, reason it was chosen)."""
    if name == "auto":
        chosen, request, reason = _auto_choice(request)
    else:
        chosen, reason = resolve_backend(name, request)
    return BACKENDS[chosen].create(request), reason
