"""StyleGAN2(-ADA) networks: layer primitives (``layers``, ``ops``), ``MappingNetwork``,
``SynthesisNetwork`` and ``Generator``. Parameter names match NVlabs stylegan2-ada-pytorch."""

from training.networks.generator import Generator
from training.networks.layers import (Conv2dLayer, FullyConnectedLayer, SynthesisLayer,
                                      ToRGBLayer)
from training.networks.mapping import MappingNetwork, truncate
from training.networks.synthesis import SynthesisBlock, SynthesisNetwork

__all__ = ["Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisBlock", "SynthesisLayer",
           "ToRGBLayer", "FullyConnectedLayer", "Conv2dLayer", "truncate"]
