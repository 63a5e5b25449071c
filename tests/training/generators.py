"""Small generators with every weight mattering, and NVlabs-format pickles built from them.

The pickles use NVlabs' module and class names (``torch_utils.persistence``, ``dnnlib.util``)
through fake modules that exist only while the pickle is written; their stored "module source"
would leave a marker file if anything ever executed it.
"""

from __future__ import annotations

import pickle
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from training.configs import GeneratorConfig
from training.networks import Generator

TINY = GeneratorConfig(z_dim=8, w_dim=8, img_resolution=16, channel_base=128, channel_max=16)
PERSISTENCE_VERSION = 6


def randomised(config: GeneratorConfig, *, seed: int = 0) -> Generator:
    """A generator whose biases, noise strengths and w_avg are non-zero, so all of them matter."""
    torch.manual_seed(seed)
    G = Generator(config).eval()
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("bias") or name.endswith("noise_strength"):
                p.copy_(torch.randn_like(p) * 0.3 + (1 if "affine" in name else 0))
        G.mapping.w_avg.copy_(torch.randn_like(G.mapping.w_avg) * 0.5)
    return G


# ----------------------------------------------------------------------- NVlabs-style pickles

def marker_source(marker: Path) -> str:
    """Python source that creates ``marker`` when executed: stands in for NVlabs' module source."""
    return f"import pathlib\npathlib.Path({str(marker)!r}).write_text('executed')\n"


class NVlabsNames:
    """Installs fake ``torch_utils.persistence`` and ``dnnlib.util`` modules (for pickling)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        persistence = types.ModuleType("torch_utils.persistence")

        def _reconstruct_persistent_obj(meta):  # never called: the importer maps it to data
            raise AssertionError("NVlabs reconstruction must not run")

        _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
        _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
        persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
        util = types.ModuleType("dnnlib.util")
        easydict = type("EasyDict", (dict,), {"__module__": "dnnlib.util"})
        util.EasyDict = easydict
        for name, module in {"torch_utils": types.ModuleType("torch_utils"),
                             "torch_utils.persistence": persistence,
                             "dnnlib": types.ModuleType("dnnlib"), "dnnlib.util": util}.items():
            monkeypatch.setitem(sys.modules, name, module)
        self.reconstruct = _reconstruct_persistent_obj
        self.EasyDict = easydict

    def record(self, module: torch.nn.Module, *, source: str, class_name: str | None = None,
               extra_state: Mapping[str, Any] | None = None) -> Any:
        """A picklable stand-in for an NVlabs persistent object of ``module`` (recursively)."""
        state = {k: v for k, v in vars(module).items() if k not in ("config", "resample_taps")}
        state["_modules"] = {name: self.record(child, source=source)
                             for name, child in module._modules.items()}
        for key in ("weight_gain", "act_gain"):  # NVlabs computes these with numpy
            if key in state:
                state[key] = np.float64(state[key])
        state.update(extra_state or {})
        meta = dict(type="class", version=PERSISTENCE_VERSION, module_src=source,
                    class_name=class_name or type(module).__name__, state=state)
        return _Persistent(self.reconstruct, meta)

    def generator_kwargs(self, config: GeneratorConfig) -> dict[str, Any]:
        """NVlabs ``Generator(**init_kwargs)`` arguments for ``config``, as train.py stores them."""
        E = self.EasyDict
        return {"_init_args": (), "_init_kwargs": E(
            z_dim=config.z_dim, c_dim=config.c_dim, w_dim=config.w_dim,
            img_resolution=config.img_resolution, img_channels=config.img_channels,
            mapping_kwargs=E(num_layers=config.mapping_layers),
            synthesis_kwargs=E(channel_base=config.channel_base, channel_max=config.channel_max,
                               num_fp16_res=config.num_fp16_res, conv_clamp=config.conv_clamp,
                               architecture=config.architecture))}

    def snapshot(self, path: Path, generator: Generator, *, source: str,
                 with_init_kwargs: bool = True, **extra: Any) -> Path:
        """Write a network-snapshot-like pickle: G, D, G_ema, augment_pipe, training_set_kwargs."""
        init = self.generator_kwargs(generator.config) if with_init_kwargs else {}
        from training.networks import Conv2dLayer

        data = {"training_set_kwargs": self.EasyDict(path="data.zip",
                                                     resolution=generator.img_resolution),
                "G": self.record(generator, source=source, extra_state=init),
                "D": self.record(Conv2dLayer(3, 4, 3, down=2), source=source),
                "G_ema": self.record(generator, source=source, extra_state=init),
                "augment_pipe": None, **extra}
        with path.open("wb") as f:
            pickle.dump(data, f)
        return path


class _Persistent:
    def __init__(self, reconstruct, meta):
        self._reduce = (reconstruct, (meta,))

    def __reduce__(self):
        return self._reduce
