"""The StyleGAN2-ADA training loop (one process per GPU under torchrun, or one process on a CPU).

Each iteration runs the phases Gmain, Greg (every ``g_reg_interval``), Dmain and Dreg (every
``d_reg_interval``), each followed by its optimiser step, then updates G_ema, counts images and
adjusts ADA's p. Every tick it reports; every ``snap`` ticks it writes a generator checkpoint
(G_ema, what `gansmania generate` loads), a resumable training state, a sample grid and
TensorBoard scalars, and FID/KID when a feature network is given. On SIGTERM (a spot instance
being reclaimed) it finishes the iteration it is in, writes a resumable state there and exits 143;
`--resume auto` then continues to the same weights as a run that was never stopped.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training import run_state
from training.augment import PIPELINES, AdaController, AugmentPipe
from training.dataset import ImageDataset, InfiniteSampler
from training.discriminator import Discriminator
from training.loss import BLURRED_SCORES, GeneratorStep, LossSettings, LossStats, StyleGAN2Loss
from training.networks import Generator
from training.preemption import Interrupted, StopOnSignal, ignore_stop_signals
from training.snapshots import (grid_latents, latest_state, save_grid, save_network, sample_grid,
                                load_transfer)
from training.train_config import TrainConfig, check, with_generator
from visualizer.core.measure import machine_info
from visualizer.core.config import to_dict, write_resolved
from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

SIGNS = "Loss/signs/real"  # mean sign(D(real)): ADA's overfitting measure
LINEAGE = "lineage.json"  # the transfer chain this run grows from (training/snapshots.py _lineage)


# --------------------------------------------------------------------------- distribution

@dataclass(frozen=True)
class Dist:
    """This process's place in a torchrun job (rank 0 of 1 when run directly)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_kind: str) -> Dist:
    """Join the torchrun job named by the environment (gloo on CPU, nccl on CUDA), if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    dist = Dist(rank=int(os.environ["RANK"]), world=world,
                local_rank=int(os.environ.get("LOCAL_RANK", "0")))
    if not torch.distributed.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        torch.distributed.init_process_group(backend=backend)
    return dist


def pick_device(setting: str, dist: Dist) -> torch.device:
    if setting == "cuda" or (setting == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise GansmaniaError("runtime.device = \"cuda\" but no CUDA device is available; "
                                 "allowed here: cpu, auto")
        torch.cuda.set_device(dist.local_rank)
        return torch.device("cuda", dist.local_rank)
    return torch.device("cpu")


def _all_sum(values: list[float], dist: Dist, device: torch.device) -> list[float]:
    if dist.world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    torch.distributed.all_reduce(t)
    return t.tolist()


# ------------------------------------------------------------------------------- helpers

def _set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


def _adam(params, *, lr: float, beta1: float, beta2: float, reg_interval: int) -> torch.optim.Adam:
    # Lazy regularisation takes every reg_interval-th step twice; scale lr and betas so the
    # optimiser's time constants stay those of one step per minibatch (NVlabs' mb_ratio).
    ratio = reg_interval / (reg_interval + 1)
    return torch.optim.Adam(params, lr=lr * ratio, betas=(beta1 ** ratio, beta2 ** ratio), eps=1e-8)


@torch.no_grad()
def update_ema(g_ema: nn.Module, g: nn.Module, *, beta: float) -> None:
    for p_ema, p in zip(g_ema.parameters(), g.parameters()):
        p_ema.copy_(p.detach().lerp(p_ema, beta))
    for b_ema, b in zip(g_ema.buffers(), g.buffers()):
        b_ema.copy_(b)


def ema_beta(config: TrainConfig, cur_nimg: int) -> float:
    ema_nimg = config.ema.kimg * 1000
    if config.ema.rampup is not None:
        ema_nimg = min(ema_nimg, cur_nimg * config.ema.rampup)
    return 0.5 ** (config.schedule.batch / max(ema_nimg, 1e-8))


def _rng_state(device: torch.device) -> torch.Tensor:
    state = torch.get_rng_state()
    if device.type == "cuda":
        state = torch.cat([state, torch.cuda.get_rng_state(device)])
    return state


def _set_rng_state(state: torch.Tensor, device: torch.device) -> None:
    cpu_len = torch.get_rng_state().numel()
    torch.set_rng_state(state[:cpu_len].clone())
    if device.type == "cuda" and state.numel() > cpu_len:
        torch.cuda.set_rng_state(state[cpu_len:].clone(), device)


class Progress:
    """A live bar on a terminal (rich), and one log line per tick everywhere (nohup logs too)."""

    def __init__(self, *, total_kimg: float, start_kimg: float, enabled: bool) -> None:
        self._bar = None
        if enabled and sys.stderr.isatty():
            from rich.progress import (BarColumn, Progress as RichProgress, TextColumn,
                                       TimeRemainingColumn)
            self._bar = RichProgress(TextColumn("kimg {task.completed:.3f}/{task.total:g}"), BarColumn(),
                                     TextColumn("{task.fields[speed]}"), TimeRemainingColumn(),
                                     transient=True)
            self._task = self._bar.add_task("train", total=total_kimg, completed=start_kimg, speed="")
            self._bar.start()

    def update(self, kimg: float, sec_per_kimg: float | None) -> None:
        if self._bar is not None:
            speed = f"{sec_per_kimg:.1f} s/kimg" if sec_per_kimg else ""
            self._bar.update(self._task, completed=kimg, speed=speed)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


# ---------------------------------------------------------------------------------- train

@dataclass(frozen=True)
class TickReport:
    """What one tick did (given to ``on_tick`` on the main process)."""

    tick: int
    kimg: float  # thousand images shown so far
    sec_per_kimg: float  # this tick's speed (s per thousand images)
    augment_p: float
    losses: dict[str, float]  # mean of each logged statistic over the tick


def train(config: TrainConfig, *, on_tick: Callable[[TickReport], None] | None = None) -> Path:
    """Run (or resume) training as ``config`` says; return the run folder."""
    with distributed(config) as dist:
        try:
            run_dir = _train(config, dist, on_tick)
        except Interrupted:
            _wait_for_main(dist)
            raise
        _wait_for_main(dist)
        return run_dir


@contextmanager
def distributed(config: TrainConfig) -> Iterator[Dist]:
    """This process's place in the torchrun job, if any, for the duration. A group joined here
    is left at the end; one joined before stays: a lineage keeps one over all its stages (its
    processes once hung at the start of a second stage when each stage left and joined again)."""
    probe = "cuda" if config.runtime.device == "cuda" or (
        config.runtime.device == "auto" and torch.cuda.is_available()) else "cpu"
    joined_before = torch.distributed.is_available() and torch.distributed.is_initialized()
    dist = setup_distributed(probe)
    try:
        yield dist
    finally:
        if not joined_before and dist.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _wait_for_main(dist: Dist) -> None:
    if dist.world > 1:
        # Rank 0 still writes the last state after the final collective; a rank that tears
        # gloo down meanwhile aborts it ("terminate called without an active exception").
        torch.distributed.barrier()


@dataclass
class Nets:
    """What one training process holds: the networks, their optimisers and the trained-state
    tensors, plus the forms each phase calls (DDP-wrapped and/or compiled)."""

    g: Generator
    d: Discriminator
    g_ema: Generator
    g_opt: torch.optim.Optimizer
    d_opt: torch.optim.Optimizer
    augment: AugmentPipe | None
    ada: AdaController | None
    pl_mean: torch.Tensor  # running mean path length (scalar; each process has its own)
    g_step: GeneratorStep | None = None  # plain: the D phases' fakes
    g_train: nn.Module | None = None  # DDP-wrapped when distributed: Greg
    d_train: nn.Module | None = None  # DDP-wrapped when distributed: Dreg
    g_main: nn.Module | None = None  # + torch.compile when asked: Gmain
    d_main: nn.Module | None = None  # + torch.compile when asked: Dmain


def _train(config: TrainConfig, dist: Dist, on_tick: Callable[[TickReport], None] | None) -> Path:
    check(config, world=dist.world)
    device = pick_device(config.runtime.device, dist)
    if config.runtime.threads:
        torch.set_num_threads(config.runtime.threads)
    run_dir = Path(config.out)
    sched = config.schedule
    batch_gpu = sched.batch // dist.world

    # Resume or transfer decide the generator architecture before anything is built.
    resume_from = _resume_path(config, run_dir)
    loaded = run_state.load_state(resume_from) if resume_from else None
    _check_same_start(loaded, run_dir, dist, device)
    transfer = None
    if loaded is not None:
        config = _config_of_state(config, loaded)
    elif config.transfer is not None:
        transfer = load_transfer(config.transfer, resolution=config.transfer_resolution,
                                 top=config.transfer_top)
        config = with_generator(config, transfer.config)
    if config.ema.rampup is not None and (transfer is not None or (run_dir / LINEAGE).is_file()):
        config = _without_ema_rampup(config)

    dataset = ImageDataset(config.data.path, resolution=config.generator.img_resolution,
                           xflip=config.data.mirror, use_labels=config.data.labels)
    if dataset.c_dim != config.generator.c_dim:
        config = dataclasses.replace(config, generator=config.generator.replace(c_dim=dataset.c_dim))
    if dist.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_resolved(config, run_dir)
        if transfer is not None:  # kept beside the run: the source may be gone when it resumes
            (run_dir / LINEAGE).write_text(json.dumps(transfer.lineage, indent=1), encoding="utf-8")
        log.info("training %s on %s (%d images%s) -> %s", config.preset, config.data.path,
                 len(dataset.names), ", mirrored" if config.data.mirror else "", run_dir)

    torch.manual_seed(sched.seed * dist.world + dist.rank)
    nets = _build(config, dataset, device, transfer)
    counters = run_state.Counters()
    if loaded is not None:
        counters = _restore(loaded, nets, dist, device)
        if dist.main:
            log.info("resumed from %s at %.3f kimg (tick %d)", resume_from,
                     counters.cur_nimg / 1000, counters.cur_tick)
    _wrap(nets, config, dist, device, fresh=loaded is None)
    loss = StyleGAN2Loss(settings=LossSettings(r1_gamma=config.loss.r1_gamma,
                                               pl_weight=config.loss.pl_weight,
                                               blurred_reals=config.loss.blurred_reals),
                         augment=nets.augment, pl_mean=nets.pl_mean)
    batches = iter(_loader(config, dataset, dist, device, counters))

    writer = None
    grid_z = grid_c = None
    if dist.main:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run_dir))
        grid_z, grid_c = grid_latents(config.generator, dataset, device=device)
        if loaded is None:
            save_grid(run_dir / "reals.png", _real_grid(dataset, len(grid_z)))

    phases = _phases(config)
    stats = LossStats()
    total_nimg = int(round(sched.kimg * 1000))
    tick_nimg = max(int(round(sched.tick_kimg * 1000)), 1)
    # A state written on SIGTERM mid-tick resumes that tick, so ticks and snapshots fall where an
    # unstopped run has them; its speed is timed over this session's images only.
    tick_start_nimg = counters.cur_nimg - counters.tick_nimg
    timed_start_nimg = counters.cur_nimg
    tick_start_time = session_start = time.monotonic()
    wall_before, cpu_before, session_cpu = counters.wall_s, counters.cpu_s, time.process_time()
    progress = Progress(total_kimg=sched.kimg, start_kimg=counters.cur_nimg / 1000, enabled=dist.main)
    if counters.cur_nimg >= total_nimg and dist.main:
        log.info("nothing to do: %.3f kimg already reached (--kimg %g)", counters.cur_nimg / 1000, sched.kimg)
    c_labels = torch.from_numpy(dataset.labels).to(device)

    stop = StopOnSignal().install()
    try:
        while counters.cur_nimg < total_nimg:
            if stop.agreed(world=dist.world, device=device):
                counters = dataclasses.replace(
                    counters, tick_nimg=counters.cur_nimg - tick_start_nimg,
                    wall_s=wall_before + time.monotonic() - session_start,
                    cpu_s=cpu_before + time.process_time() - session_cpu)
                path = _save_state(config, run_dir, dist, device, counters=counters, nets=nets,
                                   dataset=dataset)
                raise Interrupted(f"stopped by {stop.signal_name or 'a signal on another process'} "
                                  f"at {counters.cur_nimg / 1000:.3f} kimg; resumable state "
                                  f"{path}")
            real, real_c = next(batches)
            real = real.to(device, non_blocking=True).to(torch.float32) / 127.5 - 1
            all_z = torch.randn([len(phases), batch_gpu, config.generator.z_dim], device=device)
            if dataset.c_dim:
                all_c = c_labels[torch.randint(len(c_labels), [len(phases), batch_gpu], device=device)]
            else:
                all_c = torch.zeros([len(phases), batch_gpu, 0], device=device)
            signs_before = (stats.sums.get(SIGNS, 0.0), stats.counts.get(SIGNS, 0))
            _run_phases(phases, nets, loss, stats, batch_idx=counters.batch_idx, real=real,
                        real_c=real_c.to(device), all_z=all_z, all_c=all_c)
            update_ema(nets.g_ema, nets.g, beta=ema_beta(config, counters.cur_nimg))
            counters = dataclasses.replace(counters, cur_nimg=counters.cur_nimg + sched.batch,
                                           batch_idx=counters.batch_idx + 1)
            signs = (stats.sums.get(SIGNS, 0.0) - signs_before[0],
                     stats.counts.get(SIGNS, 0) - signs_before[1])
            counters = _adjust_ada(counters, signs, nets.ada, nets.augment, dist, device,
                                   batch=sched.batch)

            if dist.main:
                done_nimg = counters.cur_nimg - timed_start_nimg
                progress.update(counters.cur_nimg / 1000,
                                (time.monotonic() - tick_start_time) / done_nimg * 1000)
            done = counters.cur_nimg >= total_nimg
            if not done and counters.cur_nimg < tick_start_nimg + tick_nimg:
                continue

            # ---- end of tick: report, and every `snap` ticks a snapshot
            tick_time = time.monotonic() - tick_start_time
            kimg_done = (counters.cur_nimg - timed_start_nimg) / 1000
            counters = dataclasses.replace(
                counters, cur_tick=counters.cur_tick + 1,
                wall_s=wall_before + time.monotonic() - session_start,
                cpu_s=cpu_before + time.process_time() - session_cpu, tick_nimg=0)
            if dist.main:
                report = _report_tick(writer, stats, counters, nets.augment, tick_time=tick_time,
                                      kimg_done=kimg_done, total_nimg=total_nimg)
                if on_tick is not None:
                    on_tick(report)
            stats.reset()
            if done or counters.cur_tick % sched.snap == 0:
                _snapshot(config, run_dir, dist, device, counters=counters, nets=nets,
                          grid_z=grid_z, grid_c=grid_c, dataset=dataset, writer=writer)
            tick_start_nimg = timed_start_nimg = counters.cur_nimg
            tick_start_time = time.monotonic()
    finally:
        stop.uninstall()
        progress.close()
        if writer is not None:
            writer.close()
        # Shut the image workers down now: they ignore SIGTERM (ignore_stop_signals), so if an
        # error's traceback kept the loader alive until exit, multiprocessing's exit handler would
        # wait for them forever and a crashed run would never end.
        del batches
    return run_dir


def training_layout(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` in the memory layout training runs it in on ``device``.

    On the CPU, channels-last: oneDNN then convolves NHWC tensors without reordering them on
    every call, and a cpu-config step at 256 px (batch 16, 2 threads) takes about 30% less
    (README "Training a model"). The activations follow the weights' layout; checkpoints store
    contiguous copies. GPUs keep the contiguous layout, which is what has been measured there.
    """
    return module.to(memory_format=torch.channels_last) if device.type == "cpu" else module


def _build(config: TrainConfig, dataset: ImageDataset, device: torch.device, transfer) -> Nets:
    """Fresh networks (G then D: the order fixes which random numbers each gets), optimisers."""
    g = Generator(config.generator).train().requires_grad_(False).to(device)
    d = Discriminator(config.discriminator, img_resolution=config.generator.img_resolution,
                      img_channels=config.generator.img_channels, c_dim=dataset.c_dim
                      ).train().requires_grad_(False).to(device)
    if transfer is not None:
        transfer.apply(g, d)
    g, d = training_layout(g, device), training_layout(d, device)
    augment = ada = None
    if config.augment.mode != "none":
        augment = AugmentPipe(PIPELINES[config.augment.pipeline]).train().to(device)
        augment.p.fill_(config.augment.p)
        if config.augment.mode == "ada":
            ada = AdaController(target=config.augment.target, interval=config.augment.interval,
                                speed_kimg=config.augment.speed_kimg)
    opt = config.optim
    return Nets(g=g, d=d, g_ema=copy.deepcopy(g).eval(),
                g_opt=_adam(g.parameters(), lr=opt.g_lr, beta1=opt.beta1, beta2=opt.beta2,
                            reg_interval=opt.g_reg_interval),
                d_opt=_adam(d.parameters(), lr=opt.d_lr, beta1=opt.beta1, beta2=opt.beta2,
                            reg_interval=opt.d_reg_interval),
                augment=augment, ada=ada, pl_mean=torch.zeros([], device=device))


def _restore(loaded: run_state.LoadedState, nets: Nets, dist: Dist,
             device: torch.device) -> run_state.Counters:
    """Load a training state into ``nets`` (weights, moments, p, RNG); return its counters."""
    loaded.restore(modules={"G": nets.g, "D": nets.d, "G_ema": nets.g_ema},
                   optimizers={"G": nets.g_opt, "D": nets.d_opt})
    if nets.augment is not None and loaded.extra("augment_p") is not None:
        nets.augment.p.copy_(loaded.extra("augment_p"))
    rng = loaded.extra("rng")
    saved_world = len(rng) if rng.ndim == 2 else 1
    if saved_world != dist.world and dist.main:
        log.warning("the state was written by %d processes and this run has %d: it goes on from "
                    "there, but not bit-identically to an unstopped run", saved_world, dist.world)
    nets.pl_mean.copy_(_this_rank(loaded.extra("pl_mean"), dist, ndim=0))
    _set_rng_state(_this_rank(rng, dist, ndim=1), device)
    return loaded.counters


def _this_rank(saved: torch.Tensor, dist: Dist, *, ndim: int) -> torch.Tensor:
    """This process's value of a per-process quantity: its row of the [world, ...] tensor a
    multi-process run saves, or the one value (``ndim`` dimensions) a single process saved."""
    if saved.ndim == ndim:
        return saved
    return saved[dist.rank % len(saved)]


def _gather(value: torch.Tensor, dist: Dist, device: torch.device) -> torch.Tensor:
    """Every process's ``value`` stacked [world, ...] on the CPU (a collective)."""
    if dist.world == 1:
        return value
    gathered = [torch.empty_like(value, device=device) for _ in range(dist.world)]
    torch.distributed.all_gather(gathered, value.to(device))
    return torch.stack([t.cpu() for t in gathered])


def _wrap(nets: Nets, config: TrainConfig, dist: Dist, device: torch.device, *, fresh: bool) -> None:
    """Set the forms each phase calls: DDP over several processes, torch.compile if asked."""
    # amp off (or a CPU): every block in fp32, whatever num_fp16_res says.
    force_fp32 = not (config.runtime.amp and device.type == "cuda")
    nets.d.force_fp32 = force_fp32
    nets.g_step = GeneratorStep(nets.g, style_mixing=config.loss.style_mixing, force_fp32=force_fp32)
    nets.g_train, nets.d_train = nets.g_step, nets.d
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if device.type == "cuda" else None
        _set_requires_grad(nets.g, True)
        _set_requires_grad(nets.d, True)
        # Buffers (w_avg, filters) are not re-broadcast every forward: rank 0's are the ones saved.
        sync = ({"forward_sync_buffers": False}
                if "forward_sync_buffers" in inspect.signature(DDP).parameters
                else {"broadcast_buffers": False})
        # The equalised-lr dense weights [1, N] get grads with degenerate strides; harmless.
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
        nets.g_train = DDP(nets.g_step, device_ids=ids, **sync)
        nets.d_train = DDP(nets.d, device_ids=ids, **sync)
        _set_requires_grad(nets.g, False)
        _set_requires_grad(nets.d, False)
        if fresh:  # DDP copied rank 0's weights into G and D: start G_ema from them too
            nets.g_ema.load_state_dict(nets.g.state_dict())
    nets.g_main, nets.d_main = nets.g_train, nets.d_train
    if config.runtime.compile:
        # Inductor cannot differentiate twice: the R1 and path-length phases stay eager.
        nets.g_main, nets.d_main = torch.compile(nets.g_train), torch.compile(nets.d_train)


def _loader(config: TrainConfig, dataset: ImageDataset, dist: Dist, device: torch.device,
            counters: run_state.Counters) -> torch.utils.data.DataLoader:
    """Batches of this process's share of the seeded image stream, from where the run stands."""
    sched = config.schedule
    batch_gpu = sched.batch // dist.world
    workers = config.data.workers if config.data.workers >= 0 else (3 if device.type == "cuda" else 0)
    sampler = InfiniteSampler(len(dataset), seed=sched.seed, rank=dist.rank, world=dist.world,
                              start=(counters.cur_nimg // sched.batch) * batch_gpu)
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_gpu, sampler=sampler, num_workers=workers,
        pin_memory=device.type == "cuda", prefetch_factor=2 if workers else None,
        persistent_workers=workers > 0, worker_init_fn=ignore_stop_signals,
        generator=torch.Generator().manual_seed(sched.seed))  # keeps the global RNG untouched


def _phases(config: TrainConfig) -> list[tuple[str, int, str]]:
    """(phase, every N iterations, trained network); regularisers with weight 0 are left out."""
    opt = config.optim
    phases = [("Gmain", 1, "G"), ("Greg", opt.g_reg_interval, "G"),
              ("Dmain", 1, "D"), ("Dreg", opt.d_reg_interval, "D")]
    if config.loss.pl_weight == 0:
        phases = [p for p in phases if p[0] != "Greg"]
    if config.loss.r1_gamma == 0:
        phases = [p for p in phases if p[0] != "Dreg"]
    return phases


def _run_phases(phases, nets: Nets, loss: StyleGAN2Loss, stats: LossStats, *, batch_idx: int,
                real: torch.Tensor, real_c: torch.Tensor, all_z: torch.Tensor,
                all_c: torch.Tensor) -> None:
    """One iteration: each due phase accumulates its gradients, then its optimiser steps."""
    for (phase, interval, net), gen_z, gen_c in zip(phases, all_z, all_c):
        if batch_idx % interval:
            continue
        trained, optimizer = (nets.g, nets.g_opt) if net == "G" else (nets.d, nets.d_opt)
        _set_requires_grad(trained, True)
        optimizer.zero_grad(set_to_none=True)
        main_phase = phase.endswith("main")
        if net == "G":
            g_use, d_use = (nets.g_main if main_phase else nets.g_train), nets.d
        else:
            g_use, d_use = nets.g_step, (nets.d_main if main_phase else nets.d_train)
        loss.accumulate(phase, g=g_use, d=d_use, real=real, real_c=real_c, gen_z=gen_z,
                        gen_c=gen_c, gain=float(interval), stats=stats)
        for p in trained.parameters():
            if p.grad is not None:
                torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
        optimizer.step()
        _set_requires_grad(trained, False)


def _resume_path(config: TrainConfig, run_dir: Path) -> Path | None:
    if config.resume == "auto":
        found = latest_state(run_dir)
        if found is None:
            log.info("--resume auto: no training state in %s yet; starting a new run", run_dir)
        return found
    if config.resume:
        return Path(config.resume)
    if run_state.list_states(run_dir):
        raise GansmaniaError(f"{run_dir}: already holds a training run; continue it with "
                             "--resume auto or choose another --out")
    return None


def _check_same_start(loaded: run_state.LoadedState | None, run_dir: Path, dist: Dist,
                      device: torch.device) -> None:
    """Every process must resume from the same state. With --out on a disk of each node's own,
    the nodes of a multi-node run would each find their own newest state (or none) and train on
    from different places without noticing."""
    if dist.world == 1:
        return
    nimg = loaded.counters.cur_nimg if loaded is not None else -1
    extremes = torch.tensor([nimg, -nimg], dtype=torch.int64, device=device)
    torch.distributed.all_reduce(extremes, op=torch.distributed.ReduceOp.MAX)
    highest, lowest = int(extremes[0]), -int(extremes[1])
    if highest != lowest:
        raise GansmaniaError(
            f"{run_dir}: the processes found different training states to start from "
            f"(this one: {'none' if nimg < 0 else f'{nimg} images'}); put --out on storage every "
            "node shares (NFS, a cloud file system) so --resume auto finds the same one")


def _without_ema_rampup(config: TrainConfig) -> TrainConfig:
    """A run that starts from a trained checkpoint averages G over the full half-life from its
    first step, as NVlabs' train.py does on --resume. The ramp-up shortens the average while a
    from-scratch G is noise; counted from a transfer's first image it cut the cpu recipe's 5 kimg
    to 0.3 kimg at 6 kimg, so each snapshot of a grown stage was nearly the raw G of its step."""
    log.info("EMA ramp-up off: G starts from a trained checkpoint (half-life %g kimg from the "
             "first step)", config.ema.kimg)
    return dataclasses.replace(config, ema=dataclasses.replace(config.ema, rampup=None))


def _config_of_state(config: TrainConfig, loaded: run_state.LoadedState) -> TrainConfig:
    """The architectures must be the state's; schedule, loss etc. may change on resume."""
    from training.configs import GeneratorConfig
    from training.discriminator import DiscriminatorConfig
    from visualizer.core.config import from_dict

    g = GeneratorConfig.from_dict(loaded.meta["generator"], origin="training state")
    d = from_dict(DiscriminatorConfig, loaded.meta["discriminator"], origin="training state")
    return dataclasses.replace(config, generator=g, discriminator=d)


def _adjust_ada(counters, signs: tuple[float, int], ada, augment, dist, device, *, batch):
    """Add this iteration's (sum, count) of sign(D(real)); every ``interval`` steps move p."""
    if ada is None:
        return counters
    sign_sum, count = counters.ada_sign_sum + signs[0], counters.ada_sign_count + signs[1]
    if counters.batch_idx % ada.interval:
        return dataclasses.replace(counters, ada_sign_sum=sign_sum, ada_sign_count=count)
    sign_sum, count = _all_sum([sign_sum, float(count)], dist, device)
    augment.p.fill_(ada.adjust(float(augment.p), sign_sum=sign_sum, count=int(count), batch=batch))
    return dataclasses.replace(counters, ada_sign_sum=0.0, ada_sign_count=0)


def _report_tick(writer, stats: LossStats, counters, augment, *, tick_time: float,
                 kimg_done: float, total_nimg: int) -> TickReport:
    kimg = counters.cur_nimg / 1000
    sec_per_kimg = tick_time / kimg_done if kimg_done else float("nan")
    remaining = max(total_nimg - counters.cur_nimg, 0) / 1000 * sec_per_kimg
    p = float(augment.p) if augment is not None else 0.0
    log.info("tick %d  kimg %.3f  time %s  sec/kimg %.1f  ETA %s  G %.3f  D %.3f  sign(real) %.3f  p %.3f",
             counters.cur_tick, kimg, _hms(counters.wall_s), sec_per_kimg, _hms(remaining),
             stats.mean("Loss/G/loss"), stats.mean("Loss/D/loss"),
             stats.mean(SIGNS), p)
    if stats.counts.get(BLURRED_SCORES):
        log.info("D logits: real %.3f  blurred real %.3f  fake %.3f", stats.mean("Loss/scores/real"),
                 stats.mean(BLURRED_SCORES), stats.mean("Loss/scores/fake"))
    report = TickReport(tick=counters.cur_tick, kimg=kimg, sec_per_kimg=sec_per_kimg, augment_p=p,
                        losses={name: stats.mean(name) for name in stats.sums})
    if writer is None:
        return report
    step = counters.cur_nimg
    for name in ("Loss/G/loss", "Loss/D/loss", "Loss/scores/real", "Loss/scores/fake", BLURRED_SCORES,
                 "Loss/r1_penalty", "Loss/pl_penalty", SIGNS):
        if stats.counts.get(name):
            writer.add_scalar(name, stats.mean(name), step)
    writer.add_scalar("Progress/augment_p", p, step)
    writer.add_scalar("Progress/kimg", kimg, step)
    writer.add_scalar("Timing/sec_per_kimg", sec_per_kimg, step)
    writer.add_scalar("Timing/kimg_per_s", 1 / sec_per_kimg if sec_per_kimg else 0.0, step)
    writer.flush()
    return report


def _hms(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m{seconds % 60:02d}s"


def _snapshot(config, run_dir, dist, device, *, counters, nets: Nets, grid_z, grid_c, dataset,
              writer) -> None:
    state_path = _save_state(config, run_dir, dist, device, counters=counters, nets=nets,
                             dataset=dataset)
    if not dist.main:
        return
    network = save_network(run_dir / f"network-snapshot-{counters.cur_nimg // 1000:06d}-"
                           f"{counters.cur_tick:06d}.safetensors", g_ema=nets.g_ema, d=nets.d,
                           summary=_summary(config, counters, nets),
                           provenance=_provenance(config, dataset))
    grid = sample_grid(nets.g_ema, grid_z, grid_c)
    save_grid(run_dir / f"fakes-{counters.cur_nimg // 1000:06d}-{counters.cur_tick:06d}.png", grid)
    if config.metrics.weights is not None or config.metrics.art:
        _metrics(config, run_dir, device, counters=counters, g_ema=nets.g_ema, dataset=dataset,
                 writer=writer)
    log.info("snapshot: %s, %s", network.name, state_path.name)


def _save_state(config, run_dir, dist, device, *, counters, nets: Nets, dataset) -> Path:
    """Write the resumable state (a collective); drop the oldest. Each process keeps its own RNG
    and path-length mean (from its own share of the batch): all of them go in, so every process
    resumes exactly."""
    rng = _gather(_rng_state(device), dist, device)
    pl_mean = _gather(nets.pl_mean, dist, device)
    path = run_dir / run_state.state_name(counters)
    if not dist.main:
        return path
    extra = {"pl_mean": pl_mean, "rng": rng}
    if nets.augment is not None:
        extra["augment_p"] = nets.augment.p
    meta = {"generator": to_dict(config.generator), "discriminator": to_dict(config.discriminator),
            "preset": config.preset, "data": str(config.data.path)}
    run_state.save_state(
        path, modules={"G": nets.g, "D": nets.d, "G_ema": nets.g_ema},
        optimizers={"G": nets.g_opt, "D": nets.d_opt}, extra=extra, counters=counters, meta=meta,
        training=_summary(config, counters, nets), provenance=_provenance(config, dataset))
    for old in run_state.list_states(run_dir)[:-config.schedule.keep_states]:
        old.unlink()
    return path


def _summary(config, counters, nets: Nets) -> dict:
    return {"kimg": round(counters.cur_nimg / 1000, 3), "tick": counters.cur_tick,
            "wall_s": round(counters.wall_s, 1), "cpu_s": round(counters.cpu_s, 1),
            "preset": config.preset,
            "augment_p": float(nets.augment.p) if nets.augment is not None else 0.0}


def _provenance(config, dataset: ImageDataset) -> dict:
    provenance = {"source": "gansmania train", "dataset": str(config.data.path),
                  "dataset_images": len(dataset.names), "machine": machine_info()}
    if dataset.recipe is not None:
        provenance["dataset_recipe"] = dataset.recipe
    lineage = Path(config.out) / LINEAGE
    if lineage.is_file():
        provenance["lineage"] = json.loads(lineage.read_text(encoding="utf-8"))
    return provenance


def _metrics(config, run_dir: Path, device, *, counters, g_ema, dataset, writer) -> None:
    """FID/KID of this snapshot, logged, in TensorBoard and appended to RUN/metrics.jsonl (the
    KID-over-training curve, with the kimg and the wall and CPU time it took to get here)."""
    from training.metrics import compute_fid_kid, load_feature_net

    if config.metrics.art:
        from training.art_features import art_features

        net, extractor = art_features, "art"
    else:
        net = load_feature_net(config.metrics.weights, device=device)
        extractor = str(config.metrics.weights)
    result = compute_fid_kid(net, g_ema, dataset, images=config.metrics.images, device=device,
                             cache_dir=run_dir, cache_key=extractor)
    log.info("metrics at %.3f kimg: FID %.3f  KID %.5f (%s)", counters.cur_nimg / 1000,
             result.fid, result.kid, extractor)
    line = {"kimg": round(counters.cur_nimg / 1000, 3), "tick": counters.cur_tick,
            "wall_s": round(counters.wall_s, 1), "cpu_s": round(counters.cpu_s, 1),
            "extractor": extractor, "images": result.fake_images, "fid": result.fid,
            "kid": result.kid}
    readings = {}
    if config.metrics.art:  # what the samples look like: whether edges sharpen over training
        from training.art_features import picture_readings

        readings = dataclasses.asdict(picture_readings(result.fake_features))
        line["readings"] = readings
        log.info("samples at %.3f kimg: sharp edges %.2f%%  soft edges %.2f%%  colourful %.1f  "
                 "flat %.0f%%", counters.cur_nimg / 1000, 100 * readings["sharp_edges"],
                 100 * readings["soft_edges"], readings["colourfulness"], 100 * readings["flat"])
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as file:
        file.write(json.dumps(line) + "\n")
    if writer is not None:
        writer.add_scalar("Metrics/fid", result.fid, counters.cur_nimg)
        writer.add_scalar("Metrics/kid", result.kid, counters.cur_nimg)
        for name, value in readings.items():
            writer.add_scalar(f"Samples/{name}", value, counters.cur_nimg)


def _real_grid(dataset: ImageDataset, count: int) -> np.ndarray:
    """The first ``count`` dataset images as uint8 [count, C, R, R] (fixed, for comparison)."""
    step = max(len(dataset.names) // count, 1)
    return np.stack([dataset[(i * step) % len(dataset.names)][0].numpy() for i in range(count)])
