"""`gansmania presets`: list the looks, and validate preset files before a show."""

from __future__ import annotations

from pathlib import Path

import click

from visualizer.commands.config import config_file_option, load_show_config, set_option


@click.group()
def presets() -> None:
    """List and validate presets (presets/*.toml: model, latent walk, shader chain).

    A preset is a TOML file in the bundled presets/ folder or in ~/.config/gansmania/presets
    (which wins a name clash). See the README section "Presets and shaders" for the format.

    \b
    Example:
      gansmania presets list
      gansmania presets check mylook.toml
    """


@presets.command(name="list")
@click.option("--shaders", "show_shaders", is_flag=True,
              help="List the shader passes, their parameters and the features instead.")
@config_file_option
@set_option
def list_presets(show_shaders: bool, config_path: Path | None, assignments: tuple[str, ...]) -> None:
    """List the presets with their one-line description and the key (1-9) that selects them live.

    \b
    Example:
      gansmania presets list
      gansmania presets list --shaders
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from visualizer.core.errors import GansmaniaError
    from visualizer.presets.catalog import SLOT_KEYS, default_preset_dirs, preset_paths, slot_paths
    from visualizer.presets.loader import load_preset
    from visualizer.render.library import ShaderLibrary

    library = ShaderLibrary(None)
    console = Console()
    if show_shaders:
        click.echo("\n".join(_shader_lines(library)))
        return
    show = load_show_config(config_path, assignments)
    keys = {path.resolve(): key for key, path in zip(SLOT_KEYS, slot_paths(show.presets.slots))}
    table = Table("key", "name", "description")
    for name, path in preset_paths().items():
        try:
            description = load_preset(path, library=library).description
        except GansmaniaError as exc:
            description = f"[red]broken: {escape(str(exc))}[/red]"
        table.add_row(keys.get(path.resolve(), ""), name, description)
    console.print(table)
    console.print("folders (the first wins a name clash): "
                  + ", ".join(str(d) for d in default_preset_dirs()), highlight=False)


def _shader_lines(library) -> list[str]:
    """Every pass with its parameters, then the features a parameter may follow."""
    from visualizer.presets.features import FEATURES

    lines = []
    for name in library.names():
        source = library.source(name)
        lines.append(f"{name}: {source.doc}")
        for param in source.params:
            spec = param.spec
            default = str(spec.default).lower() if spec.kind == "bool" else f"{spec.default:g}"
            lines.append(f"  {param.name:<16} {spec.kind:<5} {spec.bounds() or 'true/false':<12} "
                         f"default {default:<6} {spec.doc}")
    lines.append("features a parameter may follow ({ from = FEATURE, range = [LOW, HIGH] }):")
    lines += [f"  {name:<16} {doc}" for name, (doc, _) in FEATURES.items()]
    return lines


@presets.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--shader-dir", "shader_dirs", multiple=True,
              type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Also look for shader passes here, before the bundled ones (repeatable).")
@click.option("--no-compile", is_flag=True, help="Only parse the passes; do not compile the GLSL.")
def check(files: tuple[Path, ...], shader_dirs: tuple[Path, ...], no_compile: bool) -> None:
    """Validate preset files (or names); no FILES checks every preset found.

    Checks the TOML, every key and value, every shader pass the chain uses (compiled on a
    headless EGL context when one can be made), and the model file. Prints one line per file;
    exits 0 when all are valid, 2 with one line per error otherwise.

    \b
    Example:
      gansmania presets check
      gansmania presets check mylook.toml --shader-dir ./my-shaders
    """
    from visualizer.presets.catalog import find_preset, preset_paths
    from visualizer.presets.check import PresetChecker, gl_context_or_reason

    paths = [find_preset(str(f)) for f in files] if files else list(preset_paths().values())
    ctx, renderer = (None, "--no-compile") if no_compile else gl_context_or_reason()
    checker = PresetChecker(ctx, shader_dirs=shader_dirs)
    failed = False
    try:
        for path in paths:
            result = checker.check(path)
            if result.ok:
                passes = ", ".join(result.preset.shaders) or "no passes"
                glsl = f"GLSL compiled on {renderer}" if ctx else f"GLSL not compiled: {renderer}"
                click.echo(f"{path}: ok ({passes}; {glsl})")
            else:
                click.echo(result.error, err=True)
                failed = True
    finally:
        if ctx is not None:
            ctx.release()
    if failed:
        raise SystemExit(2)
