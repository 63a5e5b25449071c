"""The `gansmania` command. The root parses global options and registers each package's
subcommands; the subcommands live with the package that owns them."""

from __future__ import annotations

import sys

import click

from engine_build.commands import COMMANDS as ENGINE_BUILD_COMMANDS
from scraping.commands import COMMANDS as SCRAPING_COMMANDS
from training.commands import COMMANDS as TRAINING_COMMANDS
from visualizer import __version__
from visualizer.commands import COMMANDS as VISUALIZER_COMMANDS
from visualizer.core.errors import GansmaniaError
from visualizer.core.logs import setup_logging

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for library debug logs).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.version_option(__version__, prog_name="gansmania")
def cli(verbose: int, quiet: bool) -> None:
    """GANsmania: a real-time, audio-reactive StyleGAN visualizer for VJs.

    Audio in, features out, latents walk, a generator paints, OpenGL shows it; OSC and MIDI
    steer it, and it can all be recorded. Run `gansmania SUBCOMMAND --help` for each job.

    \b
    Example:
      gansmania devices
      gansmania live --input 0 --fullscreen
    """
    setup_logging(-1 if quiet else verbose)


for _command in (*VISUALIZER_COMMANDS, *TRAINING_COMMANDS, *ENGINE_BUILD_COMMANDS,
                 *SCRAPING_COMMANDS):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every user error is one line on stderr and exit status 2."""
    try:
        code = cli.main(args=argv, prog_name="gansmania", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        code = 0
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "gansmania"
        hint = f" (see '{where} --help')" if exc.ctx else ""
        click.echo(f"{where}: error: {exc.format_message().rstrip('.')}{hint}", err=True)
        code = exc.exit_code
    except click.ClickException as exc:
        click.echo(f"gansmania: error: {exc.format_message()}", err=True)
        code = exc.exit_code
    except GansmaniaError as exc:
        click.echo(f"gansmania: error: {exc}", err=True)
        code = exc.exit_code
    except click.Abort:
        click.echo("gansmania: aborted", err=True)
        code = 130
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
