"""Our checkpoint format: safetensors weights + a JSON header. Loading never executes code.

One file holds one or more *groups* of tensors under name prefixes (``G_ema.``, ``G.``, ``D.``,
``opt_G.`` ...). The header (safetensors metadata key ``gansmania``) says, per group, what kind
of thing it is, the config to rebuild it and a SHA-256 of its tensors; plus a training summary
and provenance (source, licence, parent). A run may keep ``G_ema`` for the show in one file and
``G``/``D``/optimiser state in a sibling file: both are written by :func:`save_checkpoint`.

Every failure to read is a one-line :class:`GansmaniaError` naming the file and what is wrong.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from visualizer.core.config import to_dict
from visualizer.core.atomic import replaced_atomically
from visualizer.core.errors import GansmaniaError

FORMAT = "gansmania-checkpoint"
VERSION = 1
HEADER_KEY = "gansmania"
GENERATOR_KIND = "generator"
DEFAULT_GROUP = "G_ema"  # the generator a show uses: the EMA of the trained weights, as NVlabs


@dataclass(frozen=True)
class Group:
    """Tensors stored under one prefix, with what they are and how to rebuild their owner."""

    kind: str  # "generator", "discriminator", "optimizer" ... (free text; load_generator reads
    #            "generator")
    config: Mapping[str, Any]  # JSON-ready config that rebuilds the module
    tensors: Mapping[str, torch.Tensor]  # names without the group prefix


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    groups: Mapping[str, Group]
    training: Mapping[str, Any] = field(default_factory=dict)  # summary: kimg, steps, metrics ...
    provenance: Mapping[str, Any] = field(default_factory=dict)  # source, licence, parent, created

    def generator_config(self, group: str = DEFAULT_GROUP):
        """The config of generator ``group``: a :class:`GeneratorConfig` (StyleGAN2) or a
        :class:`StyleGAN3Config`, by its stored architecture (validated; errors name the file)."""
        from training.configs import generator_config_from_dict

        stored = self.group(group)
        if stored.kind != GENERATOR_KIND:
            raise GansmaniaError(f"{self.path}: '{group}' is a {stored.kind}, not a generator")
        return generator_config_from_dict(stored.config, origin=f"{self.path} [{group} config]")

    def group(self, name: str) -> Group:
        """Group ``name``; a missing one is a one-line error listing what the file has."""
        try:
            return self.groups[name]
        except KeyError:
            raise GansmaniaError(f"{self.path}: no '{name}' group loaded from this checkpoint "
                                 f"(loaded: {', '.join(self.groups) or 'nothing'})") from None


def module_group(module: torch.nn.Module, *, kind: str,
                 config: Mapping[str, Any] | None = None) -> Group:
    """A :class:`Group` with ``module``'s state_dict (parameters and persistent buffers).

    ``config`` defaults to the module's ``config`` dataclass (plus its img_resolution,
    img_channels and c_dim when it has them), which is what rebuilds it.
    """
    if config is None:
        config = _module_config(module)
    return Group(kind=kind, config=dict(config), tensors=dict(module.state_dict()))


def _module_config(module: torch.nn.Module) -> dict[str, Any]:
    own = getattr(module, "config", None)
    config = to_dict(own) if dataclasses.is_dataclass(own) else {}
    for name in ("img_resolution", "img_channels", "c_dim"):
        if name not in config and isinstance(getattr(module, name, None), int):
            config[name] = getattr(module, name)
    return config


# -------------------------------------------------------------------------------- writing

def save_checkpoint(path: Path | str, groups: Mapping[str, Group], *,
                    training: Mapping[str, Any] | None = None,
                    provenance: Mapping[str, Any] | None = None) -> Path:
    """Write ``groups`` to ``path`` (atomically: a crash leaves the old file or none).

    Tensors are stored as ``{group}.{name}`` exactly as given (dtype and bits kept).
    ``training`` and ``provenance`` must be JSON-serialisable.
    """
    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    header_groups = {}
    for prefix, group in groups.items():
        if not prefix or "." in prefix:
            raise ValueError(f"group name {prefix!r} must be non-empty without dots")
        stored = {name: _storable(t) for name, t in group.tensors.items()}
        header_groups[prefix] = {"kind": group.kind, "config": dict(group.config),
                                 "tensors": len(stored), "sha256": _digest(stored)}
        tensors.update({f"{prefix}.{name}": t for name, t in stored.items()})
    provenance = dict(provenance or {})
    provenance.setdefault("created", datetime.datetime.now(datetime.UTC)
                          .isoformat(timespec="seconds"))
    header = {"format": FORMAT, "version": VERSION, "groups": header_groups,
              "training": dict(training or {}), "provenance": provenance}
    text = json.dumps(header, sort_keys=True, allow_nan=False)
    with replaced_atomically(path) as temporary:
        save_file(tensors, str(temporary), metadata={HEADER_KEY: text})
        os.chmod(temporary, 0o644)  # safetensors creates files owner-only; models are shared
    return path


def _storable(tensor: torch.Tensor) -> torch.Tensor:
    # safetensors needs contiguous CPU tensors that share no memory with each other.
    return tensor.detach().to("cpu").contiguous().clone()


def _digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes, in name order: catches any flipped bit."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name]
        h.update(f"{name}|{t.dtype}|{list(t.shape)}|".encode())
        if t.numel():
            h.update(t.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def module_digest(module: torch.nn.Module) -> str:
    """The SHA-256 :func:`save_checkpoint` records for ``module``'s state_dict: the identity of a
    network (a generator loaded from a checkpoint digests to its header's ``sha256``)."""
    return _digest({name: _storable(t) for name, t in module.state_dict().items()})


# -------------------------------------------------------------------------------- reading

def read_header(path: Path | str) -> dict[str, Any]:
    """The validated JSON header of a checkpoint (no tensors are read)."""
    path = Path(path)
    with _open(path) as f:
        return _parse_header(path, f.metadata())


def load_checkpoint(path: Path | str, *, groups: Iterable[str] | None = None,
                    device: str | torch.device = "cpu", verify: bool = True) -> Checkpoint:
    """Read ``groups`` (all when None) from ``path``; ``verify`` checks each group's SHA-256."""
    path = Path(path)
    with _open(path) as f:
        header = _parse_header(path, f.metadata())
        wanted = list(header["groups"]) if groups is None else list(groups)
        names = list(f.keys())
        loaded = {}
        for prefix in wanted:
            if prefix not in header["groups"]:
                raise GansmaniaError(f"{path}: no '{prefix}' network in this checkpoint "
                                     f"(it has: {', '.join(header['groups']) or 'nothing'})")
            info = header["groups"][prefix]
            keys = [k for k in names if k.startswith(prefix + ".")]
            if len(keys) != info.get("tensors"):
                raise GansmaniaError(f"{path}: group '{prefix}' has {len(keys)} tensors, the "
                                     f"header lists {info.get('tensors')} (damaged or edited)")
            try:
                tensors = {k[len(prefix) + 1:]: f.get_tensor(k) for k in keys}
            except (SafetensorError, RuntimeError, ValueError) as exc:
                raise GansmaniaError(f"{path}: cannot read the '{prefix}' tensors "
                                     f"({_one_line(exc)}); file truncated or corrupt") from None
            if verify and _digest(tensors) != info.get("sha256"):
                raise GansmaniaError(f"{path}: the '{prefix}' tensors fail their SHA-256 check; "
                                     "the file is corrupted")
            tensors = {k: v.to(device) for k, v in tensors.items()}
            loaded[prefix] = Group(kind=info["kind"], config=info["config"], tensors=tensors)
    return Checkpoint(path=path, groups=loaded, training=header["training"],
                      provenance=header["provenance"])


@contextlib.contextmanager
def _open(path: Path) -> Iterator[Any]:
    """``safe_open`` with every failure to open turned into one line that names the file."""
    if not path.is_file():
        raise GansmaniaError(f"{path}: file not found")
    try:
        handle = safe_open(str(path), framework="pt", device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise GansmaniaError(f"{path}: not a readable safetensors checkpoint "
                             f"({_one_line(exc)}); truncated or corrupt?") from None
    with handle as f:
        yield f


def _parse_header(path: Path, metadata: Mapping[str, str] | None) -> dict[str, Any]:
    text = (metadata or {}).get(HEADER_KEY)
    if text is None:
        raise GansmaniaError(f"{path}: safetensors file without a gansmania header (not written "
                             "by gansmania; convert NVlabs .pkl files with `gansmania import-pkl`)")
    try:
        header = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GansmaniaError(f"{path}: the gansmania header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise GansmaniaError(f"{path}: header format is not '{FORMAT}'")
    version = header.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise GansmaniaError(f"{path}: checkpoint format version {version!r} is newer than this "
                             f"gansmania reads (up to {VERSION}); upgrade gansmania")
    groups = header.get("groups")
    if not isinstance(groups, dict) or not all(
            isinstance(g, dict) and {"kind", "config", "tensors", "sha256"} <= set(g)
            for g in groups.values()):
        raise GansmaniaError(f"{path}: header 'groups' is malformed")
    header.setdefault("training", {})
    header.setdefault("provenance", {})
    return header


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# ------------------------------------------------------------------------------ generators

def save_generator(path: Path | str, generator: torch.nn.Module, *,
                   discriminator: torch.nn.Module | None = None, group: str = DEFAULT_GROUP,
                   training: Mapping[str, Any] | None = None,
                   provenance: Mapping[str, Any] | None = None) -> Path:
    """Save a :class:`~training.networks.Generator` (or ``StyleGAN3Generator``) as ``group`` (its config in the header), and
    optionally a discriminator as group ``D`` (kept for transfer learning)."""
    groups = {group: module_group(generator, kind=GENERATOR_KIND,
                                  config=generator.config.to_dict())}
    if discriminator is not None:
        groups["D"] = module_group(discriminator, kind="discriminator")
    return save_checkpoint(path, groups, training=training, provenance=provenance)


def load_generator(path: Path | str, *, device: str | torch.device = "cpu",
                   group: str = DEFAULT_GROUP):
    """Rebuild the generator stored as ``group`` in ``path``: eval mode, no gradients.

    (For training, call ``.train().requires_grad_(True)`` on the result.)
    """
    from training.networks import build_generator

    checkpoint = load_checkpoint(path, groups=[group])
    config = checkpoint.generator_config(group)
    stored = checkpoint.groups[group]
    path = checkpoint.path
    # (Built on the CPU: the meta device would skip the random init but costs seconds of
    # one-time imports, more than initialising even the 1024 config.)
    generator = build_generator(config)
    _check_tensors(path, group, expected=generator.state_dict(), stored=stored.tensors)
    generator.load_state_dict(dict(stored.tensors), assign=True)
    return generator.to(device).eval().requires_grad_(False)


def _check_tensors(path: Path, group: str, *, expected: Mapping[str, torch.Tensor],
                   stored: Mapping[str, torch.Tensor]) -> None:
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    if missing or extra:
        parts = ([f"missing {_few(missing)}"] if missing else []) + (
            [f"unexpected {_few(extra)}"] if extra else [])
        raise GansmaniaError(f"{path}: '{group}' tensors do not fit its config: "
                             + "; ".join(parts))
    for name, want in expected.items():
        have = stored[name]
        if tuple(have.shape) != tuple(want.shape):
            raise GansmaniaError(f"{path}: tensor '{group}.{name}' has shape {list(have.shape)}, "
                                 f"the config needs {list(want.shape)}")
        if not have.is_floating_point():
            raise GansmaniaError(f"{path}: tensor '{group}.{name}' is {have.dtype}, "
                                 "not floating point")
        if have.numel() and not torch.isfinite(have).all():
            raise GansmaniaError(f"{path}: tensor '{group}.{name}' holds NaN or infinity")


def _few(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
