"""TensorRT engine builds from the exported ONNX graph, through the ``tensorrt`` Python API.

Written against TensorRT 10 (``pip install 'gansmania[trt]'``): explicit-batch networks, one
optimisation profile for batch 1..max, a timing cache kept between builds, a serialised
``.plan``. ``tensorrt`` is imported only inside these functions, so a CPU-only install (no
``tensorrt``, no CUDA) imports this module fine and gets a one-line error when it builds.

fp16 builds use TensorRT 10's weakly typed mode (``BuilderFlag.FP16``: TensorRT picks fp16
kernels where they are faster). The small per-sample tensors (styles, demodulation
coefficients: rank <= 2) are pinned to fp32, because the demodulation energy
sum_i s_i^2 * sum_k W^2 overflows fp16 for 512-channel layers; they cost nothing next to
the convolutions. fp32 builds turn TF32 off, so they match ONNX Runtime/torch to ~1e-3.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType

from engine_build.export import INPUT_NOISE_GAIN, INPUT_TRANSFORM, INPUT_WS, read_graph_info
from visualizer.core.atomic import replaced_atomically
from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

DEFAULT_WORKSPACE_MIB = 4096  # scratch memory TensorRT may use while choosing kernels


def import_tensorrt() -> ModuleType:
    """``tensorrt``, or a one-line :class:`GansmaniaError` saying how to get it."""
    try:
        import tensorrt
    except ImportError as exc:
        raise GansmaniaError("TensorRT is not installed (it needs an NVIDIA GPU: pip install "
                             "'gansmania[trt]'; without one use ONNX Runtime: --format onnx, "
                             f"--backend onnxruntime) ({exc})") from None
    major = int(str(tensorrt.__version__).split(".")[0])
    if major != 10:
        raise GansmaniaError(f"TensorRT {tensorrt.__version__} is installed; gansmania builds "
                             "engines with TensorRT 10 (pip install 'tensorrt>=10,<11')")
    return tensorrt


def tensorrt_version() -> str:
    """The installed TensorRT version (raises when it is missing)."""
    return str(import_tensorrt().__version__)


def gpu_name(device_index: int = 0) -> str:
    """The CUDA device's name, part of every engine's cache key."""
    import torch

    if not torch.cuda.is_available():
        raise GansmaniaError("TensorRT engines need a CUDA GPU; torch sees none "
                             "(use --backend onnxruntime or torch on this machine)")
    return torch.cuda.get_device_name(device_index)


def build_engine(onnx_path: Path | str, plan_path: Path | str, *, fp16: bool, max_batch: int,
                 opt_batch: int = 1, timing_cache: Path | None = None,
                 workspace_mib: int = DEFAULT_WORKSPACE_MIB) -> Path:
    """Build a serialised TensorRT plan from an exported graph; returns ``plan_path``.

    The profile covers batch 1..``max_batch`` and is tuned for ``opt_batch`` (1: the live
    loop). ``timing_cache`` (a file) is read when present and written back after the build.
    """
    trt = import_tensorrt()
    if not 1 <= opt_batch <= max_batch:
        raise GansmaniaError(f"--max-batch {max_batch}: must be >= 1 and >= the tuned batch "
                             f"{opt_batch}")
    onnx_path, plan_path = Path(onnx_path), Path(plan_path)
    info = read_graph_info(onnx_path)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10 networks are always explicit-batch
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(parser.get_error(i).desc() for i in range(parser.num_errors))
        raise GansmaniaError(f"{onnx_path}: TensorRT cannot parse the graph: {errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
        pinned = _pin_small_tensors_fp32(trt, network)
        # PREFER, not OBEY: a layer TensorRT cannot run in fp32 warns instead of failing.
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
        log.debug("pinned %d small layers to fp32", pinned)
    else:
        config.clear_flag(trt.BuilderFlag.TF32)

    profile = builder.create_optimization_profile()
    rows = (info.num_ws, info.w_dim)
    profile.set_shape(INPUT_WS, (1, *rows), (opt_batch, *rows), (max_batch, *rows))
    if info.transform_input:  # StyleGAN3: translate/rotate per frame instead of noise
        profile.set_shape(INPUT_TRANSFORM, (1, 3), (opt_batch, 3), (max_batch, 3))
    elif INPUT_NOISE_GAIN in {network.get_input(i).name for i in range(network.num_inputs)}:
        # (a generator trained with its noise inputs off has no noise_gain input)
        profile.set_shape(INPUT_NOISE_GAIN, (1,), (opt_batch,), (max_batch,))
    config.add_optimization_profile(profile)
    cache = _load_timing_cache(config, timing_cache)
    config.set_timing_cache(cache, ignore_mismatch=False)

    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise GansmaniaError(f"{onnx_path}: TensorRT engine build failed (see the TensorRT "
                             "messages above)")
    _write_atomically(plan_path, plan)
    if timing_cache is not None:
        _write_atomically(Path(timing_cache), config.get_timing_cache().serialize())
    return plan_path


def _pin_small_tensors_fp32(trt: ModuleType, network) -> int:
    """Ask for fp32 on every layer whose float outputs have rank <= 2 (styles, demodulation
    coefficients); the [B, C, H, W] feature maps stay free to run in fp16."""
    pinned = 0
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        outputs = [layer.get_output(i) for i in range(layer.num_outputs)]
        if not outputs or any(t.is_shape_tensor or t.dtype != trt.float32 or len(t.shape) > 2
                              for t in outputs):
            continue
        layer.precision = trt.float32
        for i in range(layer.num_outputs):
            layer.set_output_type(i, trt.float32)
        pinned += 1
    return pinned


def _load_timing_cache(config, path: Path | None):
    if path is not None and Path(path).is_file():
        try:
            return config.create_timing_cache(Path(path).read_bytes())
        except (RuntimeError, TypeError) as exc:
            log.warning("%s: unreadable TensorRT timing cache (%s); timing from scratch", path,
                        exc)
    return config.create_timing_cache(b"")


def _write_atomically(path: Path, data) -> None:
    """``data``: bytes or a TensorRT IHostMemory (both expose the buffer protocol)."""
    with replaced_atomically(path) as temporary, temporary.open("wb") as f:
        f.write(memoryview(data))
