"""GeneratorWorker: pulls a fresh latent per frame, stamps results, survives backend failures."""

from __future__ import annotations

import time

import numpy as np

from tests.visualizer.backends.models import FailingGenerator, small_generator
from visualizer.backends.torch_backend import TorchGenerator
from visualizer.backends.worker import GeneratorWorker
from visualizer.mapping.frames import LatentFrame


class Latents:
    """Hands out LatentFrames with increasing seq and t_audio = seq / 100."""

    def __init__(self, generator) -> None:
        self.seq = 0
        self.ws = generator.mapping.w_avg.numpy()[None].repeat(generator.num_ws, 0).astype(np.float32)

    def __call__(self) -> LatentFrame:
        frame = LatentFrame(seq=self.seq, t_audio=self.seq / 100, ws=self.ws.copy(), noise_gain=1.0)
        self.seq += 1
        return frame


def wait_until(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_worker_paints_stamped_frames_from_a_pulled_latent():
    generator = small_generator()
    latents = Latents(generator)
    worker = GeneratorWorker(TorchGenerator(generator), latents, max_fps=100)
    worker.start()
    try:
        assert wait_until(lambda: worker.frames_generated >= 5)
    finally:
        worker.stop()
    frame = worker.latest.get()
    assert frame.image.dtype == np.uint8 and frame.image.shape == (64, 64, 3)  # converted off the render thread
    assert frame.t_audio == frame.seq / 100 and frame.gen_ms > 0
    assert worker.latest.version == worker.frames_generated == latents.seq  # one latent per painted frame
    assert worker.gen_ms is not None and not worker.running


def test_a_failing_backend_keeps_the_last_good_frame_and_reports_the_error():
    generator = small_generator()
    failing = FailingGenerator(TorchGenerator(generator), good_frames=3, recover_after=5)
    worker = GeneratorWorker(failing, Latents(generator), backoff_s=0.01)
    worker.start()
    try:
        assert wait_until(lambda: worker.error is not None)
        good = worker.latest.get()
        assert good is not None and good.seq == 2  # the last good frame stays in the slot
        assert worker.error.message == ("generator: RuntimeError: CUDA error: an illegal memory "
                                        "access was encountered")
        # It keeps trying and recovers when the backend does.
        assert wait_until(lambda: worker.frames_generated > 3)
    finally:
        worker.stop()
    assert worker.error.count == 5 and worker.latest.get().seq > good.seq


def test_max_fps_caps_the_rate():
    generator = small_generator()
    worker = GeneratorWorker(TorchGenerator(generator), Latents(generator), max_fps=20)
    worker.start()
    time.sleep(0.5)
    worker.stop()
    # At most one frame per 50 ms (plus the first); never asserts a lower bound on a busy machine.
    assert 1 <= worker.frames_generated <= 12
