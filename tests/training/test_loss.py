"""The loss: the edge-promoting term of D's loss (`loss.blurred_reals`) and G's path-length
regulariser against NVlabs' formula."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.discriminator import Discriminator, DiscriminatorConfig
from training.loss import LossSettings, LossStats, StyleGAN2Loss, blur_reals

SMALL = DiscriminatorConfig(channel_base=256, channel_max=32, mbstd_group_size=4)
STEPS = 60


class FlatGenerator(nn.Module):
    """Stands in for G in D's phase: every fake is the same flat grey, so telling fakes from
    reals is trivial and only the blurred reals can teach D anything about edges."""

    def forward(self, z: torch.Tensor, c: torch.Tensor):
        return torch.zeros(z.shape[0], 3, 16, 16), None


def hard_edged(n: int, generator: torch.Generator) -> torch.Tensor:
    """[n, 3, 16, 16] in [-1, 1]: random colours on a 4 px checkerboard of blocks (crisp edges)."""
    blocks = torch.rand(n, 3, 4, 4, generator=generator) * 2 - 1
    return F.interpolate(blocks, scale_factor=4, mode="nearest")


def test_blur_keeps_flat_colour_and_gradients_and_removes_the_finest_detail():
    # Up to the border: a darker or shifted border would be a tell D could learn instead of edges.
    flat = torch.full((1, 3, 16, 16), 0.5)
    assert torch.allclose(blur_reals(flat), flat, atol=1e-6)
    ramp = torch.linspace(-0.9, 0.9, 16).expand(1, 3, 16, 16)
    assert torch.allclose(blur_reals(ramp)[..., 3:-3], ramp[..., 3:-3], atol=1e-5)  # not shifted
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 2.0 - 1
    assert blur_reals(checker.expand(1, 3, 16, 16)).abs().max() < 1e-6
    edge = hard_edged(2, torch.Generator().manual_seed(0))
    assert blur_reals(edge).shape == edge.shape and not torch.allclose(blur_reals(edge), edge, atol=0.1)


def d_gap_after_training(weight: float) -> float:
    """Train a small D for STEPS steps of its main phase; return mean sigmoid(D(real)) minus
    mean sigmoid(D(blurred real)) on reals it has not seen."""
    torch.manual_seed(0)
    d = Discriminator(SMALL, img_resolution=16)
    opt = torch.optim.Adam(d.parameters(), lr=0.003, betas=(0.0, 0.99))
    loss = StyleGAN2Loss(settings=LossSettings(r1_gamma=0.0, blurred_reals=weight), augment=None,
                         pl_mean=torch.zeros([]))
    data = torch.Generator().manual_seed(1)
    stats = LossStats()
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=True)
        loss.accumulate("Dmain", g=FlatGenerator(), d=d, real=hard_edged(8, data), real_c=torch.zeros(8, 0),
                        gen_z=torch.randn(8, 4), gen_c=torch.zeros(8, 0), gain=1.0, stats=stats)
        opt.step()
    fresh = hard_edged(64, data)
    with torch.no_grad():
        c = torch.zeros(64, 0)
        return float(torch.sigmoid(d(fresh, c)).mean() - torch.sigmoid(d(blur_reals(fresh), c)).mean())


def test_blurred_reals_teach_d_to_score_soft_versions_of_real_images_as_fake(isolated_threads):
    # Without the term, D separates reals from the flat fakes and calls a blurred real "real"
    # too; with it, D must find the edges.
    torch.set_num_threads(1)  # tiny tensors: a second thread only waits for a busy core
    without, with_term = d_gap_after_training(0.0), d_gap_after_training(0.5)
    assert with_term > 0.3 and with_term > without + 0.2, (without, with_term)


def test_blurred_real_scores_are_logged_only_when_the_term_is_on():
    torch.manual_seed(0)
    d = Discriminator(SMALL, img_resolution=16)
    real = hard_edged(4, torch.Generator().manual_seed(2))
    for weight, logged in ((0.0, False), (0.2, True)):
        stats = LossStats()
        StyleGAN2Loss(settings=LossSettings(r1_gamma=0.0, blurred_reals=weight), augment=None,
                      pl_mean=torch.zeros([])).accumulate(
            "Dmain", g=FlatGenerator(), d=d, real=real, real_c=torch.zeros(4, 0), gen_z=torch.randn(4, 4),
            gen_c=torch.zeros(4, 0), gain=1.0, stats=stats)
        assert ("Loss/scores/blurred_real" in stats.counts) == logged


class LinearStep(nn.Module):
    """Stands in for GeneratorStep in G's path-length phase: ws from z by a learned matrix, the
    image a fixed non-linear function of ws, so the path lengths vary across the batch."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.randn(4, 2 * 6) * 0.5)
        self.register_buffer("b", torch.randn(6, 3 * 8 * 8))

    def forward(self, z: torch.Tensor, c: torch.Tensor):
        ws = (z @ self.a).view(-1, 2, 6)
        return torch.tanh(ws.sum(1) @ self.b).view(-1, 3, 8, 8), ws


def test_path_length_gradient_flows_through_the_running_mean_as_nvlabs():
    # NVlabs' loss keeps the batch's share of the updated mean in the graph:
    # penalty = (L - lerp(m, mean(L), decay))^2; only the stored mean is detached.
    settings = LossSettings(r1_gamma=0.0, pl_weight=2.0, pl_decay=0.3, pl_batch_shrink=1)
    torch.manual_seed(0)
    g, z = LinearStep(), torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    loss = StyleGAN2Loss(settings=settings, augment=None, pl_mean=torch.tensor(0.5))
    torch.manual_seed(1)
    loss.accumulate("Greg", g=g, d=None, real=None, real_c=None, gen_z=z, gen_c=torch.zeros(6, 0),
                    gain=3.0, stats=LossStats())
    ours = g.a.grad.clone()

    def by_hand(detach_mean: bool) -> torch.Tensor:
        g.a.grad = None
        torch.manual_seed(1)
        img, ws = g(z, None)
        noise = torch.randn_like(img) / 8
        grads, = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
        lengths = grads.square().sum(2).mean(1).sqrt()
        mean = lengths.mean().detach() if detach_mean else lengths.mean()
        ((lengths - torch.tensor(0.5).lerp(mean, 0.3)).square() * 2.0).mean().mul(3.0).backward()
        return g.a.grad.clone()

    torch.testing.assert_close(ours, by_hand(detach_mean=False))
    assert not torch.allclose(ours, by_hand(detach_mean=True), rtol=1e-3)  # the check can fail
    assert loss.pl_mean.requires_grad is False
