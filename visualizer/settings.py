"""The show configuration: one frozen dataclass per section, loaded from a TOML file.

`gansmania live --config show.toml` and `gansmania render --config show.toml` read it; every
command-line option overrides one key, and `--set section.key=value` overrides any key.
`gansmania config keys` lists every key with its default, allowed values and meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from visualizer.core.config import Renamed, section, setting
from visualizer.mapping.settings import ControllerSettings
from visualizer.render.settings import DisplaySettings


@dataclass(frozen=True)
class AudioSettings:
    # Durations were in ms until 0.1; every duration setting is in seconds now.
    RENAMED: ClassVar[dict[str, Renamed]] = {
        "onset_min_ioi_ms": Renamed("onset_min_ioi_s", 1000.0),
        "attack_ms": Renamed("attack_s", 1000.0), "release_ms": Renamed("release_s", 1000.0)}
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
    onset_detector: str = setting("multiband", doc="onset detector (multiband: low/mid/high "
                                  "bands, ~1 hop delay; flux: one band; aubio: ~2.2 hops)",
                                  choices=("multiband", "flux", "aubio"))
    onset_threshold: float = setting(3.0, doc="onset: flux must exceed this x its recent mean",
                                     min=1.0, max=20.0)
    onset_silence_db: float = setting(-60.0, doc="below this level (dBFS): no onsets, zero features",
                                      min=-120.0, max=0.0)
    onset_min_ioi_s: float = setting(0.04, doc="minimum time between two onsets (s)",
                                     min=0.0, max=1.0)
    beat_tracker: str = setting("predictive", doc="beat tracker (aubio: plain aubio.tempo)",
                                choices=("predictive", "aubio"))
    min_bpm: float = setting(60.0, doc="slowest tempo reported (BPM)", min=30.0, max=300.0)
    max_bpm: float = setting(190.0, doc="fastest tempo reported (BPM); keep >= 2 x min_bpm",
                             min=30.0, max=400.0)
    attack_s: float = setting(0.01, doc="band smoothing rise time (s)", min=0.0, max=5.0)
    release_s: float = setting(0.25, doc="band smoothing fall time (s)", min=0.0, max=10.0)
    history_s: float = setting(10.0, doc="seconds of FeatureFrames kept for the HUD", min=1.0,
                               max=600.0)


@dataclass(frozen=True)
class ModelSettings:
    path: Path | None = setting(None, doc="generator checkpoint (.safetensors); unset = bundled default")
    backend: str = setting("auto", doc="generator backend",
                           choices=("auto", "torch", "onnxruntime", "tensorrt"))
    device: str = setting("auto", doc="torch device", choices=("auto", "cpu", "cuda"))
    precision: str = setting("auto", doc="auto: the checkpoint's fp16 layers on CUDA, fp32 on CPU; "
                                         "fp32: always fp32", choices=("auto", "fp32"))
    threads: int = setting(0, doc="CPU threads for the generator; 0 = auto (1 on a 2-core machine, "
                                  "leaving a core for the display)", min=0, max=256)
    max_fps: float = setting(0.0, doc="cap the generator's frame rate; 0 = auto: the display rate, "
                                      "or 30 when it shares the CPU with a software rasteriser",
                             min=0.0, max=1000.0)


@dataclass(frozen=True)
class RecordSettings:
    folder: Path | None = setting(None, doc="where R-key / OSC recordings go; unset = "
                                             "~/Videos/gansmania")
    fps: float = setting(30.0, doc="recording frame rate, fixed (frames are repeated or skipped "
                                   "to hold it)", min=1.0, max=240.0)
    size: tuple[int, int] = setting((0, 0), doc="a live recording's picture size (W, H); 0x0 = "
                                                "the output size (`render` records at --size)",
                                    min=0, max=8192)
    encoder: str = setting("auto", doc="H.264 encoder (auto: a working hardware one, else libx264)",
                           choices=("auto", "h264_nvenc", "h264_qsv", "h264_vaapi", "libx264"))
    quality: int = setting(20, doc="constant quality (x264 CRF / NVENC CQ; `render`: a constant "
                                   "QP, so its parts join up): lower = better, bigger",
                           min=0, max=51)
    preset: str = setting("veryfast", doc="libx264 speed preset (slower = smaller file, more CPU)",
                          choices=("ultrafast", "superfast", "veryfast", "faster", "fast",
                                   "medium", "slow"))
    threads: int = setting(0, doc="libx264 threads; 0 = one per CPU core (fixed per machine, so "
                                  "renders are repeatable)", min=0, max=64)
    audio_kbps: int = setting(192, doc="AAC bit rate (kbit/s)", min=32, max=512)
    container: str = setting("mp4", doc="fragmented MP4 or Matroska (a .mp4/.mkv file name "
                                        "decides); both stay playable when the recording is "
                                        "killed", choices=("mp4", "mkv"))
    keyframe_s: float = setting(1.0, doc="keyframe and fragment interval (s): a crash loses at most "
                                         "about this much", min=0.1, max=1.0)
    queue_frames: int = setting(32, doc="frames the encoder may fall behind before frames are "
                                        "dropped (the show never waits for it)", min=2, max=1024)
    align: str = setting("audio", doc="place frames by the audio they react to (audio: latency "
                                      "removed) or by when they were shown (presented)",
                         choices=("audio", "presented"))


@dataclass(frozen=True)
class PresetSettings:
    default: str = setting("drift", doc="preset `live` starts with: a name from `gansmania presets "
                                        "list` or a .toml path (--preset overrides it)")
    # Empty: the first nine presets by name (`gansmania presets list` shows the order).
    slots: tuple[str, ...] = setting((), doc="presets on keys 1-9, in order (names or paths); "
                                             "empty = the first nine by name")
    fade_beats: float = setting(4.0, doc="cross-fade length when switching presets (beats; 0 = cut); "
                                         "a preset's transition.beats overrides it", min=0.0, max=64.0)
    quantize: str = setting("bar", doc="a switch starts on the next bar, the next beat, or at once",
                            choices=("bar", "beat", "none"))
    beats_per_bar: int = setting(4, doc="beats in a bar, for quantising switches and bar_phase",
                                 min=1, max=16)
    fallback_bpm: float = setting(120.0, doc="tempo fades run at before any tempo is heard (BPM)",
                                  min=30.0, max=300.0)
    watch: bool = setting(True, doc="hot-reload preset and shader files when they change on disk")


@dataclass(frozen=True)
class SetlistSettings:
    # Empty: no set list; looks change only by hand (keys 1-9, OSC, MIDI).
    looks: tuple[str, ...] = setting((), doc="looks the show plays in order, moving to the next on "
                                            "every phrase boundary (names or .toml paths, at least "
                                            "2); empty = no set list")
    phrase_bars: int = setting(8, doc="bars in a phrase: the set list cross-fades to its next look "
                                      "every this many bars", min=1, max=64)
    first_bars: int = setting(0, doc="bars the first look plays before the phrases start (a "
                                     "song's intro); 0 = a whole phrase", min=0, max=64)
    loop: bool = setting(True, doc="after the last look, start the list again (false: the last "
                                   "look stays)")


@dataclass(frozen=True)
class ControlSettings:
    osc_port: int = setting(0, doc="UDP port of the OSC server (9000 is usual); 0 = no OSC",
                            min=0, max=65535)
    osc_host: str = setting("127.0.0.1", doc="address the OSC server listens on; 0.0.0.0 = every "
                                             "network (LAN surfaces: TouchOSC, Live on another "
                                             "computer)")
    osc_allow: tuple[str, ...] = setting((), doc="only these client addresses or networks may send "
                                                 "OSC or use the web remote (e.g. 192.168.1.20, "
                                                 "10.0.0.0/24); empty = any")
    feedback_hz: float = setting(30.0, doc="most state updates a second sent to /gm/subscribe'd "
                                           "clients", min=1.0, max=120.0)
    midi_in: str = setting("", doc="MIDI input: a port name substring, or virtual:NAME to create a "
                                   "port; empty = no MIDI")
    midi_api: str = setting("auto", doc="MIDI system (auto: ALSA, then a running JACK server)",
                            choices=("auto", "alsa", "jack"))
    midi_map: Path | None = setting(None, doc="MIDI mapping file (TOML, see `gansmania osc "
                                              "template midi`); learned bindings are added")
    tempo_source: str = setting("audio", doc="where the beat comes from: the audio tracker, taps "
                                             "only, MIDI clock (--midi-in) or an Ableton Link session",
                                choices=("audio", "tap", "midi", "link"))
    link_lead: bool = setting(False, doc="publish the show's tempo to an Ableton Link session "
                                         "(with tempo_source audio or tap)")
    link_quantum: float = setting(4.0, doc="beats per bar Link peers align", min=1.0, max=16.0)
    web: str = setting("", doc="[HOST:]PORT of the web remote (8080: this computer only; "
                               "0.0.0.0:8080: the LAN, with a token); empty = no remote")
    web_token: str = setting("", doc="the token a remote open to the LAN asks for; empty = a new "
                                     "random one each show, printed at start")
    web_clients: int = setting(8, doc="most web pages, preview viewers and MJPEG streams at once",
                               min=1, max=64)
    web_preview_width: int = setting(512, doc="width of the remote's preview, px (never more than "
                                              "the output)", min=64, max=1920)
    web_preview_fps: float = setting(12.0, doc="preview frames a second while someone watches",
                                     min=1.0, max=30.0)


@dataclass(frozen=True)
class NdiOutSettings:
    name: str = setting("", doc="send the show as this NDI source (Resolume, OBS, TouchDesigner "
                                "see it as MACHINE (NAME)); empty = no NDI out")
    enable: bool = setting(True, doc="sending at start (OSC /gm/ndi/enable turns it on and off "
                                     "during the show)")
    size: tuple[int, int] = setting((0, 0), doc="sent picture size (W, H); 0x0 = the output size",
                                    min=0, max=8192)
    fps: float = setting(0.0, doc="frames sent a second; 0 = every displayed frame", min=0.0,
                         max=240.0)
    audio: bool = setting(True, doc="send the show's audio with the picture")


@dataclass(frozen=True)
class StreamOutSettings:
    url: str = setting("", doc="send H.264 + AAC in MPEG-TS to srt://HOST:PORT or "
                               "udp://HOST:PORT (OBS's media source and VLC open it); empty = no "
                               "stream")
    size: tuple[int, int] = setting((0, 0), doc="streamed picture size (W, H); 0x0 = the output "
                                                "size", min=0, max=8192)
    fps: float = setting(30.0, doc="stream frame rate, fixed", min=1.0, max=120.0)
    video_kbps: int = setting(4000, doc="H.264 bit rate (kbit/s)", min=100, max=100000)


@dataclass(frozen=True)
class OutputSettings:
    ndi: NdiOutSettings = section(NdiOutSettings, doc="NDI out: the picture and sound to the VJ rig")
    stream: StreamOutSettings = section(StreamOutSettings, doc="a live stream (SRT or UDP MPEG-TS)")


@dataclass(frozen=True)
class VideoInSettings:
    ndi: str = setting("", doc="mix this NDI source into the picture (a camera, another VJ's "
                               "output): its name, \"MACHINE (NAME)\", or part of it; presets "
                               "place it with the mix_input pass; empty = no video in")


@dataclass(frozen=True)
class ShowConfig:
    audio: AudioSettings = section(AudioSettings, doc="audio input and analysis")
    model: ModelSettings = section(ModelSettings, doc="the generator")
    display: DisplaySettings = section(DisplaySettings, doc="window / headless output")
    controller: ControllerSettings = section(ControllerSettings,
                                             doc="audio -> latents, noise and shader uniforms")
    presets: PresetSettings = section(PresetSettings,
                                      doc="presets: start preset, slots, cross-fades, hot reload")
    setlist: SetlistSettings = section(SetlistSettings, doc="set list: looks switched on phrase "
                                                            "boundaries, through the cross-fades")
    record: RecordSettings = section(RecordSettings, doc="recording and offline rendering")
    control: ControlSettings = section(ControlSettings, doc="control surfaces: OSC, MIDI, "
                                                            "Ableton Link, tempo source")
    output: OutputSettings = section(OutputSettings, doc="where else the picture goes: NDI, a "
                                                         "stream (recordings: [record])")
    video_in: VideoInSettings = section(VideoInSettings, doc="video in: a source on the LAN the "
                                                             "shader chain mixes with the picture")
