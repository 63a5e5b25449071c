"""The exported graph: onnx.checker clean, TensorRT 10 operators only, static spatial shapes,
dynamic batch, metadata a backend can read."""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from engine_build.export import (
    EXPORT_VERSION,
    GraphInfo,
    check_graph,
    graph_operators,
    read_graph_info,
    tensorrt_operator_list,
)
from tests.engines import exported
from visualizer.core.errors import GansmaniaError


@pytest.fixture(scope="module")
def cpu_export(tmp_path_factory):
    return exported("cpu", tmp_path_factory.mktemp("export"))


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_graph_passes_the_checker_and_uses_only_tensorrt_10_operators(cpu_export):
    _, path = cpu_export
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    supported = tensorrt_operator_list()
    used = set(graph_operators(model))
    assert used <= supported.operators, used - supported.operators
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    assert supported.min_opset <= opset <= supported.max_opset
    # The non-fused modulated conv: constant conv weights, so plain Conv/ConvTranspose.
    assert {"Conv", "ConvTranspose"} <= used


def test_only_the_batch_is_dynamic(cpu_export):
    generator, path = cpu_export
    model = onnx.load(str(path))
    shapes = {v.name: _dims(v) for v in [*model.graph.input, *model.graph.output]}
    r = generator.img_resolution
    assert shapes == {"ws": ["batch", generator.num_ws, generator.w_dim],
                      "noise_gain": ["batch"], "image": ["batch", 3, r, r]}


def test_static_shape_arithmetic_is_folded(cpu_export):
    # The FIR resampling slices by the input's own (static) size; unfolded, the traced graph
    # has ~90 Shape ops. Only the batch-size lookup (tiling the learned constant) remains.
    _, path = cpu_export
    counts = graph_operators(onnx.load(str(path)))
    assert counts["Shape"] <= 2
    assert counts["Gather"] <= 2


def test_metadata_describes_the_graph(cpu_export):
    generator, path = cpu_export
    assert read_graph_info(path) == GraphInfo(
        num_ws=generator.num_ws, w_dim=generator.w_dim, resolution=generator.img_resolution,
        img_channels=3, model_hash="test-cpu-0", export_version=EXPORT_VERSION)


def _tiny_model(op_type: str, *, out_shape: tuple = (2, 2)):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape))
    graph = helper.make_graph([helper.make_node(op_type, ["x"], ["y"])], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_an_operator_tensorrt_cannot_parse_is_refused():
    check_graph(_tiny_model("Relu"), origin="relu.onnx")  # on the list: accepted
    with pytest.raises(GansmaniaError, match=r"det\.onnx: operators TensorRT 10 does not "
                                             r"parse: Det"):
        check_graph(_tiny_model("Det", out_shape=()), origin="det.onnx")


def test_an_opset_outside_tensorrts_range_is_refused():
    model = _tiny_model("Relu")
    model.opset_import[0].version = 8
    with pytest.raises(GansmaniaError, match="opset 8; TensorRT 10 parses opsets 9-24"):
        check_graph(model, origin="old.onnx")


def test_operator_list_is_the_tensorrt_10_matrix():
    supported = tensorrt_operator_list()
    assert (supported.min_opset, supported.max_opset) == (9, 24)
    assert {"Conv", "ConvTranspose", "Slice", "Pad", "Gemm", "LeakyRelu"} <= supported.operators
    # Marked "N" in onnx-tensorrt's matrix.
    assert not {"Det", "Unique", "ConvInteger", "StringNormalizer"} & supported.operators


def test_foreign_or_damaged_onnx_files_are_one_line_errors(tmp_path):
    plain = tmp_path / "plain.onnx"
    onnx.save(_tiny_model("Relu"), str(plain))
    with pytest.raises(GansmaniaError, match="without gansmania metadata"):
        read_graph_info(plain)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\xff\xff not protobuf")
    with pytest.raises(GansmaniaError, match="not a readable ONNX file"):
        read_graph_info(garbage)


def test_export_leaves_the_callers_generator_as_it_was(tmp_path):
    from engine_build.export import export_onnx
    from tests.training.generators import TINY, randomised

    generator = randomised(TINY).train().requires_grad_(True)
    export_onnx(generator, tmp_path / "tiny.onnx")
    assert generator.synthesis.training
    assert all(p.requires_grad for p in generator.parameters())
