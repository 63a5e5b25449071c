"""`gansmania devices`: what this machine offers for a show."""

from __future__ import annotations

import dataclasses
import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the lists as JSON.")
@click.option("--ndi-wait", "ndi_wait_s", type=click.FloatRange(0.0, 60.0), default=2.0,
              show_default=True, help="Seconds to look for NDI sources on the network (0: skip).")
def devices(as_json: bool, ndi_wait_s: float) -> None:
    """List audio inputs, PulseAudio sources, monitors, MIDI ports and NDI sources.

    Use the index or a name substring with `gansmania live --input`, a PulseAudio source as
    `--input pulse:NAME`, and a monitor index with `--monitor` or `--clean-monitor`.

    \b
    Example:
      gansmania devices
      gansmania devices --json > devices.json
    """
    from visualizer.audio.devices import list_audio_inputs, list_pulse_sources
    from visualizer.render.monitors import list_monitors

    inputs, pulse, monitors = list_audio_inputs(), list_pulse_sources(), list_monitors()
    ndi, ndi_problem = _ndi_sources(ndi_wait_s)
    if as_json:
        click.echo(json.dumps({
            "audio_inputs": [dataclasses.asdict(d) for d in inputs],
            "pulse_sources": None if pulse is None else [dataclasses.asdict(s) for s in pulse],
            "monitors": None if monitors is None else [dataclasses.asdict(m) for m in monitors],
            "ndi_sources": ndi,
        }, indent=2))
        return

    if inputs:
        click.echo("Audio inputs (--input INDEX or a name substring):")
        for d in inputs:
            click.echo(f"  [{d.index}] {d.name}  {d.channels} ch, {d.default_rate:.0f} Hz, {d.host_api}")
    else:
        click.echo("Audio inputs: none (no sound card or audio server found)")
    if pulse:
        click.echo("PulseAudio sources (--input pulse:NAME; *.monitor captures what a sink plays):")
        for s in pulse:
            click.echo(f"  {s.name}  {s.sample_spec}")
    elif pulse is not None:
        click.echo("PulseAudio sources: none")
    if monitors is None:
        click.echo("Monitors: no display (DISPLAY/WAYLAND_DISPLAY unset or unreachable); "
                   "use `gansmania live --headless`")
    else:
        click.echo("Monitors (--monitor or --clean-monitor INDEX):")
        for m in monitors:
            primary = "  (primary)" if m.primary else ""
            click.echo(f"  [{m.index}] {m.name}  {m.width}x{m.height} @ {m.refresh_hz} Hz{primary}")
    if ndi is None:
        click.echo(f"NDI sources: {ndi_problem}")
    elif ndi:
        click.echo("NDI sources (`live --ndi-in NAME`; Resolume, OBS and TouchDesigner list the same):")
        for name in ndi:
            click.echo(f"  {name}")
    else:
        click.echo(f"NDI sources: none seen in {ndi_wait_s:g} s")


def _ndi_sources(wait_s: float) -> tuple[list[str] | None, str]:
    """(NDI source names, or None with why not)."""
    if wait_s <= 0:
        return None, "not looked for (--ndi-wait 0)"
    from visualizer.ndi.runtime import NdiUnavailable, find_sources

    try:
        return find_sources(wait_s=wait_s), ""
    except NdiUnavailable as exc:
        return None, str(exc)
