"""`gansmania live`: the show. Parses options into a ShowConfig and runs `visualizer.app`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from visualizer.commands.config import config_file_option, set_option


setlist_option = click.option(
    "--setlist", "setlist", default=None, metavar="NAME,NAME,...",
    help="A set list: play these looks in order, cross-fading to the next on every phrase "
         "boundary (--phrase-bars); the show starts on the first. A switch by hand (keys 1-9, "
         "OSC) holds the list for a phrase. Default: setlist.looks (none).")
phrase_bars_option = click.option(
    "--phrase-bars", type=click.IntRange(1, 64), default=None,
    help="Bars in a phrase: the set list moves on every this many bars (default: "
         "setlist.phrase_bars, 8).")


@click.command()
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Generator checkpoint (.safetensors); default: the bundled model.")
@click.option("--preset", default=None, metavar="NAME|FILE",
              help="Preset to start with: a name from `gansmania presets list` or a .toml file "
                   "(default: presets.default). Keys 1-9 switch presets; edits to the preset and "
                   "shader files apply live.")
@click.option("--input", "input_spec", default=None, metavar="DEV|FILE",
              help="Audio input: device index, name substring, pulse:SOURCE, an audio file "
                   "(played in real time), or `demo` (the bundled demo track). Default: the "
                   "default input.")
@click.option("--fullscreen", is_flag=True, default=None, help="Start fullscreen.")
@click.option("--monitor", type=int, default=None, help="Monitor index for fullscreen.")
@click.option("--clean-monitor", type=int, default=None, metavar="N",
              help="Performer view: the audience's picture, without the HUD, fullscreen in a second "
                   "window on monitor N (e.g. the projector); the first window keeps the HUD and "
                   "the keys. -1 = none (default: display.clean_monitor).")
@click.option("--clean-size", default=None, metavar="WxH",
              help="The clean view as a window of this size on its monitor instead of fullscreen.")
@click.option("--size", default=None, metavar="WxH", help="Window/output size, e.g. 1920x1080.")
@click.option("--backend", default=None, type=click.Choice(["auto", "torch", "onnxruntime", "tensorrt"]),
              help="Generator backend (default auto: the fastest one that runs here).")
@click.option("--headless", is_flag=True, default=None,
              help="Render offscreen through EGL: no window, no display needed.")
@click.option("--duration", "duration_s", type=click.FloatRange(min=0.1), default=None,
              help="Stop after this many seconds (default: run until Esc).")
@click.option("--stats", "stats_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write run statistics as JSON (and the resolved config beside it).")
@click.option("--record", "record_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Record the show from the start to this file (.mp4/.mkv; R toggles recording).")
@click.option("--stream", "stream_url", default=None, metavar="URL",
              help="Stream the show's picture (no HUD) and sound, H.264 + AAC in MPEG-TS, to "
                   "srt://HOST:PORT[?mode=caller|listener] or udp://HOST:PORT (OBS's media "
                   "source and VLC open it; SRT needs the ffmpeg program). Default: "
                   "output.stream.url (none).")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Log control events to SHOW.gmlog, for `gansmania render --replay`.")
@click.option("--osc-port", type=click.IntRange(0, 65535), default=None,
              help="Listen for OSC on this UDP port (e.g. 9000; addresses: `gansmania osc "
                   "addresses`). Default: no OSC.")
@click.option("--osc-host", default=None, metavar="ADDR",
              help="Address OSC listens on (default 127.0.0.1; 0.0.0.0 = the LAN).")
@click.option("--osc-allow", multiple=True, metavar="ADDR",
              help="Only accept OSC and the web remote from this address or network "
                   "(repeatable).")
@click.option("--midi-in", default=None, metavar="PORT",
              help="MIDI input port (name substring, or virtual:NAME to create one).")
@click.option("--midi-map", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MIDI mapping file (TOML; example: `gansmania osc template midi`).")
@click.option("--web", "web", default=None, metavar="[HOST:]PORT",
              help="Serve the web remote (faders, presets, tap, record, preview) on this port: "
                   "8080 = this computer only; 0.0.0.0:8080 = the LAN, with a token (printed).")
@click.option("--ndi", "ndi_name", default=None, metavar="NAME",
              help="Send the picture and sound as the NDI source NAME (needs the [ndi] extra).")
@click.option("--ndi-in", default=None, metavar="NAME",
              help="Mix this NDI source into the picture (a camera, another VJ's output): its "
                   "name or part of it; the preset places it (the mix_input pass, e.g. --preset "
                   "ndi_overlay). Needs the [ndi] extra. Default: video_in.ndi (none).")
@click.option("--tempo-source", type=click.Choice(["audio", "tap", "midi", "link"]), default=None,
              help="Beat clock: the audio tracker (default), taps only, MIDI clock, or Ableton Link.")
@setlist_option
@phrase_bars_option
@config_file_option
@set_option
def live(model_path: Path | None, preset: str | None, input_spec: str | None,
         fullscreen: bool | None, monitor: int | None, clean_monitor: int | None,
         clean_size: str | None, size: str | None, backend: str | None,
         headless: bool | None, duration_s: float | None, stats_path: Path | None,
         record_path: Path | None, stream_url: str | None, log_path: Path | None,
         osc_port: int | None,
         osc_host: str | None, osc_allow: tuple[str, ...], midi_in: str | None,
         midi_map: Path | None, web: str | None, ndi_name: str | None, ndi_in: str | None,
         tempo_source: str | None, setlist: str | None, phrase_bars: int | None,
         config_path: Path | None, assignments: tuple[str, ...]) -> None:
    """Run the audio-reactive visualizer live.

    Audio is analysed as it arrives (onsets, tempo and beat phase, loudness, bands, chroma); the
    features walk the generator's latent space in time with the beat and drive a shader chain,
    shown at the display's rate. Keys: F fullscreen, H HUD, R record, 1-9 preset slots, space
    tap tempo, left/right seed bank, L MIDI learn (binds the next CC to the control touched
    last), Esc quit. OSC, MIDI and Ableton Link: see `gansmania osc --help`.

    With --clean-monitor N a second window shows the audience's picture (master gain, blackout
    and freeze as recorded, never the HUD) fullscreen on monitor N; keys work in both windows;
    the show ends with Esc or by closing the first window (the clean one refuses to close).

    --stats writes {"display_fps", "gen_fps", "frames_displayed", "frames_generated",
    "frames_dropped", "latency_ms": {"median", "p95"}, "onset_ms": {"shader", "generator"},
    "onsets", "bpm", ...}; latency is audio capture -> generator frame presented, onset_ms each
    onset's capture -> the first frame showing it, per path, from the frames' stamps. With --stream: "stream": {"frames_sent",
    "frames_dropped", "connections", "failures", "error", ...}.

    \b
    Example:
      gansmania live --input 0 --fullscreen --monitor 1
      gansmania live --input 0 --clean-monitor 1 --set display.hud=true
      gansmania live --model runs/abstract/network-snapshot-000200.safetensors --input song.ogg
      gansmania live --headless --input song.wav --duration 30 --stats stats.json
      gansmania live --input song.ogg --record show.mp4 --log show.gmlog
      gansmania live --input 0 --stream "srt://192.168.1.30:9000?mode=caller"
      gansmania live --osc-port 9000 --osc-host 0.0.0.0 --osc-allow 192.168.1.20
      gansmania live --midi-in nanoKONTROL --midi-map nano.toml --tempo-source link
      gansmania live --input 0 --web 0.0.0.0:8080
      gansmania live --input 0 --fullscreen --ndi GANsmania
      gansmania live --input 0 --setlist kaleido_bloom,prism,symmetry,dream_trails --phrase-bars 8
      gansmania live --input 0 --ndi-in "STAGE-CAM" --preset ndi_overlay
    """
    from visualizer.commands.config import load_show_config
    from visualizer.core.config import override, write_resolved

    show = load_show_config(config_path, assignments)
    options = {"model.path": model_path, "model.backend": backend, "audio.input": input_spec,
               "display.fullscreen": fullscreen, "display.monitor": monitor,
               "display.clean_monitor": clean_monitor,
               "display.clean_size": _parse_size(clean_size, option="--clean-size"),
               "display.headless": headless, "display.size": _parse_size(size)}
    for key, value in options.items():
        if value is not None:
            show = override(show, key, value, origin="--" + key.split(".")[1].replace("_", "-"))
    control = {"control.osc_port": osc_port, "control.osc_host": osc_host,
               "control.osc_allow": osc_allow or None, "control.midi_in": midi_in,
               "control.midi_map": midi_map, "control.tempo_source": tempo_source,
               "control.web": web}
    for key, value in control.items():
        if value is not None:
            show = override(show, key, value, origin="--" + key.split(".")[1].replace("_", "-"))

    from visualizer.control.surfaces import ControlSurfaces, check_settings
    from visualizer.render.monitors import list_monitors
    from visualizer.render.output import check_display
    from visualizer.show import build_app, prepare_show

    if ndi_name is not None:
        show = override(show, "output.ndi.name", ndi_name, origin="--ndi")
    if ndi_in is not None:
        show = override(show, "video_in.ndi", ndi_in, origin="--ndi-in")
    if stream_url is not None:
        show = override(show, "output.stream.url", stream_url, origin="--stream")
    stream_what = "--stream" if stream_url is not None else "output.stream.url"
    display = show.display
    check_display(display, monitors=list_monitors() if display.clean_monitor >= 0
                  and not display.headless else None)
    check_settings(show.control)
    if show.output.ndi.name or show.video_in.ndi.strip():
        from visualizer.ndi.runtime import load_ndi

        load_ndi()  # no extra, no runtime: say so before the window opens
    if show.output.stream.url:
        from visualizer.record.network import check_stream_url, parse_stream_url

        check_stream_url(parse_stream_url(show.output.stream.url, what=stream_what),
                         what=stream_what)
    if show.control.web:
        from visualizer.web.server import check_web

        check_web(show.control.web)
    show = prepare_show(with_setlist(show, setlist, phrase_bars), preset=preset)
    # After prepare_show set the threads (configure_threads): these load numpy and PyAV.
    from visualizer.ndi.live_input import LiveNdiInput
    from visualizer.record.live_recording import LiveRecording
    from visualizer.record.live_stream import LiveStream

    app = build_app(show)
    recording = surfaces = remote = ndi = video_in = stream = None
    try:
        if show.config.video_in.ndi.strip():
            video_in = LiveNdiInput(app, show.config.video_in.ndi)
        recording = LiveRecording(app, record=record_path, log_path=log_path)
        if show.config.output.ndi.name:
            from visualizer.ndi.live_output import LiveNdiOutput

            ndi = LiveNdiOutput(app, show.config.output.ndi)  # before the surfaces: /gm/ndi/enable
        if show.config.output.stream.url:
            stream = LiveStream(app, show.config.output.stream, what=stream_what)
        surfaces = ControlSurfaces(app, show.config.control,
                                   recording=lambda: recording.recorder.recording)
        if show.config.control.web:
            remote = _start_remote(app, show, surfaces)
        try:
            stats = app.run(duration_s=duration_s)
        except KeyboardInterrupt:
            stats = app.stats()
    finally:
        if remote is not None:
            remote.close()
        if surfaces is not None:
            surfaces.close()
        if ndi is not None:
            ndi.close()
        if stream is not None:
            stream.close()
        if recording is not None:
            recording.close()  # finishes the files before the app lets go of anything
        if video_in is not None:
            video_in.close()
        app.close()
    if surfaces is not None:
        stats["control"] = surfaces.stats()
    if remote is not None:
        stats["control"]["web"] = remote.stats()
    if ndi is not None:
        stats["ndi"] = ndi.stats()
    if video_in is not None:
        stats["ndi_in"] = video_in.stats()
    if stream is not None:
        stats["stream"] = stream.stats()
    if stats_path is not None:
        stats_path.parent.mkdir(parents=True, exist_ok=True)
        stats_path.write_text(json.dumps(stats, indent=2) + "\n")
        write_resolved(show.config, stats_path)
    latency = stats["latency_ms"]["median"]
    click.echo(f"{stats['frames_displayed']} frames at {stats['display_fps']:.1f} fps, generator "
               f"{stats['gen_fps']:.1f} fps ({stats['backend']}), latency "
               f"{'--' if latency is None else f'{latency:.0f}'} ms median, "
               f"{stats['onsets']} onsets, {stats['bpm']:.1f} BPM")
    if stream is not None:
        sent = stats["stream"]
        click.echo(f"stream {sent['url']}: {sent['frames_sent']} frames sent, "
                   f"{sent['frames_dropped']} dropped" +
                   (f", {sent['failures']} failed connections" if sent["failures"] else ""))


def _start_remote(app, show, surfaces):
    """The web remote beside the other surfaces; its address (with the token) on the terminal,
    and as a QR code when it is open to the LAN."""
    from visualizer.presets.catalog import slot_paths
    from visualizer.web.qr import WILDCARDS, lan_address, terminal_qr
    from visualizer.web.remote import WebRemote

    slots = [path.stem for path in slot_paths(show.config.presets.slots)]
    remote = WebRemote(app, show.config.control, table=surfaces.table, status=surfaces.status,
                       slots=slots)
    click.echo(f"web remote: {remote.phone_url}")
    if remote.token:
        click.echo(terminal_qr(remote.phone_url))
        unknown = remote.server.host in WILDCARDS and lan_address() is None
        click.echo("  scan it with a phone on this network" +
                   (" (no LAN address found: replace the address with this computer's)"
                    if unknown else "") + "; the token is its password")
    return remote


def with_setlist(show, setlist: str | None, phrase_bars: int | None):
    """``show`` with --setlist (comma-separated looks) and --phrase-bars applied."""
    from visualizer.core.config import override

    if setlist is not None:
        looks = tuple(name.strip() for name in setlist.split(",") if name.strip())
        show = override(show, "setlist.looks", looks, origin="--setlist")
    if phrase_bars is not None:
        show = override(show, "setlist.phrase_bars", phrase_bars, origin="--phrase-bars")
    return show


def _parse_size(text: str | None, *, option: str = "--size") -> tuple[int, int] | None:
    if text is None:
        return None
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise click.BadParameter(f"{text!r} is not WxH, e.g. 1280x720", param_hint=option)
    return int(width), int(height)
