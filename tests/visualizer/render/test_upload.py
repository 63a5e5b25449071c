"""Frames in: conversion from generator output, PBO upload, blend of the two newest, upscaling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from visualizer.render.frames import to_rgb8
from visualizer.render.headless import read_framebuffer
from visualizer.render.source import SourceStage, fit_scale
from visualizer.render.upload import FrameUploader


def texture_pixels(texture) -> np.ndarray:
    return np.frombuffer(texture.read(alignment=1), np.uint8).reshape(texture.height, texture.width, 3)


def test_torch_conversion_matches_nvlabs():
    generator = torch.Generator().manual_seed(0)
    tensor = torch.rand(1, 3, 20, 30, generator=generator) * 2.4 - 1.2  # overshoots both ends
    expected = (tensor.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].numpy()
    for form in (tensor, tensor[0]):
        pixels = to_rgb8(form)
        assert pixels.shape == (20, 30, 3) and pixels.flags.c_contiguous
        assert np.array_equal(pixels, expected)
    assert to_rgb8(torch.full((3, 2, 2), -1.0)).max() == 0 and to_rgb8(torch.ones(3, 2, 2)).min() == 255


def test_bad_frames_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        to_rgb8(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="batch of 1"):
        to_rgb8(torch.zeros(2, 3, 4, 4))
    with pytest.raises(TypeError):
        to_rgb8([[0, 0, 0]])


def test_pbo_upload_round_trips(egl_context):
    uploader = FrameUploader(egl_context)
    image = np.random.default_rng(1).integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd row length
    uploader.upload(image, capture_s=1.5)
    assert np.array_equal(texture_pixels(uploader.newest), image)
    assert np.array_equal(texture_pixels(uploader.previous), image)  # one frame: both slots
    assert uploader.newest_capture_s == uploader.previous_capture_s == 1.5


def test_two_newest_frames_rotate(egl_context):
    uploader = FrameUploader(egl_context)
    frames = [np.full((8, 8, 3), value, np.uint8) for value in (10, 20, 30)]
    for stamp, frame in enumerate(frames):
        uploader.upload(frame, capture_s=float(stamp))
    assert texture_pixels(uploader.previous).max() == 20 and texture_pixels(uploader.newest).max() == 30
    assert (uploader.previous_capture_s, uploader.newest_capture_s) == (1.0, 2.0)
    uploader.upload(np.zeros((4, 6, 3), np.uint8))  # a new model size reallocates
    assert uploader.size == (6, 4) and uploader.count == 4


def test_torch_frames_upload(egl_context):
    uploader = FrameUploader(egl_context)
    uploader.upload(torch.zeros(1, 3, 4, 4))  # 0.0 is mid grey in [-1, 1]
    assert np.all(texture_pixels(uploader.newest) == 128)


def test_source_stage_blends_previous_and_newest(egl_context):
    uploader = FrameUploader(egl_context)
    uploader.upload(np.full((16, 16, 3), 40, np.uint8))
    uploader.upload(np.full((16, 16, 3), 200, np.uint8))
    stage = SourceStage(egl_context, fit="stretch")
    for blend, expected in ((0.0, 40), (1.0, 200), (0.25, 80)):
        out = read_framebuffer(stage.render(uploader, blend=blend, size=(16, 16)))
        assert np.abs(out.astype(int) - expected).max() <= 1, blend


def test_source_stage_is_black_before_the_first_frame(egl_context):
    stage = SourceStage(egl_context)
    out = read_framebuffer(stage.render(FrameUploader(egl_context), blend=1.0, size=(8, 8)))
    assert out.max() == 0


def test_same_size_is_exact_and_bicubic_upscale_matches_pillow(egl_context):
    # Noise: every texel differs from its neighbours, so the interpolation kernel shows.
    image = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    uploader = FrameUploader(egl_context)
    uploader.upload(image)
    stage = SourceStage(egl_context, upscale="bicubic", fit="stretch")
    assert np.array_equal(read_framebuffer(stage.render(uploader, blend=1.0, size=(64, 64))), image)
    # Pillow's BICUBIC is Catmull-Rom too; ours drops the corner taps, so allow a little.
    reference = np.asarray(Image.fromarray(image).resize((256, 256), Image.BICUBIC)).astype(int)
    inner = np.s_[8:-8, 8:-8]  # edges differ by clamping convention only
    for upscale, low, high in (("bicubic", 0.0, 1.5), ("bilinear", 5.0, 255.0)):
        stage = SourceStage(egl_context, upscale=upscale, fit="stretch")
        out = stage.render(uploader, blend=1.0, size=(256, 256))
        error = np.abs(read_framebuffer(out).astype(int)[inner] - reference[inner]).mean()
        assert low <= error < high, upscale


def test_image_is_upright(egl_context):
    image = np.zeros((32, 32, 3), np.uint8)
    image[:8] = 255  # white band at the top
    uploader = FrameUploader(egl_context)
    uploader.upload(image)
    out = read_framebuffer(SourceStage(egl_context, fit="stretch").render(uploader, blend=1.0, size=(64, 64)))
    assert out[:12].min() > 200 and out[24:].max() < 30


@pytest.mark.parametrize("fit, expected", [
    ("fill", (1.0, 9 / 16)),   # square frame on 16:9: full width, the middle 56% of the height
    ("fit", (16 / 9, 1.0)),    # letterboxed left and right
    ("stretch", (1.0, 1.0)),
])
def test_fit_scale(fit, expected):
    assert fit_scale(fit, image=(256, 256), output=(1280, 720)) == pytest.approx(expected)


def test_fit_letterboxes_with_black(egl_context):
    uploader = FrameUploader(egl_context)
    uploader.upload(np.full((16, 16, 3), 255, np.uint8))
    out = read_framebuffer(SourceStage(egl_context, fit="fit").render(uploader, blend=1.0, size=(64, 32)))
    assert out[:, :12].max() == 0 and out[:, 20:44].min() == 255
    filled = read_framebuffer(SourceStage(egl_context, fit="fill").render(uploader, blend=1.0, size=(64, 32)))
    assert filled.min() == 255


def test_source_stage_redraws_only_when_its_inputs_change(egl_context):
    uploader = FrameUploader(egl_context)
    uploader.upload(np.full((8, 8, 3), 100, np.uint8))
    stage = SourceStage(egl_context, fit="stretch")
    output = stage.render(uploader, blend=1.0, size=(8, 8))
    output.clear(0.0, 0.0, 0.0, 1.0)  # mark it: a skipped redraw leaves the mark
    assert read_framebuffer(stage.render(uploader, blend=1.0, size=(8, 8))).max() == 0
    assert read_framebuffer(stage.render(uploader, blend=0.5, size=(8, 8))).min() == 100
    uploader.upload(np.full((8, 8, 3), 200, np.uint8))
    assert read_framebuffer(stage.render(uploader, blend=0.5, size=(8, 8))).min() == 150


def test_auto_upscale_picks_bilinear_on_software_gl(egl_context):
    software = "llvmpipe" in egl_context.info["GL_RENDERER"]
    assert SourceStage(egl_context, upscale="auto").upscale == ("bilinear" if software else "bicubic")
    assert SourceStage(egl_context, upscale="bicubic").upscale == "bicubic"
