"""Generator frames -> GL textures through a pixel buffer object, keeping the two newest.

The render loop shows a blend of :attr:`FrameUploader.previous` and :attr:`FrameUploader.newest`
(the live loop picks the blend factor), so the display never waits for the generator.
:class:`ImageTexture` holds one external input (an NDI source...) the same way, one image deep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from visualizer.render.frames import to_rgb8

if TYPE_CHECKING:
    import moderngl


class FrameUploader:
    """Uploads images (see :func:`to_rgb8` for the accepted forms) into a two-texture ring."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self._textures: list[moderngl.Texture] = []  # [previous, newest] once a frame arrived
        self._captures: list[float | None] = [None, None]
        self._pbo: moderngl.Buffer | None = None
        self._first_after_allocate = False
        self.count = 0  # frames uploaded so far

    @property
    def newest(self) -> moderngl.Texture | None:
        return self._textures[1] if self._textures else None

    @property
    def previous(self) -> moderngl.Texture | None:
        return self._textures[0] if self._textures else None

    @property
    def newest_capture_s(self) -> float | None:
        return self._captures[1]

    @property
    def previous_capture_s(self) -> float | None:
        return self._captures[0]

    @property
    def size(self) -> tuple[int, int] | None:
        """(W, H) of the frames, pixels; None before the first frame."""
        return self._textures[1].size if self._textures else None

    def upload(self, image: Any, *, capture_s: float | None = None) -> None:
        """Make ``image`` the newest frame; the newest so far becomes the previous one.

        ``capture_s``: time.monotonic() capture time of the audio the frame was computed from
        (``FeatureFrame.t_audio``), for audio->photon latency.
        """
        pixels = to_rgb8(image)
        height, width = pixels.shape[:2]
        if self.size != (width, height):
            self._allocate(width, height)
        else:
            self._textures.reverse()  # the old previous texture is overwritten below
            self._captures.reverse()
        assert self._pbo is not None
        # Orphaning gives the driver a fresh store, so this write never waits on the GPU still
        # reading the last upload; texture.write from a bound PBO returns without a CPU copy wait.
        self._pbo.orphan(pixels.nbytes)
        self._pbo.write(pixels)
        self._textures[1].write(self._pbo, alignment=1)
        self._captures[1] = capture_s
        if self._first_after_allocate:
            # With only one frame there is nothing to blend from: both slots show it.
            self._textures[0].write(self._pbo, alignment=1)
            self._captures[0] = capture_s
            self._first_after_allocate = False
        self.count += 1

    def _allocate(self, width: int, height: int) -> None:
        import moderngl

        self.release()
        for _ in range(2):
            texture = self.ctx.texture((width, height), 3, alignment=1)
            texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
            texture.repeat_x = texture.repeat_y = False
            self._textures.append(texture)
        self._captures = [None, None]
        self._pbo = self.ctx.buffer(reserve=width * height * 3, dynamic=True)
        self._first_after_allocate = True

    def release(self) -> None:
        for texture in self._textures:
            texture.release()
        self._textures = []
        if self._pbo is not None:
            self._pbo.release()
            self._pbo = None


class ImageTexture:
    """One texture that CPU images are written into through a PBO, sized by the latest image.

    For external inputs (`Renderer.set_input`): RGBA (H, W, 4) or RGB (H, W, 3, opaque) uint8,
    stored top row first as they arrive (like the generator frames; the pass that samples it
    flips y), so a new frame costs one copy into the PBO and no reordering on the render thread.
    """

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self.texture: moderngl.Texture | None = None  # None until the first image
        self._pbo: moderngl.Buffer | None = None
        self.count = 0  # images written so far

    @property
    def size(self) -> tuple[int, int] | None:
        """(W, H) of the latest image, pixels; None before the first one."""
        return self.texture.size if self.texture is not None else None

    def write(self, image: np.ndarray) -> None:
        """Make ``image`` (uint8 (H, W, 4) or (H, W, 3), top row first) the texture's content; a
        new size or channel count reallocates it."""
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
                or image.shape[2] not in (3, 4):
            raise ValueError("expected a uint8 array of shape (H, W, 4) or (H, W, 3), got "
                             f"{getattr(image, 'dtype', type(image).__name__)} "
                             f"{getattr(image, 'shape', '')}")
        pixels = np.ascontiguousarray(image)
        height, width, channels = pixels.shape
        texture = self.texture
        if texture is None or texture.size != (width, height) or texture.components != channels:
            texture = self._allocate(width, height, channels)
        assert self._pbo is not None
        self._pbo.orphan(pixels.nbytes)  # see FrameUploader.upload: the write never waits on GL
        self._pbo.write(pixels)
        texture.write(self._pbo, alignment=1)
        self.count += 1

    def _allocate(self, width: int, height: int, channels: int) -> moderngl.Texture:
        import moderngl

        self.release()
        texture = self.ctx.texture((width, height), channels, alignment=1)
        texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
        texture.repeat_x = texture.repeat_y = False  # a fit's edge must not wrap the far side in
        self.texture = texture
        self._pbo = self.ctx.buffer(reserve=width * height * channels, dynamic=True)
        return texture

    def release(self) -> None:
        if self.texture is not None:
            self.texture.release()
            self.texture = None
        if self._pbo is not None:
            self._pbo.release()
            self._pbo = None
