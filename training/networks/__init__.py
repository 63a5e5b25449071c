"""Generator networks. StyleGAN2(-ADA): layer primitives (``layers``, ``ops``), ``MappingNetwork``,
``SynthesisNetwork`` and ``Generator``; StyleGAN3 (alias-free, ``stylegan3``):
``StyleGAN3Generator``. Parameter names match NVlabs' stylegan2-ada-pytorch and stylegan3.
:func:`build_generator` builds the one a config describes."""

from training.configs import GeneratorConfig, StyleGAN3Config
from training.networks.generator import Generator
from training.networks.layers import (Conv2dLayer, FullyConnectedLayer, SynthesisLayer,
                                      ToRGBLayer)
from training.networks.mapping import MappingNetwork, truncate
from training.networks.stylegan3 import StyleGAN3Generator
from training.networks.synthesis import SynthesisBlock, SynthesisNetwork


def build_generator(config: GeneratorConfig | StyleGAN3Config) -> Generator | StyleGAN3Generator:
    """The generator ``config`` describes (randomly initialised)."""
    if isinstance(config, StyleGAN3Config):
        return StyleGAN3Generator(config)
    return Generator(config)


__all__ = ["Generator", "StyleGAN3Generator", "build_generator", "MappingNetwork",
           "SynthesisNetwork", "SynthesisBlock", "SynthesisLayer", "ToRGBLayer",
           "FullyConnectedLayer", "Conv2dLayer", "truncate"]
