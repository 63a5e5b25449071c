"""What a training snapshot writes besides the training state: the generator checkpoint (G_ema,
in our checkpoint format, what `gansmania generate` loads), a sample grid from fixed seeds; and
what a run starts from: the newest state (``--resume auto``) or a transfer checkpoint."""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from training import run_state
from training.configs import GeneratorConfig
from visualizer.core.errors import ConfigError

log = logging.getLogger(__name__)

GRID_SEEDS = 32  # fixed z seeds 0..31 of the sample grid: the same images at every snapshot
GRID_COLUMNS = 8


def latest_state(run_dir: Path) -> Path | None:
    """The newest training state in ``run_dir`` (None when there is none)."""
    states = run_state.list_states(run_dir)
    return states[-1] if states else None


def grid_latents(config: GeneratorConfig, dataset, *, device: torch.device,
                 count: int = GRID_SEEDS) -> tuple[torch.Tensor, torch.Tensor]:
    """z [count, z_dim] from seeds 0..count-1 (as `generate --seeds` would) and labels cycling
    through the dataset's classes."""
    z = np.stack([np.random.RandomState(seed).randn(config.z_dim) for seed in range(count)])
    if dataset.c_dim:
        classes = np.unique(dataset.labels, axis=0)
        c = classes[np.arange(count) % len(classes)]
    else:
        c = np.zeros((count, 0), np.float32)
    return (torch.from_numpy(z).float().to(device), torch.from_numpy(c).float().to(device))


@torch.no_grad()
def sample_grid(g_ema: nn.Module, z: torch.Tensor, c: torch.Tensor, *, batch: int = 8) -> np.ndarray:
    """G_ema's images for ``z``/``c`` with constant noise: uint8 [N, C, R, R]."""
    images = []
    for start in range(0, len(z), batch):
        img = g_ema(z[start:start + batch], c[start:start + batch], noise_mode="const")
        images.append((img * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy())
    return np.concatenate(images)


def grid_image(images: np.ndarray, *, columns: int = GRID_COLUMNS) -> Image.Image:
    """uint8 [N, C, R, R] -> one PIL image, ``columns`` wide (last row padded black)."""
    n, c, h, w = images.shape
    rows = -(-n // columns)
    canvas = np.zeros((rows * h, columns * w, c), np.uint8)
    for i, img in enumerate(images):
        r, col = divmod(i, columns)
        canvas[r * h:(r + 1) * h, col * w:(col + 1) * w] = img.transpose(1, 2, 0)
    return Image.fromarray(canvas[..., 0] if c == 1 else canvas)


def save_grid(path: Path, images: np.ndarray) -> Path:
    grid_image(images).save(path)
    return path


def save_network(path: Path, *, g_ema: nn.Module, d: nn.Module | None, summary: dict[str, Any],
                 provenance: dict[str, Any] | None = None) -> Path:
    """G_ema (and D, for later transfer learning) as a checkpoint in our format."""
    from training.checkpoint import save_generator

    return save_generator(path, g_ema, discriminator=d, training=summary, provenance=provenance)


@dataclass(frozen=True)
class Transfer:
    """A checkpoint to start training from: its generator config and weights (and D if any)."""

    path: Path
    config: GeneratorConfig
    generator_state: dict[str, torch.Tensor]
    discriminator_state: dict[str, torch.Tensor] | None
    resized: bool = False  # networks of another output size: load what both sizes have
    top_path: Path | None = None  # where the blocks a grown G lacks come from (else: fresh)
    top_state: dict[str, torch.Tensor] | None = None
    lineage: list[dict[str, Any]] = field(default_factory=list)  # see _lineage

    def apply(self, g: nn.Module, d: nn.Module) -> None:
        """Load the weights; a D of other widths than this run's is left freshly initialised."""
        if self.resized:
            self._apply_resized(g, d)
            return
        g.load_state_dict(_without_dropped_noise(self.generator_state, g, self.path))
        if self.discriminator_state is None:
            log.info("%s has no discriminator: D starts from scratch", self.path)
            return
        try:
            d.load_state_dict(self.discriminator_state)
        except RuntimeError:
            theirs = self.discriminator_state
            first = next((f"{name} {tuple(theirs[name].shape)} there, {tuple(mine.shape)} here"
                          for name, mine in d.state_dict().items()
                          if name in theirs and theirs[name].shape != mine.shape),
                         "other tensor names")
            log.warning("%s: its discriminator does not fit this run (%s); D starts from scratch",
                        self.path, first)

    def _apply_resized(self, g: nn.Module, d: nn.Module) -> None:
        # Blocks are named by their resolution and their widths depend on it alone, so a block
        # both sizes have loads as it is; the blocks above the smaller size (and D's new input
        # layer) start fresh, as a newly grown layer does in progressive growing.
        for name, module, state in (("G", g, self.generator_state), ("D", d, self.discriminator_state)):
            if state is None:
                log.info("%s has no discriminator: D starts from scratch", self.path)
                continue
            fresh = load_matching(module, state)
            if name == "G" and self.top_state is not None:
                self._load_top(module, fresh)
                continue
            if name == "G":
                _start_new_torgb_at_zero(module, fresh)
            log.info("%s from %s at %d px: %d tensors loaded, %d fresh%s", name, self.path,
                     self.config.img_resolution, len(module.state_dict()) - len(fresh), len(fresh),
                     f" ({_blocks(fresh)})" if fresh else "")

    def _load_top(self, g: nn.Module, fresh: list[str]) -> None:
        # Layer swapping (Pinkney & Adler 2020, "Resolution Dependent GAN Interpolation"): the
        # top blocks keep the weights they had above the same low blocks before those were
        # retrained, so the grown G draws at full detail from its first step.
        offered = {n: self.top_state[n] for n in fresh if n in self.top_state}
        missing = sorted(set(fresh) & set(load_matching(g, offered)))
        if missing:
            shape = tuple(g.state_dict()[missing[0]].shape)
            raise ConfigError(f"transfer_top = {self.top_path}: its generator has no {missing[0]} "
                              f"{shape}; allowed: a generator of the transferred architecture at "
                              f"{self.config.img_resolution} px")
        log.info("G from %s at %d px, its %s from %s", self.path, self.config.img_resolution,
                 _blocks(fresh), self.top_path)


NOISE_TENSORS = ("noise_const", "noise_strength")


def _without_dropped_noise(state: dict[str, torch.Tensor], g: nn.Module,
                           path: Path) -> dict[str, torch.Tensor]:
    """``state`` less its noise tensors when ``g`` was built with its noise inputs off."""
    own = g.state_dict()
    dropped = [k for k in state if k not in own and k.rsplit(".", 1)[-1] in NOISE_TENSORS]
    if dropped:
        log.info("G from %s with its noise inputs off: %d noise tensors left out", path, len(dropped))
    return {k: v for k, v in state.items() if k not in dropped}


def _start_new_torgb_at_zero(g: nn.Module, fresh: list[str]) -> None:
    """A grown block's ToRGB starts at zero, so the grown generator first draws exactly the
    smaller one's picture, upsampled (the skip architecture adds each block's ToRGB to the
    upsampled image below), and the new block fades in as it learns instead of laying random
    colours over the layout."""
    with torch.no_grad():
        for name, tensor in g.state_dict().items():
            if name in fresh and name.endswith("torgb.weight"):
                tensor.zero_()


def load_matching(module: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    """Copy the tensors of ``state`` whose name and shape ``module`` has; the names left as they were."""
    own = module.state_dict()
    matching = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    module.load_state_dict(matching, strict=False)
    return sorted(set(own) - set(matching))


def _blocks(names: list[str]) -> str:
    """'synthesis.b256.conv0.weight', ... -> 'synthesis.b256, ...' (first two dotted parts)."""
    return ", ".join(dict.fromkeys(".".join(n.split(".")[:2]) for n in names))


def _trained_generator(checkpoint) -> str:
    """A training state's G (what was being trained), else G_ema."""
    groups = checkpoint.groups
    return "G" if "G" in groups and groups["G"].kind == "generator" else "G_ema"


def load_transfer(path: Path, *, resolution: int | None = None, top: Path | None = None) -> Transfer:
    """G and D of ``path`` (G as :func:`_trained_generator` picks it); ``resolution``: the
    networks grown (or shrunk) to that output size; ``top``: when growing, a checkpoint at that
    size whose generator gives the blocks ``path`` lacks."""
    from training.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(path)
    group = _trained_generator(checkpoint)
    config = source = checkpoint.generator_config(group)
    resized = resolution is not None and resolution != source.img_resolution
    if resized:
        if not isinstance(config, GeneratorConfig):
            raise ConfigError(f"transfer_resolution = {resolution}: {path} is "
                              f"{config.architecture}; allowed: StyleGAN2 checkpoints (an "
                              "alias-free model's filters are designed for its own size)")
        config = config.replace(img_resolution=resolution)
    top_state = None
    if top is not None:
        if not resized or resolution < source.img_resolution:
            raise ConfigError(f"transfer_top = {top}: {path} is {source.img_resolution} px already; "
                              "allowed: --transfer-resolution above the transfer's own size")
        top_checkpoint = load_checkpoint(top)
        top_state = dict(top_checkpoint.group(_trained_generator(top_checkpoint)).tensors)
    d = checkpoint.groups.get("D")
    return Transfer(path=Path(path), config=config,
                    generator_state=dict(checkpoint.group(group).tensors),
                    discriminator_state=dict(d.tensors) if d is not None else None,
                    resized=resized, top_path=Path(top) if top is not None else None,
                    top_state=top_state,
                    lineage=_lineage(Path(path), checkpoint, resolution=source.img_resolution))


def _lineage(path: Path, checkpoint, *, resolution: int) -> list[dict[str, Any]]:
    """The stages a run transferred from ``path`` grows from: the source's own lineage, then the
    source (its size, kimg, CPU time and commands), so a model card can tell the whole story."""
    training, provenance = checkpoint.training, checkpoint.provenance
    return [*provenance.get("lineage", []), {
        "checkpoint": path.name, "run_dir": str(path.parent.resolve()), "resolution": resolution,
        "kimg": training.get("kimg"), "cpu_s": training.get("cpu_s"), "wall_s": training.get("wall_s"),
        "commands": read_commands(path.parent) or list(provenance.get("commands", []))}]


def record_command(run_dir: Path, command: Sequence[str]) -> None:
    """Append a session's `gansmania train` command line to RUN/commands.txt (the model card
    quotes every session's command); under torchrun only the first process writes it."""
    if os.environ.get("RANK", "0") != "0":
        return
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    with (Path(run_dir) / "commands.txt").open("a", encoding="utf-8") as log_file:
        log_file.write(shlex.join(command) + "\n")


def read_commands(run_dir: Path) -> list[str]:
    """The `gansmania train` command lines a run folder's sessions were started with."""
    path = Path(run_dir) / "commands.txt"
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] \
        if path.is_file() else []


def sample_seeds(generator: torch.nn.Module, seeds, *, batch: int = 8) -> np.ndarray:
    """uint8 [N, C, R, R] images of ``seeds`` (z as `gansmania generate --seeds` makes them;
    constant noise, no truncation)."""
    from training.latents import z_from_seeds

    z = z_from_seeds(seeds, generator.z_dim)
    return sample_grid(generator, z, torch.zeros([len(z), generator.c_dim]), batch=batch)
