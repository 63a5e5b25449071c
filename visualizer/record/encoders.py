"""H.264 encoders: which ones FFmpeg (through PyAV) offers here, and the options each takes.

A hardware encoder is used only when it actually opens and encodes a frame on this machine:
FFmpeg lists ``h264_nvenc`` on every build, but it needs an NVIDIA GPU with an NVENC unit (an
H100 has none), and ``h264_vaapi``/``h264_qsv`` need their drivers. ``libx264`` is the fallback
that always works.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

log = logging.getLogger(__name__)

PROBE_SIZE = (256, 256)  # NVENC refuses frames under ~145x49; this size opens everywhere


@dataclass(frozen=True)
class EncoderSpec:
    """How to drive one FFmpeg H.264 encoder."""

    hardware: bool  # a GPU/media engine does the work (probed before use)
    pix_fmt: str  # the frame format it takes from system memory
    # (quality 0-51, x264 speed preset, threads, keyframe interval in frames) -> codec options
    options: Callable[[int, str, int, int], dict[str, str]]
    # A live stream's: (bit rate kbit/s, x264 speed preset, threads, keyframe interval) -> codec
    # options for the lowest latency: no B-frames (no reordering delay), no lookahead.
    live: Callable[[int, str, int, int], dict[str, str]]
    # An offline render's: (quality, preset, threads, keyframe interval) -> codec options under
    # which each GOP's bits depend on its own frames only (a constant QP: no rate-control
    # history carried across keyframes), so a render cut on keyframes and encoded in parts
    # decodes to the same frames as one encode. None: the encoder has no such mode here.
    independent: Callable[[int, str, int, int], dict[str, str]] | None = None


def _x264(quality: int, preset: str, threads: int, gop: int) -> dict[str, str]:
    # scenecut off: keyframes come exactly every `gop` frames, so fragments stay <= keyframe_s.
    options = {"crf": str(quality), "preset": preset, "threads": str(threads), "g": str(gop),
               "keyint_min": str(gop), "sc_threshold": "0"}
    asm = x264_asm_without_avx512()
    if asm is not None:
        options["x264-params"] = f"asm={asm}"
    return options


def _x264_independent(quality: int, preset: str, threads: int, gop: int) -> dict[str, str]:
    # CRF carries its complexity averages (and the I-frame QP's running mean) from GOP to GOP;
    # a constant QP carries nothing, and with it x264 turns off the macroblock tree as well.
    options = {**_x264(quality, preset, threads, gop), "qp": str(quality)}
    del options["crf"]
    return options


def _rate(kbps: int) -> dict[str, str]:
    # A one-second buffer at the target rate: near-constant bit rate, what a network link wants.
    return {"b": f"{kbps}k", "maxrate": f"{kbps}k", "bufsize": f"{kbps}k", "bf": "0"}


def _x264_live(kbps: int, preset: str, threads: int, gop: int) -> dict[str, str]:
    # zerolatency: no lookahead, no frame threads (slices instead): a frame leaves as it goes in.
    options = {**_x264(0, preset, threads, gop), **_rate(kbps), "tune": "zerolatency"}
    del options["crf"]
    return options


def _nvenc_live(kbps: int, preset: str, threads: int, gop: int) -> dict[str, str]:
    return {**_rate(kbps), "rc": "cbr", "preset": "p2", "tune": "ll", "zerolatency": "1",
            "g": str(gop)}


def _qsv_live(kbps: int, preset: str, threads: int, gop: int) -> dict[str, str]:
    return {**_rate(kbps), "preset": "veryfast", "async_depth": "1", "g": str(gop)}


def _vaapi_live(kbps: int, preset: str, threads: int, gop: int) -> dict[str, str]:
    return {**_rate(kbps), "rc_mode": "CBR", "g": str(gop)}


def _nvenc(quality: int, preset: str, threads: int, gop: int) -> dict[str, str]:
    return {"rc": "vbr", "cq": str(quality), "preset": "p4", "g": str(gop)}


def _nvenc_independent(quality: int, preset: str, threads: int, gop: int) -> dict[str, str]:
    return {"rc": "constqp", "qp": str(quality), "preset": "p4", "g": str(gop)}


def _qsv(quality: int, preset: str, threads: int, gop: int) -> dict[str, str]:
    return {"global_quality": str(quality), "preset": "veryfast", "g": str(gop)}


def _vaapi(quality: int, preset: str, threads: int, gop: int) -> dict[str, str]:
    return {"qp": str(quality), "g": str(gop)}


# Preference order: hardware first (the CPU is busy rendering), libx264 last.
ENCODERS: dict[str, EncoderSpec] = {
    "h264_nvenc": EncoderSpec(hardware=True, pix_fmt="yuv420p", options=_nvenc, live=_nvenc_live,
                              independent=_nvenc_independent),
    "h264_qsv": EncoderSpec(hardware=True, pix_fmt="nv12", options=_qsv, live=_qsv_live),
    "h264_vaapi": EncoderSpec(hardware=True, pix_fmt="nv12", options=_vaapi, live=_vaapi_live,
                              independent=_vaapi),  # its qp is constant already
    "libx264": EncoderSpec(hardware=False, pix_fmt="yuv420p", options=_x264, live=_x264_live,
                           independent=_x264_independent),
}

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")


@functools.cache
def x264_asm_without_avx512() -> str | None:
    """The CPU capabilities libx264 detects on this machine, minus AVX512, as its ``asm``
    option (``"MMX2,SSE2Fast,...,AVX2"``); None when it detects no AVX512 (nothing to leave out)
    or its detection cannot be read (cached per process).

    Why: x264's AVX-512 ``mbtree_propagate_list`` (the lookahead's macroblock-tree pass) works 8
    macroblocks at a time with no tail: when a frame is not a multiple of 8 macroblocks wide
    (96, 160, 854, 1080 px...) it reads past a scratch row and adds that uninitialised memory
    into its costs. The bitstream then depends on what the process's heap held before (an
    earlier render, a replay), and the same frames encode differently, where `gansmania
    render` promises identical files. Its AVX2 code computes the same thing and stays in
    bounds; the names are x264's own (they add up to the flags it detected), so nothing but
    AVX512 changes.
    """
    import av

    capabilities = _x264_logged_capabilities()
    if "AVX512" not in capabilities:
        return None
    asm = ",".join(name for name in capabilities if name != "AVX512")
    try:  # the override must open, or libx264 would not work at all
        _open_x264({"x264-params": f"asm={asm}"})
    except (av.FFmpegError, ValueError, OSError) as exc:
        log.warning("libx264 refuses asm=%s (%s): keeping its AVX-512 code", asm, exc)
        return None
    log.debug("libx264: asm=%s (its AVX-512 lookahead reads uninitialised memory)", asm)
    return asm


def _x264_logged_capabilities() -> tuple[str, ...]:
    """What libx264 logs as ``using cpu capabilities: MMX2 SSE2Fast ... AVX512`` when it opens."""
    import av
    import av.logging

    previous = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)  # x264 logs the line at INFO; restored below
    try:
        with av.logging.Capture() as logs:
            _open_x264({})
    except (av.FFmpegError, ValueError, OSError) as exc:
        log.debug("libx264 unavailable: %s", exc)
        return ()
    finally:
        av.logging.set_level(previous)
    for _level, _name, message in logs:
        if message.startswith("using cpu capabilities:"):
            return tuple(message.split(":", 1)[1].split())
    return ()


def _open_x264(options: dict[str, str]) -> None:
    import av

    context = av.CodecContext.create("libx264", "w")
    context.width, context.height = 64, 64
    context.pix_fmt = "yuv420p"
    context.time_base = Fraction(1, 30)
    context.options = options
    context.open()


@functools.cache
def encoder_works(name: str) -> bool:
    """True when ``name`` opens and encodes one frame here (cached per process)."""
    import av

    spec = ENCODERS[name]
    width, height = PROBE_SIZE
    try:
        context = av.CodecContext.create(name, "w")
        context.width, context.height = width, height
        context.pix_fmt = spec.pix_fmt
        context.time_base = Fraction(1, 30)
        context.framerate = Fraction(30)
        context.options = spec.options(23, "veryfast", 1, 30)
        context.open()
        frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
        frame.pts = 0
        packets = list(context.encode(frame)) + list(context.encode(None))
    except (av.FFmpegError, ValueError, OSError) as exc:
        # ValueError: not compiled into this FFmpeg build; FFmpegError: no device/driver.
        log.debug("encoder %s unavailable: %s", name, exc)
        return False
    return bool(packets)


def pick_encoder(preferred: str = "auto", *, independent_gops: bool = False) -> str:
    """The encoder to use: ``preferred`` when it works, else the first working one.

    ``"auto"`` tries the hardware encoders in :data:`ENCODERS` order, then libx264.
    ``independent_gops``: only encoders with an ``independent`` mode (offline renders).
    """
    def usable(name: str) -> bool:
        return not independent_gops or ENCODERS[name].independent is not None

    if preferred != "auto":
        if preferred not in ENCODERS:
            raise ValueError(f"unknown encoder {preferred!r}; allowed: auto, {', '.join(ENCODERS)}")
        if usable(preferred) and encoder_works(preferred):
            return preferred
        log.warning("encoder %s does not work on this machine%s; falling back", preferred,
                    "" if usable(preferred) else " for a render (no constant-QP mode)")
    for name in ENCODERS:
        if usable(name) and encoder_works(name):
            return name
    from visualizer.core.errors import GansmaniaError

    raise GansmaniaError("no H.264 encoder works in this FFmpeg build (not even libx264); "
                         "reinstall PyAV: pip install --force-reinstall av")


def codec_options(name: str, *, quality: int, preset: str, threads: int, gop: int,
                  independent_gops: bool = False) -> Mapping[str, str]:
    """The FFmpeg options for encoder ``name``; ``independent_gops``: its `EncoderSpec.independent`
    mode (pick the encoder with the same flag)."""
    spec = ENCODERS[name]
    options = spec.independent if independent_gops and spec.independent else spec.options
    return options(quality, preset, threads, gop)


def live_codec_options(name: str, *, kbps: int, preset: str, threads: int,
                       gop: int) -> Mapping[str, str]:
    """The FFmpeg options for encoder ``name`` in a live stream: ``kbps`` kbit/s, a keyframe
    every ``gop`` frames, no B-frames, tuned for latency."""
    return ENCODERS[name].live(kbps, preset, threads, gop)
