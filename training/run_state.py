"""The resumable state of a training run: G, D, G_ema, optimiser moments, augment p, the path-length
mean and the RNG states, as one checkpoint in our format (training.checkpoint groups ``G``,
``G_ema``, ``D``, ``opt_G``, ``opt_D``, ``state``); the counters live in the ``state`` group's
config. Loading it and training on gives bit-identical weights to never having stopped, and
`gansmania generate --model` can read its ``G_ema`` like any checkpoint.

Files are ``training-state-KKKKKK-TTTTTT.safetensors`` (K = thousand images shown, T = tick),
written atomically, so an interrupted write never leaves a half file for ``--resume auto``. A run
stopped by SIGTERM in the middle of a tick writes ``training-state-KKKKKK-TTTTTT-interrupted``
(T = ticks completed), which sorts after tick T's own state and before tick T+1's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from training.checkpoint import Group, load_checkpoint, module_group, save_checkpoint
from visualizer.core.errors import GansmaniaError

STATE_PATTERN = re.compile(r"^training-state-(\d{6})-(\d{6})(-interrupted)?\.safetensors$")
STATE_KIND = "training-state"


@dataclass(frozen=True)
class Counters:
    """Where the run stands; all in images or steps, so resume restarts exactly there."""

    cur_nimg: int = 0  # real images shown to D so far (all processes together)
    cur_tick: int = 0  # ticks completed
    batch_idx: int = 0  # iterations done (drives the lazy-regularisation and ADA intervals)
    ada_sign_sum: float = 0.0  # sum of sign(D(real)) since the last ADA adjustment
    ada_sign_count: int = 0
    wall_s: float = 0.0  # training time so far, over all sessions (s)
    cpu_s: float = 0.0  # CPU time of the main process so far (all its threads), over all sessions (s)
    tick_nimg: int = 0  # images of the unfinished tick (only a state written on SIGTERM has any)


def state_name(counters: Counters) -> str:
    suffix = "-interrupted" if counters.tick_nimg else ""
    return (f"training-state-{counters.cur_nimg // 1000:06d}-{counters.cur_tick:06d}{suffix}"
            ".safetensors")


def list_states(run_dir: Path) -> list[Path]:
    """The run's state files, oldest first (by tick; a mid-tick one after its tick's state)."""
    found = [((int(m.group(2)), bool(m.group(3))), p)
             for p in Path(run_dir).glob("training-state-*.safetensors")
             if (m := STATE_PATTERN.match(p.name))]
    return [p for _, p in sorted(found)]


def save_state(path: Path, *, modules: dict[str, torch.nn.Module],
               optimizers: dict[str, torch.optim.Optimizer], extra: dict[str, torch.Tensor],
               counters: Counters, meta: dict[str, Any], training: dict[str, Any] | None = None,
               provenance: dict[str, Any] | None = None) -> Path:
    """Write the modules (generators by their config), optimiser moments and ``extra`` tensors."""
    groups: dict[str, Group] = {}
    for name, module in modules.items():
        config = getattr(module, "config", None)
        if hasattr(config, "to_dict"):  # a Generator: G_ema must stay loadable by `generate`
            groups[name] = module_group(module, kind="generator", config=config.to_dict())
        else:
            groups[name] = module_group(module, kind="discriminator")
    for name, optimizer in optimizers.items():
        groups[f"opt_{name}"] = Group(kind="optimizer", config={"type": type(optimizer).__name__},
                                      tensors=_flatten_optimizer(optimizer))
    groups["state"] = Group(kind=STATE_KIND, config={"counters": counters.__dict__, "meta": meta},
                            tensors=dict(extra))
    return save_checkpoint(path, groups, training=training, provenance=provenance)


def _flatten_optimizer(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    tensors = {}
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            tensors[f"{index}.{key}"] = torch.as_tensor(value)
    return tensors


def _restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    state_dict = optimizer.state_dict()
    restored: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        restored.setdefault(int(index), {})[key] = value
    state_dict["state"] = restored
    optimizer.load_state_dict(state_dict)


@dataclass(frozen=True)
class LoadedState:
    path: Path
    groups: dict[str, Group]
    counters: Counters
    meta: dict[str, Any]

    def restore(self, *, modules: dict[str, torch.nn.Module],
                optimizers: dict[str, torch.optim.Optimizer]) -> None:
        for name, module in modules.items():
            try:
                module.load_state_dict(dict(self.groups[name].tensors))
            except RuntimeError as exc:
                raise GansmaniaError(f"{self.path}: '{name}' does not fit this run's network "
                                     f"({str(exc).splitlines()[0]})") from None
        for name, optimizer in optimizers.items():
            _restore_optimizer(optimizer, dict(self.groups[f"opt_{name}"].tensors))

    def extra(self, name: str) -> torch.Tensor | None:
        return self.groups["state"].tensors.get(name)


def load_state(path: Path) -> LoadedState:
    """Read a state file; a wrong or damaged file is a one-line GansmaniaError."""
    checkpoint = load_checkpoint(path)
    state = checkpoint.groups.get("state")
    if state is None or state.kind != STATE_KIND:
        raise GansmaniaError(f"{path}: not a training state (no 'state' group); give a "
                             "training-state-*.safetensors file of a gansmania run")
    return LoadedState(path=Path(path), groups=dict(checkpoint.groups),
                       counters=Counters(**state.config["counters"]), meta=dict(state.config["meta"]))
