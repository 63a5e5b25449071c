"""A keyframe on disk: NAME.w.safetensors holds one w (or w+) of one model, found by
`gansmania project`; a preset lists it among the walk's seeds
(``seeds = [7, 77, "venue-logo.w.safetensors"]``).

Tensor ``w``: float32 [w_dim] (the same w on every layer) or [num_ws, w_dim] (w+: one per
layer). Metadata (safetensors key ``gansmania-keyframe``, JSON): format, version, space
("w" or "w+"), model (its file name, for people), model_sha256 (training.checkpoint
.module_digest of the generator, which is its checkpoint header's sha256: a keyframe of
another model is refused), image, steps, loss.

Every failure to read is a one-line GansmaniaError naming the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from visualizer.core.atomic import replaced_atomically
from visualizer.core.errors import GansmaniaError

FORMAT = "gansmania-keyframe"
VERSION = 1
SUFFIX = ".w.safetensors"
SPACES = ("w", "w+")


@dataclass(frozen=True)
class Keyframe:
    """One stored keyframe."""

    path: Path
    w: np.ndarray  # float32 [w_dim] (space "w") or [num_ws, w_dim] (space "w+")
    space: str  # "w" or "w+"
    model: str  # file name of the model it belongs to
    model_sha256: str  # that model's identity (training.checkpoint.module_digest)
    image: str  # file name of the projected image
    steps: int  # optimisation steps taken
    loss: float  # the projection loss at the end

    def ws(self, num_ws: int) -> np.ndarray:
        """float32 [num_ws, w_dim]: the w on every layer (space "w") or the stored w+."""
        if self.space == "w":
            return np.repeat(self.w[None], num_ws, axis=0)
        return self.w


def keyframe_path(out: Path | str) -> Path:
    """``out`` with the keyframe suffix: logo -> logo.w.safetensors (kept when it has it)."""
    out = Path(out)
    return out if out.name.endswith(SUFFIX) else out.with_name(out.name + SUFFIX)


def save_keyframe(path: Path | str, w: np.ndarray, *, model: str, model_sha256: str,
                  image: str, steps: int, loss: float) -> Keyframe:
    """Write ``w`` ([w_dim]: space w; [num_ws, w_dim]: space w+) to ``path`` atomically."""
    path = Path(path)
    w = np.ascontiguousarray(w, dtype=np.float32)
    if w.ndim not in (1, 2):
        raise ValueError(f"w must be [w_dim] or [num_ws, w_dim], got shape {w.shape}")
    keyframe = Keyframe(path=path, w=w, space=SPACES[w.ndim - 1], model=model,
                        model_sha256=model_sha256, image=image, steps=int(steps), loss=float(loss))
    header = {"format": FORMAT, "version": VERSION, "space": keyframe.space, "model": model,
              "model_sha256": model_sha256, "image": image, "steps": keyframe.steps,
              "loss": keyframe.loss}
    with replaced_atomically(path) as temporary:
        save_file({"w": w}, str(temporary), metadata={FORMAT: json.dumps(header)})
        os.chmod(temporary, 0o644)  # safetensors writes owner-only files; keyframes are shared
    return keyframe


def read_keyframe(path: Path | str) -> Keyframe:
    """The keyframe at ``path`` (any model's)."""
    path = Path(path)
    if not path.is_file():
        raise GansmaniaError(f"{path}: keyframe file not found")
    try:
        with safe_open(str(path), framework="np") as f:
            header = json.loads((f.metadata() or {})[FORMAT])
            w = f.get_tensor("w")
    except (SafetensorError, OSError, ValueError, KeyError) as exc:
        raise GansmaniaError(f"{path}: not a keyframe file ({' '.join(str(exc).split())}); "
                             "make one with `gansmania project IMAGE`") from None
    keys = {"space", "model", "model_sha256", "image", "steps", "loss"}
    if not (isinstance(header, dict) and header.get("format") == FORMAT
            and header.get("version") == VERSION and keys <= set(header)
            and header["space"] in SPACES and w.ndim == SPACES.index(header["space"]) + 1):
        raise GansmaniaError(f"{path}: not a version-{VERSION} keyframe file; make it again "
                             "with `gansmania project IMAGE`")
    if not np.isfinite(w).all():
        raise GansmaniaError(f"{path}: the keyframe's w holds NaN or infinity")
    return Keyframe(path=path, w=w.astype(np.float32), space=header["space"],
                    model=str(header["model"]), model_sha256=str(header["model_sha256"]),
                    image=str(header["image"]), steps=int(header["steps"]),
                    loss=float(header["loss"]))


def load_keyframe_ws(path: Path | str, *, model_sha256: str | None, num_ws: int,
                     w_dim: int) -> np.ndarray:
    """float32 [num_ws, w_dim] of the keyframe at ``path`` for the model whose identity is
    ``model_sha256`` (None: not checked) and sizes; a keyframe of another model is refused."""
    keyframe = read_keyframe(path)
    if model_sha256 is not None:
        check_model(keyframe, model_sha256, model="the model in use")
    ws = keyframe.ws(num_ws)
    if ws.shape != (num_ws, w_dim):
        raise GansmaniaError(f"{keyframe.path}: w of shape {list(keyframe.w.shape)}, but the "
                             f"model needs [{w_dim}] or [{num_ws}, {w_dim}]")
    return ws


def check_model(keyframe: Keyframe, model_sha256: str, *, model: str) -> None:
    """GansmaniaError unless ``keyframe`` was made with the model whose identity is
    ``model_sha256`` (``model``: how the message names that model)."""
    if keyframe.model_sha256 != model_sha256:
        raise GansmaniaError(
            f"{keyframe.path}: a keyframe of model {keyframe.model} "
            f"(sha256 {keyframe.model_sha256[:12]}), not of {model} "
            f"(sha256 {model_sha256[:12]}); project the image again with "
            f"`gansmania project {keyframe.image} --model MODEL`")
