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
    hop: int = setting(256, doc="analysis hop (samples); one FeatureFrame per hop",
                       choices=(32, 64, 128, 256))
    block: int = setting(256, doc="capture callback size (samples); smaller = less latency",
                         min=32, max=4096)
    channels: int = setting(0, doc="input channel to use (1-based); 0 mixes all down", min=0, max=64)
    monitor: bool = setting(False, doc="also play a file input to the default output")
    loop: bool = setting(False, doc="start a file input again when it ends")
    onset_detector: str = setting("flux", doc="onset detector (flux: ~1 hop delay; aubio: ~2.2)",
                                  choices=("flux", "aubio"))
    onset_threshold: float = setting(3.0, doc="onset: flux must exceed this x its recent mean",
                                     min=1.0, max=20.0)
    onset_silence_db: float = setting(-60.0, doc="below this level (dBFS): no onsets, zero features",
                                      min=-120.0, max=0.0)
    onset_min_ioi_ms: float = setting(40.0, doc="minimum time between two onsets (ms)",
                                      min=0.0, max=1000.0)
    beat_tracker: str = setting("predictive", doc="beat tracker (aubio: plain aubio.tempo)",
                                choices=("predictive", "aubio"))
    min_bpm: float = setting(60.0, doc="slowest tempo reported (BPM)", min=30.0, max=300.0)
    max_bpm: float = setting(190.0, doc="fastest tempo reported (BPM); keep >= 2 x min_bpm",
                             min=30.0, max=400.0)
    attack_ms: float = setting(10.0, doc="band smoothing rise time (ms)", min=0.0, max=5000.0)
    release_ms: float = setting(250.0, doc="band smoothing fall time (ms)", min=0.0, max=10000.0)
    history_s: float = setting(10.0, doc="seconds of FeatureFrames kept for the HUD", min=1.0,
                               max=600.0)


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
    headless: bool = setting(False, doc="render offscreen through EGL (no window, no display needed)")
    fx_scale: float = setting(1.0, doc="shader FX resolution as a fraction of the output size "
                                       "(lower it when the GPU, or llvmpipe, cannot hold the rate)",
                              min=0.25, max=1.0)
    upscale: str = setting("auto", doc="filter that scales generator frames up to the FX size "
                                       "(auto: bicubic on a GPU, bilinear on CPU-only llvmpipe)",
                           choices=("auto", "bicubic", "bilinear"))
    fit: str = setting("fill", doc="generator frame vs output aspect: crop to fill, letterbox, or stretch",
                       choices=("fill", "fit", "stretch"))


@dataclass(frozen=True)
class ShowConfig:
    audio: AudioSettings = section(AudioSettings, doc="audio input and analysis")
    model: ModelSettings = section(ModelSettings, doc="the generator")
    display: DisplaySettings = section(DisplaySettings, doc="window / headless output")
