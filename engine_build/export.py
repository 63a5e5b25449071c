"""ONNX export of the synthesis network, for ONNX Runtime and TensorRT.

The graph takes ``ws`` float32 [B, num_ws, w_dim] and ``noise_gain`` float32 [B] and returns
``image`` float32 [B, img_channels, R, R] (about [-1, 1]). A StyleGAN3 graph takes
``transform`` float32 [B, 3] (translate_x, translate_y, rotate_deg: the live input transform)
instead of ``noise_gain`` (it has no noise); ``GraphInfo.transform_input`` says which. A
StyleGAN2 generator trained with its noise inputs off (``generator.use_noise=false``) gives a
graph with ``ws`` only: the exporter drops an input nothing reads, and the backends feed
``noise_gain`` only to a graph that takes it. Only the batch is dynamic; every spatial shape is
static. Choices, and why:

- Non-fused modulated convolution: conv weights stay graph constants (no per-sample weights,
  no grouped convolution), which ONNX Runtime and TensorRT both compile well.
- Noise is the generator's stored constant noise times ``noise_gain`` (the controller drives
  it, 0 = none): deterministic, so backends can be compared bit for bit with torch.
- Truncation is not a graph input: the latent controller applies it in w space before a
  backend runs (``LatentFrame.ws`` is final), so the graph stays one fixed function.
- The traced graph computes its static spatial sizes through Shape/Gather chains (the FIR
  resampling slices the input by its own size). onnxslim folds those to constants, which
  halves the node count and leaves only the batch-size arithmetic.

Every export is checked: ``onnx.checker`` (full), the opset and every operator against
``trt_onnx_ops.txt`` (TensorRT 10's ONNX operator list, kept in the repository).
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from visualizer.core.atomic import replaced_atomically
from visualizer.core.errors import GansmaniaError

OPSET = 17
# Bump when the exported graph changes (inputs, noise handling, folding): it is part of every
# cache key, so stale ONNX files and engines are rebuilt instead of reused.
EXPORT_VERSION = 1
INPUT_WS = "ws"
INPUT_NOISE_GAIN = "noise_gain"
INPUT_TRANSFORM = "transform"
OUTPUT_IMAGE = "image"
BATCH_DIM = "batch"
_META_PREFIX = "gansmania."


@dataclass(frozen=True, slots=True)
class GraphInfo:
    """What a backend needs to know about an exported graph (stored in its metadata)."""

    num_ws: int  # ws rows
    w_dim: int  # ws columns
    resolution: int  # output size in pixels (square)
    img_channels: int
    model_hash: str  # sha256 of the generator weights ("" when exported from memory)
    export_version: int
    transform_input: bool = False  # takes `transform` (StyleGAN3) instead of `noise_gain`


class ExportedSynthesis(nn.Module):
    """(ws [B, num_ws, w_dim], noise_gain [B]) -> image [B, C, R, R]: what the graph computes."""

    def __init__(self, synthesis: nn.Module):
        super().__init__()
        self.synthesis = synthesis

    def forward(self, ws: torch.Tensor, noise_gain: torch.Tensor) -> torch.Tensor:
        return self.synthesis(ws, noise_mode="const", fused_modconv=False, noise_gain=noise_gain)


class ExportedAliasFree(nn.Module):
    """(ws [B, num_ws, w_dim], transform [B, 3]) -> image [B, C, R, R]: a StyleGAN3 graph."""

    def __init__(self, synthesis: nn.Module):
        super().__init__()
        self.synthesis = synthesis

    def forward(self, ws: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
        return self.synthesis(ws, transform=transform, fused_modconv=False)


def export_onnx(generator: nn.Module, path: Path | str, *, model_hash: str = "",
                opset: int = OPSET) -> Path:
    """Export ``generator.synthesis`` (a :class:`training.networks.Generator` or
    ``StyleGAN3Generator``) to ``path``.

    Written atomically (a crash leaves the old file or none); raises :class:`GansmaniaError`
    if the graph fails the checks. Takes seconds for the ``cpu`` config, about a minute for
    ``1024`` on a laptop CPU.
    """
    import onnx
    import onnxslim

    path = Path(path)
    synthesis = generator.synthesis
    if any(p.device.type != "cpu" for p in synthesis.parameters()):
        synthesis = copy.deepcopy(synthesis).cpu()  # trace on the CPU; leave the caller's be
    from training.networks import StyleGAN3Generator

    transform_input = isinstance(generator, StyleGAN3Generator)
    if transform_input:
        module = ExportedAliasFree(synthesis)
        second_input, second = INPUT_TRANSFORM, torch.zeros([1, 3])
    else:
        module = ExportedSynthesis(synthesis)
        second_input, second = INPUT_NOISE_GAIN, torch.ones([1])
    was_training = synthesis.training
    ws = torch.zeros([1, synthesis.num_ws, synthesis.w_dim])
    try:
        synthesis.eval()
        with replaced_atomically(path) as temporary:
            with warnings.catch_warnings(), torch.no_grad():
                # The tracer warns about every Python-side shape computation; all of them are the
                # static spatial sizes this export wants baked in.
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                warnings.filterwarnings("ignore", message=".*[Cc]onstant folding.*")
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                torch.onnx.export(
                    module, (ws, second), str(temporary), dynamo=False, opset_version=opset,
                    input_names=[INPUT_WS, second_input], output_names=[OUTPUT_IMAGE],
                    dynamic_axes={INPUT_WS: {0: BATCH_DIM}, second_input: {0: BATCH_DIM},
                                  OUTPUT_IMAGE: {0: BATCH_DIM}},
                    do_constant_folding=True)
            model = onnxslim.slim(onnx.load(str(temporary)))
            info = GraphInfo(num_ws=synthesis.num_ws, w_dim=synthesis.w_dim,
                             resolution=synthesis.img_resolution,
                             img_channels=synthesis.img_channels, model_hash=model_hash,
                             export_version=EXPORT_VERSION, transform_input=transform_input)
            _set_metadata(model, info)
            check_graph(model, origin=str(path))
            onnx.save(model, str(temporary))
    finally:
        synthesis.train(was_training)
    return path


def _set_metadata(model, info: GraphInfo) -> None:
    del model.metadata_props[:]
    for name, value in dataclasses.asdict(info).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = _META_PREFIX + name, str(value)
    model.producer_name = "gansmania"


def read_graph_info(path: Path | str) -> GraphInfo:
    """The :class:`GraphInfo` stored in an exported graph (no weights are read)."""
    import onnx
    from google.protobuf.message import DecodeError

    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (OSError, DecodeError, ValueError) as exc:
        raise GansmaniaError(f"{path}: not a readable ONNX file ({exc})") from None
    meta = {p.key[len(_META_PREFIX):]: p.value for p in model.metadata_props
            if p.key.startswith(_META_PREFIX)}
    try:
        return GraphInfo(num_ws=int(meta["num_ws"]), w_dim=int(meta["w_dim"]),
                         resolution=int(meta["resolution"]),
                         img_channels=int(meta["img_channels"]),
                         model_hash=meta.get("model_hash", ""),
                         export_version=int(meta["export_version"]),
                         transform_input=meta.get("transform_input") == "True")
    except (KeyError, ValueError):
        raise GansmaniaError(f"{path}: ONNX file without gansmania metadata (not written by "
                             "`gansmania build-engine`); export it again") from None


# ------------------------------------------------------------------------------ checks

@dataclass(frozen=True, slots=True)
class OperatorList:
    """TensorRT's supported ONNX operators and opset range (from ``trt_onnx_ops.txt``)."""

    operators: frozenset[str]
    min_opset: int
    max_opset: int


def tensorrt_operator_list() -> OperatorList:
    """Parse the operator list kept in the repository (``engine_build/trt_onnx_ops.txt``)."""
    text = (resources.files("engine_build") / "trt_onnx_ops.txt").read_text()
    operators, opsets = set(), None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("opset "):
            low, high = line.split()[1].split("-")
            opsets = int(low), int(high)
        else:
            operators.add(line)
    if opsets is None or not operators:
        raise GansmaniaError("engine_build/trt_onnx_ops.txt: no 'opset LOW-HIGH' line or no "
                             "operators; the package is damaged")
    return OperatorList(frozenset(operators), *opsets)


def graph_operators(model) -> Counter:
    """Operator type -> count over the main graph and every subgraph (If/Loop bodies)."""
    counts: Counter = Counter()
    pending = [model.graph]
    while pending:
        graph = pending.pop()
        for node in graph.node:
            counts[node.op_type if node.domain in ("", "ai.onnx") else
                   f"{node.domain}::{node.op_type}"] += 1
            pending.extend(attr.g for attr in node.attribute if attr.HasField("g"))
    return counts


def check_graph(model, *, origin: str) -> None:
    """``onnx.checker`` (full) + opset and operators on the TensorRT 10 list; one-line errors."""
    import onnx

    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0]
        raise GansmaniaError(f"{origin}: exported graph fails onnx.checker: {first}") from None
    supported = tensorrt_operator_list()
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None or not supported.min_opset <= opset <= supported.max_opset:
        raise GansmaniaError(f"{origin}: ONNX opset {opset}; TensorRT 10 parses opsets "
                             f"{supported.min_opset}-{supported.max_opset}")
    unsupported = sorted(set(graph_operators(model)) - supported.operators)
    if unsupported:
        raise GansmaniaError(f"{origin}: operators TensorRT 10 does not parse: "
                             f"{', '.join(unsupported)}")
