"""The show configuration: one frozen dataclass per section, loaded from a TOML file.

`gansmania live --config show.toml` and `gansmania render --config show.toml` read it; every
command-line option overrides one key, and `--set section.key=value` overrides any key.
`gansmania config keys` lists every key with its default, allowed values and meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from visualizer.core.config import section, setting


@dataclass(frozen=True)
class AudioSettings:
    # Device index, name substring, "pulse:SOURCE", or an audio file path; "" = default input.
    input: str = setting("", doc="audio input: device index, name substring, pulse:SOURCE or a file")
    sample_rate: int = setting(48000, doc="capture sample rate (Hz)", min=8000, max=192000)
    hop: int = setting(256, doc="analysis hop (samples); one FeatureFrame per hop", min=32, max=256)
    channels: int = setting(0, doc="input channel to use (1-based); 0 mixes all down", min=0, max=64)
    monitor: bool = setting(False, doc="also play a file input to the default output")


@dataclass(frozen=True)
class ModelSettings:
    path: Path | None = setting(None, doc="generator checkpoint (.safetensors); unset = bundled default")
    backend: str = setting("auto", doc="generator backend",
                           choices=("auto", "torch", "onnxruntime", "tensorrt"))
    device: str = setting("auto", doc="torch device", choices=("auto", "cpu", "cuda"))


@dataclass(frozen=True)
class DisplaySettings:
    size: tuple[int, int] = setting((1280, 720), doc="output size in pixels (W, H)", min=16, max=8192)
    fullscreen: bool = setting(False, doc="start fullscreen")
    monitor: int = setting(0, doc="monitor index for fullscreen (see `gansmania devices`)", min=0, max=16)
    vsync: bool = setting(True, doc="sync presents to the display refresh")
    fps: float = setting(60.0, doc="target display rate when vsync is off or headless", min=1.0, max=480.0)
    hud: bool = setting(False, doc="show the HUD at start (toggle with H)")


@dataclass(frozen=True)
class ShowConfig:
    audio: AudioSettings = section(AudioSettings, doc="audio input and analysis")
    model: ModelSettings = section(ModelSettings, doc="the generator")
    display: DisplaySettings = section(DisplaySettings, doc="window / headless output")
