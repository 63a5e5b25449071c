"""The contact sheet: a labelled row per direction, -3..+3 scales for each seed."""

from __future__ import annotations

import numpy as np

from tests.training.generators import TINY, randomised
from training.direction_sheet import GAP_PX, HEADER_PX, LABEL_PX, STEPS, contact_sheet
from training.directions import find_directions


def test_the_sheet_has_a_cell_per_direction_seed_and_step():
    generator = randomised(TINY)
    found = find_directions(generator, methods=("pca",), count=3, samples=300)
    sheet = contact_sheet(generator, found, seeds=(0, 5), thumb_px=20)
    assert LABEL_PX == 160 and HEADER_PX == 16 and GAP_PX == 8 and len(STEPS) == 7
    assert sheet.size == (160 + 2 * 7 * 20 + 8, 16 + 3 * 20) and sheet.mode == "RGB"
    pixels = np.asarray(sheet).astype(int)
    row = pixels[16:36, 160:160 + 7 * 20]  # the first direction, seed 0
    cells = [row[:, j * 20:(j + 1) * 20] for j in range(7)]
    assert all(not np.array_equal(a, b) for a, b in zip(cells, cells[1:]))  # each step moves
    assert pixels[16:, :4].max() == 0 and pixels[16:, 4:160].max() > 0  # labelled, left column
