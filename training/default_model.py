"""Export a training snapshot as the bundled default model: a checkpoint of G_ema and, for
transfer learning, the D it trained with (``models/default.safetensors``, at most 20 MB), its
model card (``default.md``) and a sample grid (``default.png``, 64 fixed seeds).

    .venv/bin/python -m training.default_model runs/default/network-snapshot-....safetensors \
        --data data/mix --old models/default.safetensors --recipe-run runs/recipe-b ...

The card records the exact training command(s), kimg, wall time, machine and the dataset
recipe, read from the run folder beside the snapshot.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.checkpoint import (DEFAULT_GROUP, GENERATOR_KIND, Group, load_checkpoint,
                                 load_generator, module_group, read_header, save_checkpoint)
from training.model_card import CARD_SEEDS, WEIGHTS_LICENCE, evidence
from training.snapshots import grid_image, read_commands, sample_seeds
from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024


def export_default(snapshot: Path, out: Path, *, notes: Sequence[str] = (),
                   data: Path | None = None, old_model: Path | None = None,
                   runs: Sequence[Path] = (), kid_images: int = 2000) -> Path:
    """Write ``out`` (G_ema, and D as :func:`_discriminator` keeps it), ``out.md`` (model card)
    and ``out.png`` (grid); return ``out``.

    ``notes``: lines for the card's Notes section (what the run folder cannot tell). With
    ``data`` (the training folder) the card also gets its composition, the weights' licence,
    KID against ``data`` beside ``old_model``, the KID curve of the run and of ``runs`` (the
    recipes it was chosen over), a side-by-side figure, and ATTRIBUTION.md beside ``out``.
    """
    snapshot, out = Path(snapshot), Path(out)
    checkpoint = load_checkpoint(snapshot, groups=["G_ema"])
    generator = load_generator(snapshot)
    run_dir = snapshot.parent
    training = dict(checkpoint.training)
    provenance = dict(checkpoint.provenance)
    trained_on = str(provenance.get("dataset", ""))
    # Every run folder of the chain is named as runs/NAME: the last stage's command names the
    # state it was transferred from.
    stages = provenance.get("lineage", [])
    folders = [run_dir, *(Path(stage.get("run_dir", "")) for stage in stages)]
    commands = [_portable_command(c, data=trained_on, runs=folders) for c in read_commands(run_dir)]
    if stages:
        provenance["lineage"] = [
            {**{k: v for k, v in stage.items() if k != "run_dir"},
             "run": Path(stage.get("run_dir", "")).name,
             "commands": [_portable_command(c, data=trained_on, runs=folders)
                          for c in stage.get("commands", [])]}
            for stage in stages]
    if trained_on:
        provenance["dataset"] = f"data/{Path(trained_on).name}"
    if data is not None:
        licence = f"{WEIGHTS_LICENCE}: see the card for why and ATTRIBUTION.md for the works"
    else:
        licence = "MIT, like the code; trained only on procedurally painted images"
    provenance.update({"source": "gansmania train (bundled default model)", "licence": licence,
                       "parent": snapshot.name, "commands": commands})
    if old_model is not None and Path(old_model).resolve() == out.resolve():
        # The old model is about to be replaced; score the copy it leaves behind.
        kept = out.with_name(f"{out.stem}-replaced{out.suffix}")
        shutil.copyfile(out, kept)
        old_model = kept
    groups = {DEFAULT_GROUP: module_group(generator, kind=GENERATOR_KIND,
                                          config=generator.config.to_dict())}
    discriminator = _discriminator(snapshot)
    save_checkpoint(out, {**groups, **discriminator}, training=training, provenance=provenance)
    if discriminator and out.stat().st_size > MAX_BYTES:
        log.warning("%s: over the 20 MB budget with its discriminator; written without it", out)
        save_checkpoint(out, groups, training=training, provenance=provenance)
    size = out.stat().st_size
    if size > MAX_BYTES:
        out.unlink()
        raise GansmaniaError(f"{out}: {size / 2**20:.1f} MB is over the 20 MB budget for a bundled model")
    images = sample_seeds(generator, CARD_SEEDS)
    grid_path = out.with_suffix(".png")
    grid_image(images, columns=8).save(grid_path)
    evidence_lines = []
    if data is not None:
        evidence_lines = evidence(out, out, data=Path(data), old_model=old_model,
                                  runs=[run_dir, *runs], kid_images=kid_images, lineage=stages,
                                  resolution=generator.config.img_resolution,
                                  kimg=float(training.get("kimg") or math.inf))
    if old_model is not None and old_model.name.endswith(f"-replaced{out.suffix}"):
        old_model.unlink()
    card = _card(out, generator, training, provenance, size, grid_path, notes, evidence_lines)
    out.with_suffix(".md").write_text(card, encoding="utf-8")
    return out


def _discriminator(snapshot: Path) -> dict[str, Group]:
    """The snapshot's D in half precision, as group ``D`` (none when it has no D).

    Kept so that a fine-tune or the next stage (``gansmania train --transfer``) starts from the D
    that trained with this G: a fresh D at 256 px stays at chance while G wanders (README), and
    the bundled lineage's D was lost twice with the machine it trained on. Half precision keeps
    G_ema and D of the cpu config under the budget; the transfer loads D into float32.
    """
    if "D" not in read_header(snapshot)["groups"]:
        return {}
    d = load_checkpoint(snapshot, groups=["D"]).group("D")
    return {"D": Group(kind=d.kind, config=d.config,
                       tensors={k: v.half() if v.is_floating_point() else v
                                for k, v in d.tensors.items()})}


def portable(text: str, *, data: str, run_dir: Path) -> str:
    """``text`` with this machine's paths of the dataset and the run folder replaced by their
    names (``data/NAME``, ``runs/NAME``): a card must not name where it was trained."""
    return (text.replace(str(Path(data).expanduser()), f"data/{Path(data).name}")
            .replace(str(run_dir), f"runs/{run_dir.name}"))


def _portable_command(text: str, *, data: str, runs: Sequence[Path]) -> str:
    for folder in runs:
        text = portable(text, data=data, run_dir=folder)
    return text


def _card(out: Path, generator, training: dict[str, Any], provenance: dict[str, Any], size: int,
          grid: Path, notes: Sequence[str], evidence_lines: Sequence[str]) -> str:
    config = generator.config
    wall = float(training.get("wall_s", 0))
    machine = provenance.get("machine", {})
    recipe = provenance.get("dataset_recipe")
    commands = provenance.get("commands") or ["(not recorded)"]
    lineage = provenance.get("lineage", [])
    total_cpu = sum(float(stage.get("cpu_s") or 0) for stage in lineage) + float(training.get("cpu_s") or 0)
    lines = [
        f"# {out.stem}: the bundled GANsmania model",
        "",
        f"A StyleGAN2 generator (config `{training.get('preset', '?')}`: {config.img_resolution}x"
        f"{config.img_resolution}, z/w {config.z_dim}/{config.w_dim}, channels "
        f"{config.channel_base}/{config.channel_max}, {sum(p.numel() for p in generator.parameters()):,} "
        f"parameters, {size / 2**20:.1f} MB) trained with `gansmania train` on "
        + ("abstract art and procedural paintings (below)" if evidence_lines
           else "procedurally painted abstract images")
        + ". It is what `live`, `render` and `generate` use without `--model`.",
        "",
        "## Training",
        "",
        f"- kimg: {training.get('kimg')} (ticks: {training.get('tick')}), final ADA p: "
        f"{training.get('augment_p', 0):.3f}",
        f"- wall time: {wall / 3600:.1f} h ({wall:.0f} s), over all sessions"
        + (f"; CPU time {float(training['cpu_s']) / 3600:.1f} CPU-hours" if training.get("cpu_s")
           else ""),
        f"- machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, torch "
        f"{machine.get('torch', '?')}" + (f", GPU {machine['gpu']}" if machine.get("gpu") else ""),
        f"- snapshot: `{provenance.get('parent')}`",
        "- command(s), one per session (resumed with `--resume auto`):",
        "",
        *[f"      {c}" for c in sessions(commands)],
        "",
        *_lineage_lines(lineage, total_cpu),
        *(evidence_lines or _procedural_dataset(provenance, recipe)),
        "## Samples",
        "",
        f"![64 samples, seeds 0-63]({grid.name})",
        "",
        "Seeds 0-63, truncation 1, constant noise (`gansmania generate --seeds 0-63 --grid`).",
        "",
    ]
    if notes:
        lines += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    return "\n".join(lines)


def sessions(commands: Sequence[str]) -> list[str]:
    """The card's command lines: a command repeated by the sessions that resumed a run is
    written once, with how many sessions ran it (a shell comment, so the line still runs)."""
    lines: list[str] = []
    for command, runs in itertools.groupby(commands):
        count = len(list(runs))
        lines.append(command if count == 1 else f"{command}   # {count} sessions")
    return lines


def _lineage_lines(lineage: Sequence[dict[str, Any]], total_cpu_s: float) -> list[str]:
    """The stages the final run was transferred from (earliest first), with their commands."""
    if not lineage:
        return []
    lines = [f"Grown from earlier runs (`--transfer`; `--transfer-resolution` where the size "
             f"changes), earliest first; all stages together: {total_cpu_s / 3600:.1f} CPU-hours.", ""]
    for number, stage in enumerate(lineage, 1):
        cpu = float(stage.get("cpu_s") or 0) / 3600
        lines += [f"{number}. `runs/{stage.get('run')}` at {stage.get('resolution')} px: "
                  f"{stage.get('kimg')} kimg, {cpu:.1f} CPU-hours; its `{stage.get('checkpoint')}` "
                  "started the next stage", "",
                  *[f"       {c}" for c in sessions(stage.get("commands", []))], ""]
    return lines


def _procedural_dataset(provenance: dict[str, Any], recipe: dict | None) -> list[str]:
    return [
        "## Dataset",
        "",
        f"- {provenance.get('dataset_images', '?')} images from `{provenance.get('dataset', '?')}`",
        "- recipe: " + (f"`{json.dumps(recipe)}`" if recipe else "(not recorded)"),
        "- regenerate: `gansmania synth-dataset DATA --count N --res R --seed S` (same seed, same images)",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Export a snapshot as the bundled default model.")
    parser.add_argument("snapshot", type=Path, help="network-snapshot-*.safetensors of the run")
    parser.add_argument("--out", type=Path, default=Path("models/default.safetensors"))
    parser.add_argument("--note", action="append", default=[],
                        help="a line for the card's Notes section (repeatable)")
    parser.add_argument("--data", type=Path, help="the training folder: composition, KID, "
                        "ATTRIBUTION.md and figures go into the card")
    parser.add_argument("--old", type=Path, help="the model this one replaces (KID, figure)")
    parser.add_argument("--recipe-run", action="append", type=Path, default=[],
                        help="a run of a recipe compared with this one (its KID curve)")
    parser.add_argument("--kid-images", type=int, default=2000)
    args = parser.parse_args()
    path = export_default(args.snapshot, args.out, notes=args.note, data=args.data,
                          old_model=args.old, runs=args.recipe_run, kid_images=args.kid_images)
    print(f"wrote {path}, {path.with_suffix('.md')}, {path.with_suffix('.png')}")


if __name__ == "__main__":
    main()
