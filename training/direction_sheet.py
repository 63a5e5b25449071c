"""The contact sheet of a model's directions: one row per direction, each seed's image pushed
from -3 to +3 scales along it, labelled, so a person can see what each does and name it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import nn

from training.directions import Direction
from training.generate import to_uint8
from training.latents import layer_group, z_from_seeds

SHEET_SEEDS = (0, 1, 2)
STEPS = (-3, -2, -1, 0, 1, 2, 3)  # offsets in scales (std of w along the direction)
THUMB_PX = 96
LABEL_PX = 160  # the name column
HEADER_PX = 16  # the row of step labels
GAP_PX = 8  # between seeds


def contact_sheet(generator: nn.Module, directions: Sequence[Direction], *,
                  seeds: Sequence[int] = SHEET_SEEDS, thumb_px: int = THUMB_PX) -> Image.Image:
    """RGB image LABEL_PX + len(seeds) * (len(STEPS) * thumb_px + GAP_PX) - GAP_PX wide and
    HEADER_PX + len(directions) * thumb_px high; images with constant noise, untruncated w."""
    group_px = len(STEPS) * thumb_px + GAP_PX
    sheet = Image.new("RGB", (LABEL_PX + len(seeds) * group_px - GAP_PX,
                              HEADER_PX + len(directions) * thumb_px), "black")
    draw = ImageDraw.Draw(sheet)
    font = _font()
    for s in range(len(seeds)):
        for j, step in enumerate(STEPS):
            x = LABEL_PX + s * group_px + j * thumb_px
            draw.text((x + 2, 2), f"{step:+d}" if step else f"seed {seeds[s]}", fill="white",
                      font=font)
    with torch.no_grad():
        bases = generator.mapping(z_from_seeds(seeds, generator.z_dim), None,
                                  skip_w_avg_update=True).cpu()
        steps = torch.tensor(STEPS, dtype=torch.float32).reshape(-1, 1, 1)
        for row, d in enumerate(directions):
            y = HEADER_PX + row * thumb_px
            draw.multiline_text((4, y + 4), f"{d.name}\n{d.method} {d.index}, {d.layers}\n"
                                f"{d.share:.1%} of w variance", fill="white", font=font)
            mask = torch.from_numpy(layer_group(d.layers, generator.num_ws).astype(np.float32))
            offset = d.scale * torch.from_numpy(d.vector)[None, :] * mask[:, None]
            ws = (bases[:, None] + steps * offset).flatten(0, 1)  # [seeds * steps, num_ws, w_dim]
            # One batch per row, in the non-fused form: the same images, faster in a batch.
            images = to_uint8(generator.synthesis(ws, noise_mode="const", fused_modconv=False))
            for i, image in enumerate(images):
                s, j = divmod(i, len(STEPS))
                thumb = Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image)
                sheet.paste(thumb.resize((thumb_px, thumb_px), Image.Resampling.BILINEAR),
                            (LABEL_PX + s * group_px + j * thumb_px, y))
    return sheet


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=11)  # scalable when Pillow has FreeType
    except ImportError:
        return ImageFont.load_default()
