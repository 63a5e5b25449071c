"""The StyleGAN2-ADA objective: non-saturating logistic loss, lazy R1 on reals, optional path-length
regularisation of G, style mixing; every image D sees goes through the augmentation pipe.
Optionally, D also sees blurred real images as fakes (``blurred_reals``, below).

Each phase (``Gmain``, ``Greg``, ``Dmain``, ``Dreg``) accumulates gradients into the parameters of
the network it trains; the loop steps that network's optimiser afterwards. ``gain`` multiplies
the loss: lazy regularisation runs every k-th step with gain k, so on average its weight is the
same as if it ran every step (Karras et al. 2020, "Analyzing and Improving the Image Quality of
StyleGAN", appendix B).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from training.networks.layers import DEFAULT_TAPS
from training.networks.ops import downsample2d, upsample2d

PHASES = ("Gmain", "Greg", "Dmain", "Dreg")
BLURRED_SCORES = "Loss/scores/blurred_real"  # D's logits on blurred reals (when they are shown)


class GeneratorStep(nn.Module):
    """The generator as trained: mapping with style mixing, then synthesis.

    z [N, z_dim], c [N, c_dim] -> (img [N, C, R, R], ws [N, num_ws, w_dim]). Wrapping it (not the
    bare Generator) in DistributedDataParallel keeps mixing inside one forward.
    """

    def __init__(self, generator: nn.Module, *, style_mixing: float, force_fp32: bool = False):
        super().__init__()
        self.generator = generator
        self.style_mixing = style_mixing
        self.force_fp32 = force_fp32

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mapping = self.generator.mapping
        ws = mapping(z, c)
        if self.style_mixing > 0:
            # From a random layer on, the ws of a second z: G cannot rely on neighbouring layers
            # sharing one w, which makes styles localise (and mixing work in the visualizer).
            num_ws = ws.shape[1]
            cutoff = torch.randint(1, num_ws, (), device=ws.device) if num_ws > 1 else torch.tensor(num_ws)
            cutoff = torch.where(torch.rand([], device=ws.device) < self.style_mixing, cutoff,
                                 torch.full_like(cutoff, num_ws))
            mixed = mapping(torch.randn_like(z), c, skip_w_avg_update=True)
            layer = torch.arange(num_ws, device=ws.device)[None, :, None]
            ws = torch.where(layer < cutoff, ws, mixed)
        return self.generator.synthesis(ws, force_fp32=self.force_fp32), ws


@dataclass
class LossStats:
    """Sums since the last report, for logging (losses) and the ADA controller (signs)."""

    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, values: torch.Tensor) -> None:
        values = values.detach().flatten().float()
        self.sums[name] = self.sums.get(name, 0.0) + float(values.sum())
        self.counts[name] = self.counts.get(name, 0) + values.numel()

    def mean(self, name: str) -> float:
        return self.sums.get(name, 0.0) / max(self.counts.get(name, 0), 1)

    def reset(self) -> None:
        self.sums.clear()
        self.counts.clear()


@dataclass(frozen=True)
class LossSettings:
    r1_gamma: float
    pl_weight: float = 0.0
    pl_batch_shrink: int = 2
    pl_decay: float = 0.01
    blurred_reals: float = 0.0


def blur_reals(real: torch.Tensor) -> torch.Tensor:
    """[N, C, R, R] -> the same images at half the resolution, FIR-upsampled back to R.

    Mirrored padding first: the filters' zero padding would darken a blurred image's border,
    and D would learn to spot that border instead of the missing edges.
    """
    # The generator's own resampling filter: a real image through it is the picture a G would
    # draw whose last block adds nothing to the block below it, upsampled along its skip path.
    pad = len(DEFAULT_TAPS)
    soft = upsample2d(downsample2d(F.pad(real, [pad] * 4, mode="reflect"), DEFAULT_TAPS),
                      DEFAULT_TAPS)
    return soft[..., pad:-pad, pad:-pad]


class StyleGAN2Loss:
    """Accumulates the gradients of one phase. ``run_g``/``run_d`` are the (maybe DDP-wrapped)
    networks used for the phase's trained network; ``g_frozen``/``d_frozen`` the plain ones."""

    def __init__(self, *, settings: LossSettings, augment: Callable[[torch.Tensor], torch.Tensor] | None,
                 pl_mean: torch.Tensor):
        self.settings = settings
        self.augment = augment
        self.pl_mean = pl_mean  # running mean path length (a buffer saved with the run)

    def _d(self, d: nn.Module, img: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if self.augment is not None:
            img = self.augment(img)
        return d(img, c)

    def accumulate(self, phase: str, *, g: nn.Module, d: nn.Module, real: torch.Tensor,
                   real_c: torch.Tensor, gen_z: torch.Tensor, gen_c: torch.Tensor, gain: float,
                   stats: LossStats) -> None:
        """Backpropagate one phase's loss (mean over the batch, times ``gain``).

        real: [N, C, R, R] in [-1, 1]; gen_z: [N, z_dim]. ``g`` is a GeneratorStep, ``d`` the
        discriminator; the caller has set which of them requires grad.
        """
        s = self.settings
        if phase == "Gmain":
            img, _ = g(gen_z, gen_c)
            logits = self._d(d, img, gen_c)
            stats.add("Loss/scores/fake", logits)
            loss = F.softplus(-logits)  # -log sigmoid(D(G(z))): non-saturating
            stats.add("Loss/G/loss", loss)
            loss.mean().mul(gain).backward()
        elif phase == "Greg":
            n = max(gen_z.shape[0] // s.pl_batch_shrink, 1)
            img, ws = g(gen_z[:n], gen_c[:n])
            # Path length: how far the image moves for a unit step in w, along a random image
            # direction; its deviation from the running mean is penalised (smooth latent space).
            noise = torch.randn_like(img) / np.sqrt(img.shape[2] * img.shape[3])
            grads, = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
            lengths = grads.square().sum(2).mean(1).sqrt()
            # As NVlabs: the batch's share of the updated mean stays in the graph (pl_decay of
            # its gradient flows through the mean); only the stored running value is detached.
            pl_mean = self.pl_mean.lerp(lengths.mean(), s.pl_decay)
            self.pl_mean.copy_(pl_mean.detach())
            penalty = (lengths - pl_mean).square() * s.pl_weight
            stats.add("Loss/pl_penalty", penalty)
            # img[:, 0, 0, 0] * 0 keeps every output in the graph (DDP expects all to be used).
            (img[:, 0, 0, 0] * 0 + penalty).mean().mul(gain).backward()
        elif phase == "Dmain":
            with torch.no_grad():
                fake, _ = g(gen_z, gen_c)
            fake_logits = self._d(d, fake, gen_c)
            stats.add("Loss/scores/fake", fake_logits)
            F.softplus(fake_logits).mean().mul(gain).backward()
            real_logits = self._d(d, real, real_c)
            stats.add("Loss/scores/real", real_logits)
            stats.add("Loss/signs/real", real_logits.sign())
            loss_real = F.softplus(-real_logits)
            stats.add("Loss/D/loss", F.softplus(fake_logits.detach()) + loss_real.detach())
            loss_real.mean().mul(gain).backward()
            if s.blurred_reals > 0:
                # Edge-promoting adversarial loss (Chen et al. 2018, "CartoonGAN"): blurred reals
                # count as fakes, so D has to look at edges and G gets a gradient towards crisp
                # ones; a probe found D all but blind to blur without it. The price is a bias:
                # the optimum moves away from reals that are soft already (blurring changes them
                # little), by an amount that grows with the weight.
                blurred_logits = self._d(d, blur_reals(real), real_c)
                stats.add(BLURRED_SCORES, blurred_logits)
                F.softplus(blurred_logits).mean().mul(gain * s.blurred_reals).backward()
        elif phase == "Dreg":
            real = real.detach().requires_grad_(True)
            logits = self._d(d, real, real_c)
            # R1: penalise D's gradient on real images (keeps D from sharpening around the data).
            grads, = torch.autograd.grad(logits.sum(), real, create_graph=True)
            penalty = grads.square().sum([1, 2, 3]) * (s.r1_gamma / 2)
            stats.add("Loss/signs/real", logits.sign())
            stats.add("Loss/r1_penalty", penalty)
            (logits * 0 + penalty).mean().mul(gain).backward()
        else:
            raise ValueError(f"unknown phase {phase!r}; allowed: {', '.join(PHASES)}")
