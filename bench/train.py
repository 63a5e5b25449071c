"""Training speed (s/kimg) of the named configs on this machine, beside NVlabs' published numbers.

    python -m bench.train --json bench/results/train.json

A full iteration's cost is amortised from timed phases: Gmain + Dmain every step, path-length
(Greg) every ``g_reg_interval`` and R1 (Dreg) every ``d_reg_interval`` steps, exactly as the
training loop schedules them, with ADA augmentation at p = 0.5, and for the ``cpu`` config also
at p = 0 (where ADA sits while D does not overfit: the bundled model's runs; on a CPU the
augmentation at p = 0.5 about doubles a step). Each phase runs once to warm up, then ``repeats``
times timed (median). Data loading is not included (it overlaps compute).
"""

from __future__ import annotations

import statistics
import time

import torch
from rich.console import Console

from bench import parser
from training.augment import PIPELINES, AugmentPipe
from training.discriminator import Discriminator
from training.loop import training_layout
from training.loss import GeneratorStep, LossSettings, LossStats, StyleGAN2Loss
from training.networks import Generator
from training.train_config import TrainConfig, recipe
from visualizer.benchmarks.report import report

# NVlabs stylegan2-ada-pytorch README, "Expected training time": 256x256 on one V100 with
# --cfg=auto (batch 16, channel_base 16384 = our `256` networks) runs at 21.6-24.2 s/kimg.
# Quoted for comparison (midpoint in the table), not measured here.
NVLABS_V100_256_SEC_PER_KIMG = (21.6, 24.2)
COLUMNS = ("config", "device", "resolution", "batch", "ada_p", "Gmain_s", "Greg_s", "Dmain_s",
           "Dreg_s", "s_per_kimg", "reference")


def measure(preset: str, *, batch: int | None = None, repeats: int = 2,
            device: str = "cpu", ada_p: float = 0.5) -> dict:
    """One table row for named config ``preset`` (s/kimg amortised over the lazy-reg schedule)."""
    return measure_config(recipe(preset), batch=batch, repeats=repeats, device=device, ada_p=ada_p)


def measure_config(config: TrainConfig, *, batch: int | None = None, repeats: int = 2,
                   device: str = "cpu", ada_p: float = 0.5) -> dict:
    """Like :func:`measure` for any training config (its preset name labels the row)."""
    preset = config.preset
    batch = batch or config.schedule.batch
    dev = torch.device(device)
    torch.manual_seed(0)
    g_cfg = config.generator
    g = training_layout(Generator(g_cfg).train().requires_grad_(False).to(dev), dev)
    d_cfg = config.discriminator
    d = Discriminator(d_cfg, img_resolution=g_cfg.img_resolution).train().requires_grad_(False).to(dev)
    d = training_layout(d, dev)
    augment = AugmentPipe(PIPELINES["bgc"]).to(dev)
    augment.p.fill_(ada_p)
    force_fp32 = dev.type != "cuda"
    d.force_fp32 = force_fp32
    g_step = GeneratorStep(g, style_mixing=config.loss.style_mixing, force_fp32=force_fp32)
    loss = StyleGAN2Loss(settings=LossSettings(r1_gamma=config.loss.r1_gamma,
                                               pl_weight=config.loss.pl_weight),
                         augment=augment, pl_mean=torch.zeros([], device=dev))
    real = torch.rand([batch, 3, g_cfg.img_resolution, g_cfg.img_resolution], device=dev) * 2 - 1
    c = torch.zeros([batch, 0], device=dev)
    stats = LossStats()

    def run(phase: str) -> float:
        trained = g if phase.startswith("G") else d
        trained.requires_grad_(True)
        z = torch.randn([batch, g_cfg.z_dim], device=dev)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        start = time.perf_counter()
        loss.accumulate(phase, g=g_step, d=d, real=real, real_c=c, gen_z=z, gen_c=c, gain=1.0,
                        stats=stats)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        elapsed = time.perf_counter() - start
        trained.requires_grad_(False)
        for p in trained.parameters():
            p.grad = None
        return elapsed

    times = {}
    for phase in ("Gmain", "Greg", "Dmain", "Dreg"):
        run(phase)  # warm-up: allocator, oneDNN kernel selection
        times[phase] = statistics.median(run(phase) for _ in range(repeats))
    opt = config.optim
    per_iteration = (times["Gmain"] + times["Dmain"] + times["Greg"] / opt.g_reg_interval
                     + times["Dreg"] / opt.d_reg_interval)
    return {"config": preset, "device": device, "resolution": g_cfg.img_resolution, "batch": batch,
            "ada_p": ada_p,
            **{f"{k}_s": v for k, v in times.items()},
            "s_per_kimg": per_iteration / batch * 1000, "reference": "measured"}


def reference_row() -> dict:
    low, high = NVLABS_V100_256_SEC_PER_KIMG
    return {"config": "NVlabs 256", "device": "V100", "resolution": 256, "batch": 16,
            "s_per_kimg": (low + high) / 2,
            "reference": f"published: {low}-{high} s/kimg (NVlabs README, cfg auto)"}


def rows(*, presets: tuple[str, ...] = ("cpu", "256"), batches: dict[str, int] | None = None,
         device: str = "cpu", repeats: int = 2) -> list[dict]:
    """Measured rows for ``presets`` plus NVlabs' published V100 figure."""
    batches = batches or {}
    measured = [measure(p, batch=batches.get(p), device=device, repeats=repeats, ada_p=ada_p)
                for p in presets for ada_p in ((0.0, 0.5) if p == "cpu" else (0.5,))]
    return measured + [reference_row()]


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    options.add_argument("--batch-256", type=int, default=8,
                         help="batch for the 256 config (64 in training; smaller keeps a CPU run "
                              "short)")
    options.add_argument("--repeats", type=int, default=2)
    options.add_argument("--presets", nargs="+", default=["cpu", "256"], choices=("cpu", "256"),
                         help="configs to time (the 256 config takes minutes on a CPU)")
    args = options.parse_args()
    batches = {"256": args.batch_256} if args.device == "cpu" else {}
    result = rows(presets=tuple(args.presets), batches=batches, device=args.device,
                  repeats=args.repeats)
    report("train: seconds per thousand images", COLUMNS, result, json_path=args.json,
           console=Console(width=160),
           extra={"note": "amortised over the lazy-regularisation schedule; ADA at ada_p; "
                          "data loading excluded"})


if __name__ == "__main__":
    main()
