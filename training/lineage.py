"""A lineage: the stages a model is grown through (say 64 -> 128 -> 256 px), each a training run
of its own that starts from the stage before it, written down as one TOML recipe.

`gansmania train-lineage RECIPE DATA --out DIR` trains the stages in order, each in DIR/NAME,
and goes on from wherever it was stopped (each stage resumes with ``--resume auto``), so a lineage
of many CPU-hours is one command, however often it is interrupted. The choices that were made by
hand between stages are part of the recipe: which checkpoint of a stage the next one grows from
(its newest state, or its snapshot with the lowest in-training KID) and whether ADA's p carries
over (a transfer otherwise starts at p = 0). A recipe, for the format (bundled:
``training/lineages/*.toml``)::

    description = "Learn the layout at 64 px, where a kimg is cheap, then grow"
    config = "cpu"
    [train]                   # every stage: any `gansmania train --set` key, as in config.toml
    loss.pl_weight = 0
    [[stages]]
    name = "64px"
    resolution = 64
    kimg = 200
    train.loss.r1_gamma = 0.05
    [[stages]]
    name = "128px"
    resolution = 128
    kimg = 24
    grow_from = "best"
"""

from __future__ import annotations

import json
import logging
import math
import re
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from training.configs import RESOLUTIONS
from training.train_config import RECIPES, TrainConfig
from visualizer.core.config import Origin, from_dict, override, read_toml, setting
from visualizer.core.errors import ConfigError, GansmaniaError

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).parent / "lineages"
# Keys the lineage sets itself for every stage; a recipe that set them would be overridden unseen.
OWN_KEYS = {"data.path": "DATA", "out": "--out", "resume": "(always auto)",
            "transfer": "grow_from / start", "transfer_resolution": "the stage's resolution",
            "generator.img_resolution": "the stage's resolution", "schedule.kimg": "the stage's kimg"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class RecipeHeader:
    description: str = setting("", doc="one line: what the lineage is for")
    config: str = setting("cpu", doc="named networks and recipe of every stage", choices=tuple(RECIPES))
    start: str = setting("", doc="checkpoint the first stage starts from, grown to its size "
                                 "(relative to the recipe file); empty = from scratch")


@dataclass(frozen=True)
class StageHeader:
    name: str = setting("", doc="the stage's run folder under --out (letters, digits, - and _)")
    resolution: int = setting(64, doc="output size of the stage's networks (px)", choices=RESOLUTIONS)
    kimg: float = setting(10.0, doc="train the stage until this many thousand images were shown",
                          min=0.001, max=1e6)
    grow_from: str = setting(
        "last", doc="what of the stage before it this one starts from: last = its newest training "
        "state (G, D); best = its snapshot with the lowest in-training KID (G_ema, D)",
        choices=("last", "best"))
    best_window_kimg: float = setting(
        0.0, doc="with grow_from = best: only the snapshots of the previous stage's last N kimg; "
        "0 = all of them", min=0.0, max=1e6)
    carry_augment_p: bool = setting(
        True, doc="start ADA at the p the checkpoint it grows from ended with (else at "
        "train.augment.p, 0 by default)")


@dataclass(frozen=True)
class Stage:
    header: StageHeader
    settings: tuple[tuple[str, Any], ...]  # dotted train keys: the recipe's [train], then its own

    @property
    def name(self) -> str:
        return self.header.name


@dataclass(frozen=True)
class Recipe:
    path: Path
    header: RecipeHeader
    stages: tuple[Stage, ...]

    @property
    def start(self) -> Path | None:
        return (self.path.parent / self.header.start) if self.header.start else None


@dataclass(frozen=True)
class Source:
    """The checkpoint a stage grows from, and why that one."""

    path: Path
    augment_p: float | None
    reason: str


def find_recipe(name_or_path: str | Path) -> Path:
    """A recipe file: a path, or the name of a bundled one (``default``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = BUNDLED / f"{name_or_path}.toml"
    if bundled.is_file():
        return bundled
    names = ", ".join(sorted(p.stem for p in BUNDLED.glob("*.toml")))
    raise ConfigError(f"{name_or_path}: no such lineage recipe; allowed: a .toml file or one of "
                      f"the bundled recipes: {names}")


def load_recipe(path: Path) -> Recipe:
    """Read and check a recipe (:func:`check_stages`)."""
    data, text = read_toml(path)
    origin = Origin(str(path), text)
    common = data.pop("train", {})
    stages_data = data.pop("stages", None)
    header = from_dict(RecipeHeader, data, origin=origin)
    if not isinstance(stages_data, list) or not stages_data \
            or not all(isinstance(s, Mapping) for s in stages_data):
        raise ConfigError(f"{path}: key 'stages' must be an array of tables: write each stage as "
                          "a [[stages]] table with name, resolution and kimg")
    if header.start and not (path.parent / header.start).is_file():
        raise ConfigError(f"{origin.where('start')}: key 'start' = {header.start!r}: file not found "
                          f"(relative to {path.parent})")
    common_settings = _flat(common, "train", path)
    stages, names = [], set()
    for number, entry in enumerate(stages_data, 1):
        entry = dict(entry)
        own = _flat(entry.pop("train", {}), f"stage {number} train", path)
        where = f"{path}: stage {number}"
        stage_header = from_dict(StageHeader, entry, origin=where)
        if not _NAME.match(stage_header.name) or stage_header.name in names:
            raise ConfigError(f"{where}: key 'name' = {stage_header.name!r}: allowed a name no other "
                              "stage has, of letters, digits, - and _")
        names.add(stage_header.name)
        stages.append(Stage(stage_header, (*common_settings, *own)))
    recipe = Recipe(path=Path(path), header=header, stages=tuple(stages))
    check_stages(recipe)
    return recipe


def _flat(table: Any, where: str, path: Path) -> list[tuple[str, Any]]:
    """{'loss': {'r1_gamma': 1}} -> [('loss.r1_gamma', 1)]; the keys the lineage sets are refused."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: key '{where}' must be a table of `gansmania train --set` keys")
    pairs = []
    for key, value in table.items():
        if isinstance(value, Mapping):
            pairs += [(f"{key}.{k}", v) for k, v in _flat(value, where, path)]
        else:
            pairs.append((key, value))
    for key, _ in pairs:
        _check_free(key, f"{path}: [{where}]")
    return pairs


def _check_free(key: str, where: str) -> None:
    if key in OWN_KEYS:
        raise ConfigError(f"{where} key {key!r} is set by the lineage from {OWN_KEYS[key]}; "
                          "allowed: any other train key")


def check_stages(recipe: Recipe, extra: Sequence[tuple[str, Any]] = ()) -> None:
    """Apply every stage's keys (and ``extra``'s) to a config now, so that a mistake in the last
    stage stops the lineage before the first has trained."""
    for key, _ in extra:
        _check_free(key, "--set")
    for stage in recipe.stages:
        stage_config(recipe, stage, data=Path("data"), out=Path("runs"), source=None, extra=extra)


def stage_settings(stage: Stage, *, source: Source | None,
                   extra: Sequence[tuple[str, Any]] = ()) -> list[tuple[str, Any]]:
    """The (key, value) overrides that make ``stage``'s run, in the order they apply: the
    recipe's, the command line's (``extra``), then what the lineage sets. ``source``: what the
    stage grows from; None: from scratch, or resuming (the state's networks win then)."""
    pairs = [*stage.settings, *extra, ("schedule.kimg", stage.header.kimg), ("resume", "auto")]
    if source is None:
        pairs.append(("generator.img_resolution", stage.header.resolution))
        return pairs
    pairs += [("transfer", str(source.path)), ("transfer_resolution", stage.header.resolution)]
    if source.augment_p is not None and stage.header.carry_augment_p:
        pairs.append(("augment.p", round(source.augment_p, 6)))
    return pairs


def stage_config(recipe: Recipe, stage: Stage, *, data: Path, out: Path, source: Source | None,
                 extra: Sequence[tuple[str, Any]] = ()) -> TrainConfig:
    config = RECIPES[recipe.header.config]
    config = override(config, "data.path", str(data), origin="DATA")
    config = override(config, "out", str(out / stage.name), origin="--out")
    for key, value in stage_settings(stage, source=source, extra=extra):
        config = override(config, key, value, origin=f"{recipe.path}: stage '{stage.name}'")
    return config


def command_line(recipe: Recipe, stage: Stage, *, data: Path, out: Path, source: Source | None,
                 extra: Sequence[tuple[str, Any]] = ()) -> list[str]:
    """The `gansmania train` command that is ``stage``'s run (for commands.txt and the model card):
    every key as ``--set``, which goes through the same override as :func:`stage_config`."""
    args = ["gansmania", "train", str(data), "--out", str(out / stage.name),
            "--config", recipe.header.config]
    for key, value in stage_settings(stage, source=source, extra=extra):
        args += ["--set", f"{key}={_literal(value)}"]
    return args


def _literal(value: Any) -> str:
    """A value as `--set` reads it back (a TOML literal; strings bare, as parse_assignment allows)."""
    if isinstance(value, str):
        return value
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def pick_source(stage: Stage, previous_dir: Path) -> Source:
    """The checkpoint of the stage before ``stage`` (run folder ``previous_dir``) it grows from."""
    from training.snapshots import latest_state

    header = stage.header
    if header.grow_from == "last":
        path = latest_state(previous_dir)
        if path is None:
            raise GansmaniaError(f"{previous_dir}: no training state for stage '{stage.name}' to "
                                 "grow from")
        reason = "its newest training state"
    else:
        path, reason = _best_snapshot(previous_dir, window_kimg=header.best_window_kimg,
                                      stage=stage.name)
    return _source(path, reason)


def _source(path: Path, reason: str) -> Source:
    from training.checkpoint import load_checkpoint

    augment_p = load_checkpoint(path, groups=()).training.get("augment_p")
    return Source(path=path, augment_p=None if augment_p is None else float(augment_p), reason=reason)


def _best_snapshot(run_dir: Path, *, window_kimg: float, stage: str) -> tuple[Path, str]:
    metrics = _metric_lines(run_dir)
    if not metrics:
        raise GansmaniaError(f"{run_dir}/metrics.jsonl: no KID to pick the snapshot stage '{stage}' "
                             "grows from; allowed: grow_from = \"last\", or metrics (train key "
                             "metrics.art = true) in the stage before it")
    since = max(line["kimg"] for line in metrics) - window_kimg if window_kimg else -math.inf
    candidates = [(line["kid"], line["kimg"], path) for line in metrics if line["kimg"] >= since
                  and (path := _snapshot_of_tick(run_dir, line["tick"])) is not None]
    if not candidates:
        raise GansmaniaError(f"{run_dir}: no network snapshot beside its KID readings for stage "
                             f"'{stage}' to grow from")
    kid, kimg, path = min(candidates, key=lambda c: (c[0], -c[1]))
    window = f" in its last {window_kimg:g} kimg" if window_kimg else ""
    return path, (f"its lowest in-training KID x1e3 {kid * 1e3:.3f} at {kimg:g} kimg, of "
                  f"{len(candidates)} snapshots{window}")


def _metric_lines(run_dir: Path) -> list[dict[str, Any]]:
    """The run's metrics lines that hold a KID."""
    from training.curves import metric_lines

    return [line for line in metric_lines(run_dir) if line.get("kid") is not None]


def _snapshot_of_tick(run_dir: Path, tick: int) -> Path | None:
    found = sorted(run_dir.glob(f"network-snapshot-*-{tick:06d}.safetensors"))
    return found[-1] if found else None


def _begun(recipe: Recipe, out: Path) -> list[bool]:
    """Per stage: whether it has begun (has a training state in ``out``)."""
    from training.run_state import list_states

    return [bool(list_states(out / stage.name)) for stage in recipe.stages]


def plan(recipe: Recipe, out: Path) -> Iterator[tuple[int, Stage]]:
    """The stages still to train: from the newest one that has begun (every stage before it is
    final: a later stage grew from it, so training it on would change nothing downstream)."""
    begun = [i for i, started in enumerate(_begun(recipe, out)) if started]
    first = begun[-1] if begun else 0
    for index in range(first):
        log.info("stage %s: done (stage %s has grown from it)", recipe.stages[index].name,
                 recipe.stages[index + 1].name)
    yield from ((i, recipe.stages[i]) for i in range(first, len(recipe.stages)))


@dataclass(frozen=True)
class StageStatus:
    """Where one stage of a lineage stands (:func:`status`)."""

    name: str
    resolution: int
    kimg: float  # the recipe's
    kimg_done: float | None  # the newest state's; None: not begun
    cpu_hours: float | None
    kid_latest: float | None  # in-training KID (metrics.jsonl), the newest and the lowest
    kid_best: float | None
    grown_from: str  # the checkpoint it grew from (lineage.json), "" when none
    done: bool


def status(recipe: Recipe, out: Path) -> list[StageStatus]:
    """Each stage's progress in ``out``, read from its files (nothing is trained or loaded but
    checkpoint headers)."""
    from training.checkpoint import load_checkpoint
    from training.run_state import list_states

    begun = _begun(recipe, out)
    rows = []
    for index, stage in enumerate(recipe.stages):
        run_dir = out / stage.name
        states = list_states(run_dir)
        training = load_checkpoint(states[-1], groups=()).training if states else {}
        kids = [line["kid"] for line in _metric_lines(run_dir)]
        grown = run_dir / "lineage.json"
        later_begun = any(begun[index + 1:])
        kimg_done = training.get("kimg")
        rows.append(StageStatus(
            name=stage.name, resolution=stage.header.resolution, kimg=stage.header.kimg,
            kimg_done=kimg_done, cpu_hours=training["cpu_s"] / 3600 if "cpu_s" in training else None,
            kid_latest=kids[-1] if kids else None, kid_best=min(kids) if kids else None,
            grown_from=json.loads(grown.read_text(encoding="utf-8"))[-1]["checkpoint"]
            if grown.is_file() else "",
            done=later_begun or (kimg_done is not None and kimg_done >= stage.header.kimg)))
    return rows


def run_lineage(recipe: Recipe, *, data: Path, out: Path, extra: Sequence[tuple[str, Any]] = (),
                until: str | None = None,
                train: Callable[[TrainConfig, list[str]], Path] | None = None) -> Path:
    """Train the stages still to train (:func:`plan`), each resumed, or grown from the one before;
    return the last one's run folder. ``extra``: train keys for every stage, after the recipe's;
    ``until``: stop after this stage; ``train(config, command)`` runs one stage."""
    from training.loop import distributed

    if until is not None and until not in {s.name for s in recipe.stages}:
        raise ConfigError(f"--until {until!r}: no such stage in {recipe.path}; allowed: "
                          f"{', '.join(s.name for s in recipe.stages)}")
    check_stages(recipe, extra)
    train = train or _record_and_train
    # Under torchrun the stages share one process group (training.loop.distributed).
    with distributed(stage_config(recipe, recipe.stages[0], data=data, out=out, source=None,
                                  extra=extra)):
        return _run_stages(recipe, data=data, out=out, extra=extra, until=until, train=train)


def _run_stages(recipe: Recipe, *, data: Path, out: Path, extra: Sequence[tuple[str, Any]],
                until: str | None, train: Callable[[TrainConfig, list[str]], Path]) -> Path:
    from training.preemption import Interrupted
    from training.run_state import list_states

    run_dir = out
    for index, stage in plan(recipe, out):
        source = None
        if list_states(out / stage.name):
            log.info("stage %s: resuming", stage.name)
        elif index > 0:
            source = pick_source(stage, out / recipe.stages[index - 1].name)
        elif recipe.start is not None:
            source = _source(recipe.start, "the recipe's start")
        if source is not None:
            carried = stage.header.carry_augment_p and source.augment_p is not None
            log.info("stage %s grows from %s: %s%s", stage.name, source.path, source.reason,
                     f"; ADA p {source.augment_p:.3f} carried over" if carried else "")
        config = stage_config(recipe, stage, data=data, out=out, source=source, extra=extra)
        command = command_line(recipe, stage, data=data, out=out, source=source, extra=extra)
        log.info("stage %s (%d of %d): %s", stage.name, index + 1, len(recipe.stages),
                 shlex.join(command))
        try:
            run_dir = train(config, command)
        except Interrupted as stop:  # a lineage goes on from its own command, not train's
            raise Interrupted(f"stage '{stage.name}' {stop.stopped}",
                              go_on="run this command again to go on from there") from None
        if stage.name == until:
            break
    return run_dir


def _record_and_train(config: TrainConfig, command: list[str]) -> Path:
    from training.loop import train
    from training.snapshots import record_command

    record_command(config.out, command)
    return train(config)
