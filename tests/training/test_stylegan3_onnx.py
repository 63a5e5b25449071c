"""StyleGAN3 through every CPU backend: the exported ONNX graph (translate/rotate as its
`transform` input) paints NVlabs' images under ONNX Runtime; the torch backend moves the
picture by the frames' transform; StyleGAN2 backends ignore it and say so once."""

import logging

import numpy as np
import pytest
import torch

from engine_build.export import INPUT_TRANSFORM, INPUT_WS, export_onnx, read_graph_info
from tests.training.generators import TINY, randomised
from tests.training.test_stylegan3 import MAX_UINT8_ERROR, reference, uint8_error
from training.generate import to_uint8
from visualizer.backends.onnxruntime_backend import OnnxRuntimeGenerator
from visualizer.backends.torch_backend import TorchGenerator
from visualizer.mapping.frames import LatentFrame


@pytest.fixture(scope="module", params=["t", "r"])
def exported(request, tmp_path_factory):
    G, case, transform = reference(request.param)
    path = export_onnx(G, tmp_path_factory.mktemp("sg3") / f"{request.param}.onnx")
    backend = OnnxRuntimeGenerator(path, threads=2)
    yield G, case, transform, path, backend
    backend.close()


def test_the_graph_takes_ws_and_the_transform(exported):
    G, _, _, path, backend = exported
    info = read_graph_info(path)
    assert info.transform_input and backend.moves
    assert (info.num_ws, info.w_dim, info.resolution) == (G.num_ws, G.w_dim, G.img_resolution)
    inputs = {i.name: i.shape for i in backend._session.get_inputs()}
    assert inputs == {INPUT_WS: ["batch", G.num_ws, G.w_dim], INPUT_TRANSFORM: ["batch", 3]}


def test_onnx_runtime_paints_nvlabs_images_still_and_moved(exported):
    _, case, transform, _, backend = exported
    ws = case["ws"].numpy()
    noise_gain = np.ones(len(ws), np.float32)  # not an input of this graph: ignored
    still = torch.from_numpy(backend.run_batch(ws, noise_gain))
    moved = torch.from_numpy(backend.run_batch(ws, noise_gain,
                                               np.repeat(transform.numpy(), len(ws), 0)))
    for got, key in ((still, "out.const"), (moved, "out.live")):
        torch.testing.assert_close(got, case[key], atol=1e-5, rtol=0, msg=key)
        assert uint8_error(got, case[key]) <= MAX_UINT8_ERROR


def test_a_frames_transform_reaches_onnx_runtime_and_torch_alike(exported):
    G, case, transform, _, backend = exported
    frame = LatentFrame(seq=1, t_audio=0.0, ws=case["ws"][0].numpy().copy(), noise_gain=0.0,
                        transform=tuple(transform[0].tolist()))
    torch_backend = TorchGenerator(G)
    assert torch_backend.moves
    painted = torch_backend.synthesize(frame)
    torch.testing.assert_close(painted, case["out.live"][:1], atol=1e-5, rtol=0)
    image = backend.synthesize(frame)
    assert image.dtype == np.uint8 and image.shape == (G.img_resolution, G.img_resolution, 3)
    assert np.abs(image.astype(int) - to_uint8(painted)[0].astype(int)).max() <= 1


def test_stylegan2_backends_ignore_the_transform_and_say_so_once(tmp_path, caplog):
    G = randomised(TINY)
    ws = G.mapping(torch.randn(1, TINY.z_dim)).detach()[0].numpy()
    still = LatentFrame(seq=1, t_audio=0.0, ws=ws.copy(), noise_gain=1.0)
    moved = LatentFrame(seq=2, t_audio=0.0, ws=ws.copy(), noise_gain=1.0,
                        transform=(0.1, 0.0, 5.0))
    ort = OnnxRuntimeGenerator(export_onnx(G, tmp_path / "sg2.onnx"), threads=2)
    for backend in (TorchGenerator(G), ort):
        assert not backend.moves
        with caplog.at_level(logging.INFO, logger="visualizer.backends.base"):
            first = np.asarray(backend.synthesize(still))
            second = np.asarray(backend.synthesize(moved))
            backend.synthesize(moved)
        np.testing.assert_array_equal(first, second)
        notes = [r for r in caplog.records if "translate/rotate" in r.getMessage()]
        assert len(notes) == 1 and backend.name in notes[0].getMessage()
        assert "StyleGAN2" in notes[0].getMessage()
        caplog.clear()
