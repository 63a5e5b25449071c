"""Images from seeds: the logic behind `gansmania generate`.

A seed's image is reproducible across runs and machines: z comes from NVlabs' seeded numpy
generator, 'const' noise is stored in the model, and 'random' noise is drawn from a torch
generator seeded with the image's seed.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from training.latents import z_from_seeds
from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

SETTINGS_FILE = "generate.json"


@dataclass(frozen=True)
class GenerateSettings:
    model: str  # resolved checkpoint (.safetensors) or NVlabs pickle (.pkl) path
    seeds: tuple[int, ...]
    truncation_psi: float = 1.0  # 1 = none; 0.5-0.8 trades variety for typical images
    truncation_cutoff: int | None = None  # truncate only the first N w layers; None = all
    noise_mode: str = "const"  # 'const' (stored noise), 'random' (seeded per image), 'none'
    class_idx: int | None = None  # label for conditional models
    fused_modconv: bool = True  # grouped-conv modulation (False: the ONNX/TensorRT form)
    device: str = "cpu"
    grid: bool = False  # also write grid.png of all seeds


def load_model(path: Path | str, *, device: str | torch.device = "cpu"):
    """A generator from our checkpoint (.safetensors) or an NVlabs pickle (.pkl, imported in
    memory with the restricted unpickler)."""
    path = Path(path)
    if path.suffix == ".pkl":
        from training.nvlabs_import import generator_from_pickle

        generator, _ = generator_from_pickle(path)
        return generator.to(device)
    from training.checkpoint import load_generator

    return load_generator(path, device=device)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] in about [-1, 1] -> uint8 [N, H, W, C], NVlabs' mapping (x * 127.5 + 128)."""
    return (images.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()


def render_seeds(generator: torch.nn.Module, seeds: Sequence[int], *, truncation_psi: float = 1.0,
                 truncation_cutoff: int | None = None, noise_mode: str = "const",
                 class_idx: int | None = None,
                 fused_modconv: bool = True) -> Iterator[tuple[int, np.ndarray]]:
    """(seed, uint8 [H, W, C]) for each seed, one image at a time (the result of a seed does
    not depend on which other seeds are rendered with it)."""
    device = next(generator.parameters()).device
    c = None
    if generator.c_dim:
        if class_idx is None or not 0 <= class_idx < generator.c_dim:
            raise GansmaniaError(f"the model is conditional: pass --class in "
                                 f"0..{generator.c_dim - 1}")
        c = torch.zeros(1, generator.c_dim, device=device)
        c[0, class_idx] = 1
    elif class_idx is not None:
        log.warning("--class ignored: the model is not conditional")
    for seed in seeds:
        z = z_from_seeds([seed], generator.z_dim, device=device)
        cuda = [device] if device.type == "cuda" else []
        with torch.no_grad(), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)  # only 'random' noise draws from it
            img = generator(z, c, truncation_psi=truncation_psi,
                            truncation_cutoff=truncation_cutoff, noise_mode=noise_mode,
                            fused_modconv=fused_modconv)
        yield seed, to_uint8(img)[0]


def image_grid(images: Sequence[np.ndarray], *, columns: int | None = None) -> np.ndarray:
    """Tile equal-sized [H, W, C] images row by row (about square when ``columns`` is None)."""
    count = len(images)
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    h, w, c = images[0].shape
    grid = np.zeros((rows * h, columns * w, c), dtype=images[0].dtype)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = image
    return grid


def save_png(image: np.ndarray, path: Path) -> None:
    """uint8 [H, W, C] with C = 1, 3 or 4 as PNG."""
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)


def generate(settings: GenerateSettings, out_dir: Path | str) -> list[Path]:
    """Write seedNNNN.png per seed (and grid.png), plus generate.json with the settings used."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    generator = load_model(settings.model, device=settings.device)
    written, images = [], []
    for seed, image in render_seeds(generator, settings.seeds,
                                    truncation_psi=settings.truncation_psi,
                                    truncation_cutoff=settings.truncation_cutoff,
                                    noise_mode=settings.noise_mode, class_idx=settings.class_idx,
                                    fused_modconv=settings.fused_modconv):
        path = out_dir / f"seed{seed:04d}.png"
        save_png(image, path)
        written.append(path)
        if settings.grid:
            images.append(image)
        log.debug("wrote %s", path)
    if settings.grid and images:
        path = out_dir / "grid.png"
        save_png(image_grid(images), path)
        written.append(path)
    resolved = {**asdict(settings), "seeds": list(settings.seeds),
                "model_config": generator.config.to_dict(), "torch": torch.__version__}
    (out_dir / SETTINGS_FILE).write_text(json.dumps(resolved, indent=2) + "\n", encoding="utf-8")
    return written
