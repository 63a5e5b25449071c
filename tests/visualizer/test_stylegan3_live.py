"""A live headless show on a StyleGAN3 model: OSC over real UDP turns and shifts the picture
(motion.* -> LatentFrame.transform -> the generator's input transform)."""

from __future__ import annotations

import socket
import time

import pytest
import torch

from bench.rigs.ports import free_port
from tests.visualizer.control.osc_helpers import Client, drive_show
from tests.visualizer.live_helpers import click_track, headless_app, show_config, small_model
from training.configs import stylegan3_config
from training.networks import StyleGAN3Generator
from visualizer.backends.torch_backend import TorchGenerator

TINY_T = stylegan3_config("stylegan3-t", z_dim=16, w_dim=16, img_resolution=32,
                          channel_base=256, channel_max=16, num_layers=6)


class Recording:
    """The torch backend, keeping every frame it was asked to paint and what it painted."""

    def __init__(self, inner: TorchGenerator) -> None:
        self.inner = inner
        self.name, self.device = inner.name, inner.device
        self.resolution, self.num_ws, self.w_dim = inner.resolution, inner.num_ws, inner.w_dim
        self.painted: list = []

    def synthesize(self, frame):
        image = self.inner.synthesize(frame)
        self.painted.append((frame, image.clone()))
        return image

    def close(self) -> None:
        self.inner.close()


@pytest.mark.timeout(120)
def test_osc_turns_and_shifts_a_stylegan3_show(tmp_path):
    torch.manual_seed(4)
    G = StyleGAN3Generator(TINY_T).eval().requires_grad_(False)
    backend = Recording(TorchGenerator(G))
    audio, _ = click_track(tmp_path / "clicks.wav", bpm=120.0, duration_s=20.0)
    show = show_config(audio, **{"control.osc_port": free_port(socket.SOCK_DGRAM),
                                 "display.fps": 30.0, "model.max_fps": 20.0})
    app = headless_app(show, model=small_model(generator=G, backend=backend))
    from visualizer.control.surfaces import ControlSurfaces

    surfaces = ControlSurfaces(app, show.control)
    client = Client(("127.0.0.1", app.osc_port))
    wanted = (0.25, -0.125, 90.0)

    def script():
        deadline = time.monotonic() + 30
        while not backend.painted and time.monotonic() < deadline:
            time.sleep(0.05)
        client.send("/gm/map/motion/translate_x", wanted[0])
        client.send("/gm/map/motion/translate_y", wanted[1])
        client.send("/gm/map/motion/rotate_deg", wanted[2])
        while time.monotonic() < deadline and not any(
                f.transform == pytest.approx(wanted) for f, _ in backend.painted):
            time.sleep(0.05)
        time.sleep(0.3)

    drive_show(app, script, closers=(client.close, surfaces.close), duration_s=60.0)
    assert backend.painted[0][0].transform == (0.0, 0.0, 0.0)
    moved = [(f, image) for f, image in backend.painted if f.transform == pytest.approx(wanted)]
    assert moved, "the OSC motion never reached the generator"
    frame, image = moved[-1]
    ws = torch.from_numpy(frame.ws.copy())[None]
    with torch.no_grad():
        expected = G.synthesis(ws, transform=torch.tensor([frame.transform]))
        still = G.synthesis(ws)
    torch.testing.assert_close(image, expected, atol=1e-5, rtol=0)
    assert (image - still).abs().mean() > 0.01  # the picture really moved
