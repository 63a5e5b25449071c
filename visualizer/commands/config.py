"""`gansmania config`: inspect and validate show configuration files."""

from __future__ import annotations

from pathlib import Path

import click


def load_show_config(path: Path | None, assignments: tuple[str, ...] = ()):
    """The resolved ShowConfig: file (or defaults), then each ``--set KEY=VALUE`` in order."""
    from visualizer.core.config import load_config, parse_assignment
    from visualizer.settings import ShowConfig

    return load_config(ShowConfig, path, overrides=dict(parse_assignment(a) for a in assignments))


config_file_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Show configuration (TOML); see `gansmania config keys`.")
set_option = click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
                          help="Override one config key, e.g. --set audio.hop=128 (repeatable).")


@click.group()
def config() -> None:
    """Inspect and validate show configuration (TOML).

    \b
    Example:
      gansmania config keys
      gansmania config check myshow.toml
      gansmania config show --config myshow.toml --set display.size=[1920,1080]
    """


@config.command()
def keys() -> None:
    """List every config key with its default, allowed values and meaning.

    \b
    Example:
      gansmania config keys
    """
    from rich.console import Console
    from rich.table import Table

    from visualizer.core.config import describe
    from visualizer.settings import ShowConfig

    table = Table("key", "default", "allowed", "meaning")
    for row in describe(ShowConfig):
        table.add_row(*row)
    Console().print(table)


@config.command()
@config_file_option
@set_option
def show(config_path: Path | None, assignments: tuple[str, ...]) -> None:
    """Print the resolved configuration as TOML (defaults, then the file, then --set).

    \b
    Example:
      gansmania config show --config myshow.toml --set audio.hop=128
    """
    from visualizer.core.config import to_toml

    click.echo(to_toml(load_show_config(config_path, assignments)), nl=False)


@config.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Validate config files; exit 0 when all are valid, 2 with one line per error otherwise.

    \b
    Example:
      gansmania config check myshow.toml
    """
    from visualizer.core.errors import ConfigError

    failed = False
    for path in files:
        try:
            load_show_config(path)
            click.echo(f"{path}: ok")
        except ConfigError as exc:
            click.echo(str(exc), err=True)
            failed = True
    if failed:
        raise SystemExit(2)
