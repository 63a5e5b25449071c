"""The mapping network: z (and label c) -> w, with the tracked mean w used for truncation."""

from __future__ import annotations

import torch
from torch import nn

from training.networks.layers import FullyConnectedLayer
from training.networks.ops import normalize_2nd_moment


class MappingNetwork(nn.Module):
    """z [N, z_dim] (+ c [N, c_dim]) -> w [N, num_ws, w_dim] (or [N, w_dim] when num_ws is None).

    Layers are ``fc0 .. fc{num_layers-1}`` (plus ``embed`` for labels) and the buffer ``w_avg``
    [w_dim] tracks the mean w during training (decay ``w_avg_beta``). The discriminator reuses
    this class to embed labels (z_dim=0, num_ws=None, w_avg_beta=None).
    """

    def __init__(self, *, z_dim: int, c_dim: int, w_dim: int, num_ws: int | None,
                 num_layers: int = 8, embed_features: int | None = None,
                 layer_features: int | None = None, activation: str = "lrelu",
                 lr_multiplier: float = 0.01, w_avg_beta: float | None = 0.995):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.num_ws = num_ws
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta
        if embed_features is None:
            embed_features = w_dim
        if c_dim == 0:
            embed_features = 0
        if layer_features is None:
            layer_features = w_dim
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(num_layers):
            layer = FullyConnectedLayer(features[idx], features[idx + 1], activation=activation,
                                        lr_multiplier=lr_multiplier)
            setattr(self, f"fc{idx}", layer)
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None = None, *,
                truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                skip_w_avg_update: bool = False) -> torch.Tensor:
        """Map z (and c) to w; in training mode also update ``w_avg``.

        Truncation pulls w towards ``w_avg``: w' = w_avg + psi * (w - w_avg), for the first
        ``truncation_cutoff`` layers (all when None).
        """
        x = None
        if self.z_dim > 0:
            _check_shape(z, self.z_dim, "z")
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            _check_shape(c, self.c_dim, "c")
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)

        if self.w_avg_beta is not None and self.training and not skip_w_avg_update:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))

        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            x = truncate(x, self.w_avg, psi=truncation_psi, cutoff=truncation_cutoff)
        return x


def truncate(ws: torch.Tensor, w_avg: torch.Tensor, *, psi: float,
             cutoff: int | None = None) -> torch.Tensor:
    """ws [N, num_ws, w_dim] (or [N, w_dim]) pulled towards w_avg [w_dim] by ``psi`` (1 = none),
    on the first ``cutoff`` layers only when given. Not in place, so it also traces cleanly."""
    if cutoff is None or ws.ndim == 2:
        return w_avg.lerp(ws, psi)
    head = w_avg.lerp(ws[:, :cutoff], psi)
    return torch.cat([head, ws[:, cutoff:]], dim=1)


def _check_shape(x: torch.Tensor | None, size: int, name: str) -> None:
    if x is None or x.ndim != 2 or x.shape[1] != size:
        shape = None if x is None else tuple(x.shape)
        raise ValueError(f"{name} must have shape [N, {size}], got {shape}")
