"""Import NVlabs stylegan2-ada-pytorch and stylegan3 pickles (``network-snapshot-*.pkl``)
without running them. StyleGAN3 generators (configs T and R) become our ``StyleGAN3Generator``;
StyleGAN2 ones (from either repository) our ``Generator``.

NVlabs pickles store each network through ``torch_utils.persistence``: a call to
``_reconstruct_persistent_obj(meta)`` whose ``meta`` holds the class name, the *source code* of
the module that defined it and the object's ``__dict__`` (its parameters, buffers, sub-modules
and constructor arguments). The original loader ``exec``s that source code. Here a restricted
unpickler maps that call to a plain data record instead, allows only the handful of globals such
a file needs (tensors, ordered dicts, numpy scalars, ``dnnlib.EasyDict``), and refuses everything
else — so a pickle carrying a payload is rejected before anything from it runs. Neither
``torch_utils`` nor ``dnnlib`` is needed.
"""

from __future__ import annotations

import collections
import copyreg
import hashlib
import io
import math
import pickle
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from visualizer.core.errors import GansmaniaError

PERSISTENCE_VERSION = 6  # torch_utils.persistence._version of stylegan2-ada-pytorch and stylegan3
NVLABS_LICENCE_NOTE = ("unknown: check the original model's licence (models trained with NVlabs "
                       "code are often under the NVIDIA Source Code License, non-commercial)")


# ------------------------------------------------------------------- restricted unpickling

@dataclass
class PersistentRecord:
    """What ``_reconstruct_persistent_obj`` would have rebuilt, as inert data."""

    class_name: str
    module_src: str  # the defining module's source text: inspected, never executed
    state: dict[str, Any]  # the object's __dict__: _parameters, _buffers, _modules, attributes

    @property
    def children(self) -> Mapping[str, Any]:
        return self.state.get("_modules") or {}


class EasyDictData(dict):
    """Stand-in for ``dnnlib.util.EasyDict`` (a dict with attribute access): data only."""


class _Refused(Exception):
    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


def _reconstruct_persistent_obj(meta: Any) -> PersistentRecord:
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise _Refused("a persistent object that is not a class instance")
    if meta.get("version") != PERSISTENCE_VERSION:
        raise _Refused(f"torch_utils.persistence version {meta.get('version')!r}")
    state = meta.get("state")
    return PersistentRecord(class_name=str(meta.get("class_name")),
                            module_src=str(meta.get("module_src") or ""),
                            state=dict(state) if isinstance(state, dict) else {})


def _load_storage_from_bytes(data: bytes) -> Any:
    # torch pickles each storage as a nested torch.save blob; torch's own weights-only loader
    # reads it, which again executes nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage deprecation noise
        return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")


_SAFE_CLASSES = (EasyDictData, collections.OrderedDict, dict, set, frozenset, list)


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    # Protocol 0/1 pickles rebuild dict subclasses through copyreg._reconstructor.
    if cls not in _SAFE_CLASSES or base not in (object, dict):
        raise _Refused(f"copyreg._reconstructor({cls!r})")
    return copyreg._reconstructor(cls, base, state)


def _codecs_encode(text: str, encoding: str = "latin1") -> bytes:
    # Protocol 2 writes bytes as _codecs.encode(str, 'latin1').
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("_codecs.encode with unexpected arguments")
    return text.encode("latin1")


# numpy 2 moved numpy.core to numpy._core; pickles name either, depending on who wrote them.
_multiarray = (getattr(np, "_core", None) or np.core).multiarray

_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): EasyDictData,
    ("dnnlib", "EasyDict"): EasyDictData,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("_codecs", "encode"): _codecs_encode,
    ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): torch._utils._rebuild_parameter_with_state,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("torch", "Size"): torch.Size,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(f"{module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused(f"persistent id {pid!r}")


def read_pickle(path: Path | str) -> Any:
    """Unpickle ``path`` with the restricted unpickler; a refused or broken file is one line."""
    path = Path(path)
    if not path.is_file():
        raise GansmaniaError(f"{path}: file not found")
    try:
        with path.open("rb") as f:
            return _RestrictedUnpickler(f).load()
    except _Refused as exc:
        if exc.what.startswith("dnnlib.tflib"):
            raise GansmaniaError(f"{path}: a TensorFlow StyleGAN/StyleGAN2 pickle; convert it with "
                                 "NVlabs stylegan2-ada-pytorch's legacy.py first, then import "
                                 "the converted .pkl") from None
        raise GansmaniaError(f"{path}: refused: the pickle asks for '{exc.what}', which no "
                             "StyleGAN2-ADA/StyleGAN3 network pickle needs; nothing from the "
                             "file was run") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, KeyError,
            TypeError, ValueError, RuntimeError, MemoryError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise GansmaniaError(f"{path}: not a readable NVlabs pickle ({detail}); "
                             "truncated or corrupt?") from None


# ------------------------------------------------------------------------------ conversion

def generator_from_pickle(path: Path | str, *, key: str = "G_ema"):
    """The ``key`` network of an NVlabs pickle as our :class:`Generator` (StyleGAN2) or
    ``StyleGAN3Generator``, plus a summary dict.

    Every parameter and buffer must map by name and shape, and the pickle's stored layer
    attributes (gains, clamps, resolutions, sampling rates ...) must equal the rebuilt ones.
    """
    from training.networks import build_generator

    path = Path(path)
    data = read_pickle(path)
    if not isinstance(data, dict):
        raise GansmaniaError(f"{path}: not a network snapshot (a {type(data).__name__}, "
                             "expected a dict with G_ema)")
    record = data.get(key)
    if not isinstance(record, PersistentRecord):
        networks = sorted(k for k, v in data.items() if isinstance(v, PersistentRecord))
        has = ", ".join(networks) or "none"
        raise GansmaniaError(f"{path}: no '{key}' network in this pickle (networks: {has})")
    if record.class_name != "Generator":
        raise GansmaniaError(f"{path}: '{key}' is a {record.class_name}, not a Generator")

    stylegan3 = is_stylegan3(record)
    config = config_from_record(path, record, stylegan3=stylegan3)
    try:
        tensors = record_tensors(record)
    except GansmaniaError as exc:
        raise GansmaniaError(f"{path}: '{key}' {exc}") from None
    generator = build_generator(config)
    expected = generator.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        family = "StyleGAN3" if stylegan3 else "StyleGAN2"
        raise GansmaniaError(f"{path}: '{key}' does not map onto a {family} generator: "
                             f"missing {missing[:3]}, unexpected {extra[:3]}")
    for name, want in expected.items():
        if tuple(tensors[name].shape) != tuple(want.shape):
            raise GansmaniaError(f"{path}: '{key}.{name}' has shape {list(tensors[name].shape)}, "
                                 f"the rebuilt generator needs {list(want.shape)}")
    generator.load_state_dict({k: v.detach().to(torch.float32).clone() for k, v in tensors.items()},
                              assign=True)
    _check_attributes(path, key, record, generator)
    summary = {"training_set_kwargs": _plain(data.get("training_set_kwargs")),
               "networks_in_pickle": sorted(k for k, v in data.items()
                                            if isinstance(v, PersistentRecord))}
    return generator.eval().requires_grad_(False), summary


def import_pickle(source: Path | str, destination: Path | str, *, key: str = "G_ema") -> Path:
    """Convert an NVlabs pickle's ``key`` generator into our checkpoint at ``destination``."""
    from training import checkpoint

    source = Path(source)
    generator, summary = generator_from_pickle(source, key=key)
    repository = "stylegan3" if generator.config.architecture.startswith("stylegan3") \
        else "stylegan2-ada-pytorch"
    provenance = {"source": f"NVlabs {repository} pickle", "original_file": source.name,
                  "original_sha256": _file_sha256(source), "original_network": key,
                  "licence": NVLABS_LICENCE_NOTE}
    return checkpoint.save_generator(destination, generator, group=checkpoint.DEFAULT_GROUP,
                                     training=summary, provenance=provenance)


def is_stylegan3(record: PersistentRecord) -> bool:
    """Whether a generator record is StyleGAN3's: its synthesis starts from a Fourier input."""
    synthesis = record.children.get("synthesis")
    return isinstance(synthesis, PersistentRecord) and (
        "input" in synthesis.children or "layer_names" in synthesis.state)


def record_tensors(record: PersistentRecord, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every parameter and persistent buffer under ``record``, by state_dict name."""
    out: dict[str, torch.Tensor] = {}
    skip = set(record.state.get("_non_persistent_buffers_set") or ())
    for table in ("_parameters", "_buffers"):
        for name, value in (record.state.get(table) or {}).items():
            if value is None or name in skip:
                continue
            if not isinstance(value, torch.Tensor):
                raise GansmaniaError(f"has '{prefix}{name}' as a {type(value).__name__}, "
                                     "not a tensor")
            out[prefix + name] = value
    for name, child in record.children.items():
        if child is None:
            continue
        if not isinstance(child, PersistentRecord):
            raise GansmaniaError(f"has sub-module '{prefix}{name}' that is not an NVlabs "
                                 "network object")
        out.update(record_tensors(child, f"{prefix}{name}."))
    return out


# NVlabs Generator(z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs,
# synthesis_kwargs) arguments -> GeneratorConfig fields.
_POSITIONAL = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs",
               "synthesis_kwargs")
_MAPPING_KEYS = {"num_layers": "mapping_layers", "lr_multiplier": "mapping_lr_multiplier",
                 "layer_features": "mapping_layer_features", "embed_features": "embed_features",
                 "activation": "mapping_activation", "w_avg_beta": "w_avg_beta"}
_SYNTHESIS_KEYS = {"channel_base": "channel_base", "channel_max": "channel_max",
                   "num_fp16_res": "num_fp16_res", "conv_clamp": "conv_clamp",
                   "architecture": "architecture", "resample_filter": "resample_filter",
                   "use_noise": "use_noise", "activation": "activation"}
# NVlabs stylegan3's Generator takes the synthesis and layer arguments flat, under the names
# StyleGAN3Config uses.
_SG3_MAPPING_KEYS = {"num_layers": "mapping_layers", "lr_multiplier": "mapping_lr_multiplier",
                     "w_avg_beta": "w_avg_beta"}
_SG3_SYNTHESIS_KEYS = {name: name for name in (
    "channel_base", "channel_max", "num_layers", "num_critical", "first_cutoff", "first_stopband",
    "last_stopband_rel", "margin_size", "output_scale", "num_fp16_res", "conv_kernel",
    "filter_size", "lrelu_upsampling", "use_radial_filters", "conv_clamp", "magnitude_ema_beta")}
# Memory layout, speed switches and bookkeeping: they do not change the function.
_IGNORED_KEYS = {"fp16_channels_last", "channels_last", "epochs", "fused_modconv_default"}


def config_from_record(path: Path, record: PersistentRecord, *, stylegan3: bool = False):
    """A :class:`GeneratorConfig` (or, with ``stylegan3``, a :class:`StyleGAN3Config`) from the
    pickled constructor arguments (or, for StyleGAN2 pickles without them, from the stored
    attributes and tensor shapes)."""
    from training.configs import GeneratorConfig, StyleGAN3Config
    from visualizer.core.errors import ConfigError

    args = record.state.get("_init_args") or ()
    kwargs = dict(record.state.get("_init_kwargs") or {})
    kwargs.update(dict(zip(_POSITIONAL, args)))
    if not kwargs and stylegan3:
        raise GansmaniaError(f"{path}: a StyleGAN3 generator without its constructor arguments; "
                             "re-save it with NVlabs stylegan3 (any of its pickles has them)")
    if not kwargs:
        try:
            return _config_from_shapes(path, record)
        except (KeyError, AttributeError, TypeError, ValueError, IndexError) as exc:
            raise GansmaniaError(f"{path}: no constructor arguments stored and the architecture "
                                 f"cannot be read from the tensors ({exc!r})") from None
    values: dict[str, Any] = {}
    for key in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"):
        values[key] = _plain(kwargs.pop(key, record.state.get(key)))
    mapping = dict(kwargs.pop("mapping_kwargs", None) or {})
    synthesis = dict(kwargs.pop("synthesis_kwargs", None) or {})
    synthesis.update(kwargs)  # stylegan3's networks take **synthesis_kwargs flat
    tables = ((mapping, _SG3_MAPPING_KEYS), (synthesis, _SG3_SYNTHESIS_KEYS)) if stylegan3 \
        else ((mapping, _MAPPING_KEYS), (synthesis, _SYNTHESIS_KEYS))
    for source, table in tables:
        for key, value in source.items():
            if key in _IGNORED_KEYS:
                continue
            if key not in table:
                raise GansmaniaError(f"{path}: unsupported generator option {key}={value!r}")
            values[table[key]] = _plain(value)
    if values.get("resample_filter") is not None:
        values["resample_filter"] = tuple(float(v) for v in values["resample_filter"])
    if values.get("conv_clamp") is not None:
        values["conv_clamp"] = float(values["conv_clamp"])
    for key in ("mapping_lr_multiplier", "w_avg_beta", "first_cutoff", "first_stopband",
                "last_stopband_rel", "output_scale", "magnitude_ema_beta"):
        if isinstance(values.get(key), int):
            values[key] = float(values[key])
    schema = GeneratorConfig
    if stylegan3:
        schema = StyleGAN3Config
        radial = values.get("use_radial_filters") or values.get("conv_kernel") == 1
        values["architecture"] = "stylegan3-r" if radial else "stylegan3-t"
    try:
        # conv_clamp None means no clamp (StyleGAN3's default is 256); other Nones: defaults.
        return schema.from_dict({k: v for k, v in values.items()
                                 if v is not None or k == "conv_clamp"},
                                origin=f"{path} [generator arguments]")
    except ConfigError as exc:
        raise GansmaniaError(str(exc)) from None


def _config_from_shapes(path: Path, record: PersistentRecord):
    from training.configs import GeneratorConfig

    state = record.state
    mapping, synthesis = record.children.get("mapping"), record.children.get("synthesis")
    if not isinstance(mapping, PersistentRecord) or not isinstance(synthesis, PersistentRecord):
        raise GansmaniaError(f"{path}: generator without mapping/synthesis networks")
    resolution = int(state["img_resolution"])
    channels = {}
    for name, block in synthesis.children.items():
        weight = (block.children["conv1"].state["_parameters"]["weight"])
        channels[int(name[1:])] = int(weight.shape[0])
    channel_max = max(channels.values())
    below = [res * c for res, c in channels.items() if c < channel_max]
    fc0 = mapping.children["fc0"]
    return GeneratorConfig(
        z_dim=int(state["z_dim"]), c_dim=int(state["c_dim"]), w_dim=int(state["w_dim"]),
        img_resolution=resolution, img_channels=int(state["img_channels"]),
        mapping_layers=int(mapping.state["num_layers"]),
        mapping_lr_multiplier=float(fc0.state["bias_gain"]),
        w_avg_beta=_plain(mapping.state.get("w_avg_beta")),
        channel_base=min(below) if below else channel_max * resolution, channel_max=channel_max,
        architecture=str(synthesis.children[f"b{resolution}"].state.get("architecture", "skip")),
        conv_clamp=_plain(synthesis.children["b4"].children["conv1"].state.get("conv_clamp")),
    )


# Attributes both implementations keep on their modules; equal values mean the rebuilt network
# computes with the same gains, clamps and wiring as the pickled one.
_COMPARED = ("weight_gain", "bias_gain", "act_gain", "conv_clamp", "activation", "up", "down",
             "padding", "use_noise", "resolution", "in_channels", "is_last", "architecture",
             "num_conv", "num_torgb", "num_ws", "z_dim", "c_dim", "w_dim", "img_resolution",
             "img_channels", "num_layers", "w_avg_beta", "use_fp16",
             # StyleGAN3: the signal-processing plan of every layer
             "layer_names", "num_critical", "margin_size", "output_scale", "channels",
             "sampling_rate", "bandwidth", "is_torgb", "is_critically_sampled", "out_channels",
             "in_sampling_rate", "out_sampling_rate", "tmp_sampling_rate", "in_cutoff",
             "out_cutoff", "in_half_width", "out_half_width", "conv_kernel", "up_factor",
             "down_factor", "up_taps", "down_taps", "down_radial", "magnitude_ema_beta")


def _check_attributes(path: Path, key: str, record: PersistentRecord, module: torch.nn.Module,
                      prefix: str = "") -> None:
    for name in _COMPARED:
        if name not in record.state or not hasattr(module, name):
            continue
        theirs, ours = _plain(record.state[name]), getattr(module, name)
        same = (math.isclose(theirs, ours, rel_tol=1e-6)
                if isinstance(theirs, float) and isinstance(ours, int | float) else theirs == ours)
        if not same:
            raise GansmaniaError(f"{path}: '{key}.{prefix}{name}' is {theirs!r} in the pickle but "
                                 f"{ours!r} in the rebuilt generator; unsupported variant")
    for name, child in record.children.items():
        if isinstance(child, PersistentRecord):
            _check_attributes(path, key, child, getattr(module, name), f"{prefix}{name}.")


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars -> Python numbers, EasyDicts -> dicts, others -> str."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
