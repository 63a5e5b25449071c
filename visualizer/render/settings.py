"""`DisplaySettings`: the [display] section of the show config (window, size, rate, FX scale)."""

from __future__ import annotations

from dataclasses import dataclass

from visualizer.core.config import setting


@dataclass(frozen=True)
class DisplaySettings:
    size: tuple[int, int] = setting((1280, 720), doc="output size in pixels (W, H)", min=16, max=8192)
    fullscreen: bool = setting(False, doc="start fullscreen")
    monitor: int = setting(0, doc="monitor index for fullscreen (see `gansmania devices`)", min=0, max=16)
    clean_monitor: int = setting(-1, doc="performer view: the audience's picture (no HUD) in a "
                                         "second window on this monitor, fullscreen; the first "
                                         "window keeps the HUD for the performer; -1 = none",
                                 min=-1, max=16)
    clean_size: tuple[int, int] | None = setting(None, doc="the clean view as a window of this size "
                                                           "(W, H) on clean_monitor instead of "
                                                           "fullscreen; unset = fullscreen",
                                                 min=16, max=8192)
    vsync: bool = setting(True, doc="sync presents to the display refresh (with a clean view: its "
                                    "monitor's; the performer window then swaps unsynced)")
    fps: float = setting(60.0, doc="target display rate when vsync is off or headless", min=1.0, max=480.0)
    hud: bool = setting(False, doc="show the HUD at start (toggle with H)")
    headless: bool = setting(False, doc="render offscreen through EGL (no window, no display needed)")
    fx_scale: float = setting(0.0, doc="shader FX resolution as a fraction of the output size, "
                                       "0.1..1; 0 = auto: 1 on a GPU, about the generator's "
                                       "resolution on CPU-only llvmpipe", min=0.0, max=1.0)
    upscale: str = setting("auto", doc="filter that scales generator frames up to the FX size "
                                       "(auto: bicubic on a GPU, bilinear on CPU-only llvmpipe)",
                           choices=("auto", "bicubic", "bilinear"))
    crossfade: float = setting(1.0, doc="cross-fade from one generator frame to the next over this "
                                        "fraction of the generator's frame interval (0 = cut)",
                               min=0.0, max=4.0)
    fit: str = setting("fill", doc="generator frame vs output aspect: crop to fill, letterbox, or stretch",
                       choices=("fill", "fit", "stretch"))
