"""Latent-space utilities shared by `gansmania generate` and the visualizer.

- seeds -> z exactly as NVlabs does (``np.random.RandomState(seed).randn``), so seed 42 is the
  same image here, in NVlabs' generate.py and on every machine;
- interpolation: ``lerp``, ``slerp`` (for Gaussian z), Catmull-Rom paths through w keyframes;
- ``truncate`` and ``style_mix`` on w [.., num_ws, w_dim]; the named layer groups;
- ``WCache``: the mapped w of each seed, computed once.

Functions take numpy arrays or torch tensors and return the same kind.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np
import torch

from training.configs import LAYER_GROUPS
from visualizer.core.errors import GansmaniaError

Array = TypeVar("Array", np.ndarray, torch.Tensor)

MAX_SEED = 2 ** 32 - 1  # RandomState accepts 0 .. 2**32 - 1


# ---------------------------------------------------------------------------------- seeds

def parse_seeds(text: str) -> list[int]:
    """'0-15' / '1,5,9' / '0-3,10' -> seeds in the given order (ranges inclusive)."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not match:
            raise GansmaniaError(f"--seeds {text!r}: '{part}' is not a seed or a range; "
                                 "allowed e.g. 0-15 or 1,5,9")
        lo = int(match.group(1))
        hi = int(match.group(2)) if match.group(2) is not None else lo
        if hi < lo or hi > MAX_SEED:
            raise GansmaniaError(f"--seeds {text!r}: range '{part}' must go up, "
                                 f"within 0..{MAX_SEED}")
        seeds.extend(range(lo, hi + 1))
    return seeds


def z_from_seed(seed: int, z_dim: int) -> np.ndarray:
    """The NVlabs z of ``seed``: float64 [z_dim] from ``np.random.RandomState(seed).randn``."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be in 0..{MAX_SEED}, got {seed}")
    return np.random.RandomState(seed).randn(z_dim)


def z_from_seeds(seeds: Iterable[int], z_dim: int, *,
                 device: str | torch.device = "cpu") -> torch.Tensor:
    """float32 [N, z_dim] tensor of the seeds' z (one row per seed)."""
    rows = [z_from_seed(int(s), z_dim) for s in seeds]
    return torch.from_numpy(np.stack(rows)).to(device=device, dtype=torch.float32)


# ---------------------------------------------------------------------------- interpolation

def lerp(a: Array, b: Array, t: float | Array) -> Array:
    """a + t (b - a); t may broadcast."""
    return a + (b - a) * t


def slerp(a: Array, b: Array, t: float) -> Array:
    """Spherical interpolation along the last axis (keeps Gaussian z at a typical norm).

    The angle comes from the normalised vectors and the weights apply to the original ones, as
    in the GAN literature; nearly parallel vectors fall back to ``lerp``.
    """
    lib = torch if isinstance(a, torch.Tensor) else np
    dot = (a * b).sum(-1, keepdims=True) if lib is np else (a * b).sum(-1, keepdim=True)
    norms = _norm(a) * _norm(b)
    cos = dot / (norms + 1e-12)
    cos = cos.clip(-1.0, 1.0) if lib is np else cos.clamp(-1.0, 1.0)
    omega = lib.arccos(cos)
    sin = lib.sin(omega)
    small = sin.abs() < 1e-6 if lib is torch else np.abs(sin) < 1e-6
    safe = lib.where(small, lib.ones_like(sin), sin)
    wa = lib.where(small, 1.0 - t + lib.zeros_like(sin), lib.sin((1.0 - t) * omega) / safe)
    wb = lib.where(small, t + lib.zeros_like(sin), lib.sin(t * omega) / safe)
    return wa * a + wb * b


def _norm(x: Array) -> Array:
    if isinstance(x, torch.Tensor):
        return x.norm(dim=-1, keepdim=True)
    return np.linalg.norm(x, axis=-1, keepdims=True)


def catmull_rom(p0: Array, p1: Array, p2: Array, p3: Array, t: float) -> Array:
    """The Catmull-Rom spline between p1 (t=0) and p2 (t=1); smooth through keyframes."""
    t2, t3 = t * t, t * t * t
    return 0.5 * ((2 * p1) + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                  + (3 * p1 - p0 - 3 * p2 + p3) * t3)


def w_path(keyframes: Array, position: float, *, loop: bool = True, smooth: bool = True) -> Array:
    """w at ``position`` (in keyframe units: 0 = first, 1 = second ...) along ``keyframes``
    [K, ...]: Catmull-Rom when ``smooth`` else piecewise linear; wraps around when ``loop``."""
    count = keyframes.shape[0]
    if count == 1:
        return keyframes[0]
    if loop:
        position = position % count
    else:
        position = min(max(position, 0.0), count - 1.0)
    i = min(int(math.floor(position)), count - 1 if loop else count - 2)
    t = position - i

    def key(j: int) -> Array:
        return keyframes[j % count] if loop else keyframes[min(max(j, 0), count - 1)]

    if not smooth:
        return lerp(key(i), key(i + 1), t)
    return catmull_rom(key(i - 1), key(i), key(i + 1), key(i + 2), t)


# ------------------------------------------------------------------------------ w editing

def truncate(ws: Array, w_avg: Array, *, psi: float, cutoff: int | None = None) -> Array:
    """Pull ws [..., num_ws, w_dim] towards w_avg [w_dim]: w_avg + psi (w - w_avg), on the first
    ``cutoff`` layers only when given (1 = unchanged, 0 = the average image)."""
    pulled = lerp(w_avg, ws, psi)
    if cutoff is None:
        return pulled
    return _where_layers_below(cutoff, pulled, ws)


def style_mix(ws_a: Array, ws_b: Array, *, cutoff: int) -> Array:
    """Layers [0, cutoff) from ``ws_a`` (coarse: layout, shapes), the rest from ``ws_b``
    (fine: colour, texture). Both [..., num_ws, w_dim]."""
    return _where_layers_below(cutoff, ws_a, ws_b)


def layer_group(group: str, num_ws: int) -> np.ndarray:
    """bool [num_ws]: the w layers of ``group`` (one of LAYER_GROUPS).

    Layer i feeds the block at 4 * 2**(i // 2) px: coarse <= 8 px (layout), middle 16-32 px
    (shapes), fine >= 64 px (colour, texture).
    """
    resolution = 4 * 2 ** (np.arange(num_ws) // 2)
    coarse, fine = resolution <= 8, resolution >= 64
    middle = ~coarse & ~fine
    masks = {"all": np.ones(num_ws, bool), "coarse": coarse, "middle": middle, "fine": fine,
             "coarse_middle": coarse | middle, "middle_fine": middle | fine}
    if group not in masks:
        raise ValueError(f"layer group {group!r}; allowed: {', '.join(LAYER_GROUPS)}")
    return masks[group]


def _where_layers_below(cutoff: int, below: Array, rest: Array) -> Array:
    """Layer-wise choice on axis -2: ``below`` for layers < cutoff, else ``rest``."""
    if isinstance(below, torch.Tensor):
        mask = torch.arange(below.shape[-2], device=below.device) < cutoff
        return torch.where(mask.reshape(-1, 1), below, rest)
    mask = np.arange(below.shape[-2]) < cutoff
    return np.where(mask.reshape(-1, 1), below, rest)


# ---------------------------------------------------------------------------------- cache

class WCache:
    """w of each seed (and label) for one generator, mapped once and kept (LRU, ``capacity``).

    ``get(seed)`` returns float32 numpy [num_ws, w_dim] *untruncated*: truncation changes live,
    apply it with :func:`truncate` and ``w_avg``. Safe to share between threads.
    """

    def __init__(self, generator: torch.nn.Module, *, capacity: int = 4096):
        self._generator = generator
        self._capacity = capacity
        self._entries: OrderedDict[tuple[int, int | None], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.w_avg = generator.mapping.w_avg.detach().cpu().numpy().astype(np.float32)

    def get(self, seed: int, *, label: int | None = None) -> np.ndarray:
        return self.get_many([seed], label=label)[0]

    def get_many(self, seeds: Sequence[int], *, label: int | None = None) -> np.ndarray:
        """[len(seeds), num_ws, w_dim]; missing seeds are mapped in one batch."""
        with self._lock:
            missing = [s for s in dict.fromkeys(seeds) if (s, label) not in self._entries]
            if missing:
                for seed, w in zip(missing, self._map(missing, label)):
                    self._entries[(seed, label)] = w
            out = []
            for seed in seeds:
                self._entries.move_to_end((seed, label))
                out.append(self._entries[(seed, label)])
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
            return np.stack(out)

    def __len__(self) -> int:
        return len(self._entries)

    def _map(self, seeds: list[int], label: int | None) -> np.ndarray:
        g = self._generator
        device = g.mapping.w_avg.device
        z = z_from_seeds(seeds, g.z_dim, device=device)
        c = None
        if g.c_dim:
            if label is None or not 0 <= label < g.c_dim:
                raise GansmaniaError(f"this generator is conditional: pass a class label in "
                                     f"0..{g.c_dim - 1}")
            c = torch.zeros(len(seeds), g.c_dim, device=device)
            c[:, label] = 1
        with torch.no_grad():
            ws = g.mapping(z, c, skip_w_avg_update=True)
        return ws.cpu().numpy().astype(np.float32)
