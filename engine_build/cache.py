"""The engine cache: exported ONNX graphs and TensorRT plans, built once and reused.

Files live under ``cache_dir()/engines`` (safe to delete). An ONNX graph is keyed by the model
hash and the export version; a TensorRT plan also by precision, max batch, GPU name and
TensorRT version, because a plan only runs on the GPU model and TensorRT release it was
built with. ``ensure_onnx``/``ensure_engine`` return the cached file, or build it first with a
progress message (an fp16 engine of the 1024 config takes minutes).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine_build.export import EXPORT_VERSION
from visualizer.core.errors import GansmaniaError
from visualizer.core.paths import cache_dir

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
PRECISIONS = ("fp16", "fp32")
GENERATOR_GROUP = "G_ema"


def engines_dir() -> Path:
    """Where cached graphs, plans and timing caches live."""
    return cache_dir() / "engines"


def model_hash(model_path: Path | str) -> str:
    """SHA-256 identifying a model's weights.

    A gansmania checkpoint already stores one per group (its header, so no tensor is read);
    an NVlabs ``.pkl`` is hashed whole.
    """
    path = Path(model_path)
    if path.suffix == ".pkl":
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    from training.checkpoint import read_header

    groups = read_header(path)["groups"]
    if GENERATOR_GROUP not in groups:
        raise GansmaniaError(f"{path}: no '{GENERATOR_GROUP}' generator in this checkpoint "
                             f"(it has: {', '.join(groups) or 'nothing'})")
    return str(groups[GENERATOR_GROUP]["sha256"])


@dataclass(frozen=True, slots=True)
class EngineKey:
    """Everything a TensorRT plan depends on; two equal keys can share one plan."""

    model_hash: str  # sha256 of the generator weights
    precision: str  # "fp16" | "fp32"
    max_batch: int  # the optimisation profile covers batch 1..max_batch
    gpu: str  # CUDA device name, e.g. "NVIDIA GeForce RTX 4090"
    tensorrt_version: str  # e.g. "10.13.0.35"
    export_version: int = EXPORT_VERSION

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}; allowed: {', '.join(PRECISIONS)}")
        if self.max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {self.max_batch}")

    @property
    def stem(self) -> str:
        """A file name stem: readable, unique per key, safe on every file system."""
        return (f"{self.model_hash[:16]}-{self.precision}-b{self.max_batch}-{_slug(self.gpu)}"
                f"-trt{_slug(self.tensorrt_version)}-x{self.export_version}")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_").lower() or "unknown"


def onnx_cache_path(model_hash_: str) -> Path:
    """The cached ONNX graph of a model (device independent)."""
    return engines_dir() / f"{model_hash_[:16]}-x{EXPORT_VERSION}.onnx"


def plan_cache_path(key: EngineKey) -> Path:
    """The cached TensorRT plan for ``key``."""
    return engines_dir() / f"{key.stem}.plan"


def timing_cache_path(*, gpu: str, tensorrt_version: str) -> Path:
    """TensorRT's timing cache, shared by every build on one GPU model and TensorRT version:
    kernels timed for one engine are not timed again for the next (rebuilds take seconds)."""
    return engines_dir() / f"timing-{_slug(gpu)}-trt{_slug(tensorrt_version)}.cache"


def ensure_onnx(model_path: Path | str, *, progress: Progress = log.info,
                out: Path | None = None, generator: Any = None) -> Path:
    """The exported graph of ``model_path``: from the cache, or exported now.

    ``out`` writes to that file instead of the cache (and always exports). ``generator``: the
    model already loaded from ``model_path`` (saves loading it again).
    """
    from engine_build.export import export_onnx, read_graph_info

    model_path = Path(model_path)
    digest = model_hash(model_path)
    target = Path(out) if out is not None else onnx_cache_path(digest)
    if out is None and target.is_file():
        try:
            info = read_graph_info(target)
        except GansmaniaError:
            info = None
        if info is not None and info.model_hash == digest:
            return target
    progress(f"exporting {model_path.name} to ONNX (once per model; seconds to a minute)")
    if generator is None:
        from training.generate import load_model

        generator = load_model(model_path, device="cpu")
    return export_onnx(generator, target, model_hash=digest)


def ensure_engine(model_path: Path | str, *, precision: str = "fp16", max_batch: int = 1,
                  progress: Progress = log.info, out: Path | None = None,
                  generator: Any = None) -> Path:
    """The TensorRT plan of ``model_path`` for this GPU: from the cache, or built now.

    Needs ``tensorrt`` and a CUDA GPU (a one-line :class:`GansmaniaError` otherwise).
    ``out`` writes the plan to that file instead of the cache (and always builds).
    """
    from engine_build.tensorrt_build import build_engine, gpu_name, tensorrt_version

    version = tensorrt_version()
    gpu = gpu_name()
    key = EngineKey(model_hash=model_hash(model_path), precision=precision,
                    max_batch=max_batch, gpu=gpu, tensorrt_version=version)
    target = Path(out) if out is not None else plan_cache_path(key)
    if out is None and target.is_file():
        return target
    onnx_path = ensure_onnx(model_path, progress=progress, generator=generator)
    progress(f"building a TensorRT {precision} engine for {gpu} (batch 1-{max_batch}); this "
             "takes minutes the first time and is cached in " + str(engines_dir()))
    return build_engine(onnx_path, target, fp16=precision == "fp16", max_batch=max_batch,
                        timing_cache=timing_cache_path(gpu=gpu, tensorrt_version=version))
