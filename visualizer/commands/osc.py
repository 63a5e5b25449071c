"""`gansmania osc`: the control address space, a test sender, templates and MIDI ports."""

from __future__ import annotations

from pathlib import Path

import click

TEMPLATES = {"touchosc": "gansmania.tosc", "ableton": "ableton-live.md",
             "midi": "midi-map.example.toml"}


@click.group()
def osc() -> None:
    """Control surfaces: OSC addresses, a sender, TouchOSC/Ableton/MIDI templates.

    `gansmania live --osc-port 9000` listens for OSC (UDP, loopback unless --osc-host says
    otherwise); `--midi-in PORT --midi-map FILE` maps MIDI to the same addresses;
    `--tempo-source link` follows an Ableton Link session.

    \b
    Example:
      gansmania osc addresses
      gansmania osc send /gm/preset tunnel --port 9000
      gansmania osc template touchosc --out gansmania.tosc
    """


@osc.command()
@click.option("--all", "show_all", is_flag=True, help="Every address, one per line.")
@click.option("--markdown", is_flag=True, help="As the README's Markdown table.")
def addresses(show_all: bool, markdown: bool) -> None:
    """List the OSC addresses a show answers (the same routes serve MIDI maps).

    \b
    Example:
      gansmania osc addresses
      gansmania osc addresses --all | grep /gm/fx/zoom
    """
    from visualizer.control.routes import address_rows, markdown_table, standard_table

    table = standard_table()
    if show_all:
        for route in table.routes.values():
            click.echo(f"{route.address} {route.args}".rstrip())
        return
    rows = address_rows(table)
    if markdown:
        click.echo(markdown_table(rows))
        return
    from rich.console import Console
    from rich.table import Table

    view = Table("address", "arguments", "what it does")
    for row in rows:
        view.add_row(*row)
    Console().print(view)


@osc.command()
@click.argument("address")
@click.argument("values", nargs=-1)
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the show listens.")
@click.option("--port", type=click.IntRange(1, 65535), default=9000, show_default=True)
def send(address: str, values: tuple[str, ...], host: str, port: int) -> None:
    """Send one OSC message (numbers are sent as numbers, the rest as strings).

    \b
    Example:
      gansmania osc send /gm/intensity 0.5
      gansmania osc send /gm/record/start /tmp/take1.mp4 --port 9000
    """
    from pythonosc.udp_client import SimpleUDPClient

    SimpleUDPClient(host, port).send_message(address, [_literal(v) for v in values])


@osc.command()
@click.argument("name", type=click.Choice(sorted(TEMPLATES)))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Copy it here (default: print where the shipped one is).")
def template(name: str, out: Path | None) -> None:
    """The TouchOSC layout, the Ableton Live guide or an example MIDI map.

    \b
    Example:
      gansmania osc template touchosc --out ~/gansmania.tosc
      gansmania osc template ableton
    """
    import shutil

    source = Path(__file__).resolve().parents[1] / "control" / "templates" / TEMPLATES[name]
    if out is None:
        click.echo(source)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, out)
    click.echo(f"wrote {out}")


@osc.command("midi-ports")
@click.option("--api", type=click.Choice(["auto", "alsa", "jack"]), default="auto",
              show_default=True)
def midi_ports(api: str) -> None:
    """List the MIDI inputs `live --midi-in` can open.

    \b
    Example:
      gansmania osc midi-ports --api jack
    """
    from visualizer.control.midi import input_names

    names = input_names(api)
    click.echo("\n".join(names) if names else "no MIDI inputs (use --midi-in virtual:NAME to "
                                                 "create one)")


def _literal(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
