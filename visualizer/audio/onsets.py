"""Onset detectors: which hop an attack (a drum hit, a note) starts in, as early as possible.

Three detectors share one interface (`ONSET_DETECTORS`):

- ``multiband`` (default): the fast-attack log-band flux split into low / mid / high bands
  (`spectral.HIT_BANDS_HZ`), each with its own adaptive threshold and minimum interval, so a
  hat between two kicks is judged against the highs' recent past, not against the kick, and a
  slow swell, whose rise per sub-hop is small against any band's own history, stays quiet.
  Fires on the first crossing, like ``flux``; also says which bands hit (`hits`). A slow path
  (`SlowOnsetPath`, aubio's HFC on a longer window) adds the soft hits under a ringing cymbal
  that the fast bands cannot see, 4-6 hops late with their time dated back; it sets no band.
  A lone impulse in the high band (a click, a crackle, a glitch in a synth: `ImpulseTest`)
  is no attack, nor are two or so of a bright tone's waveform edges (a saw-like pad's
  harmonics above 5 kHz are phase-locked: one impulse per pitch period and voice): neither
  the high band nor the slow path counts them.
- ``flux``: one adaptive threshold on the all-band flux (the detector before ``multiband``).
- ``aubio``: ``aubio.onset`` (HFC) run at a quarter hop, with threshold, silence gate, minimum
  inter-onset interval and delay set explicitly. Kept for comparison and as a fallback.

All take the same explicit `OnsetSettings` (threshold, silence gate, minimum interval).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

import math

import numpy as np

from visualizer.audio.spectral import HIT_BANDS_HZ, FixedHops, SampleWindow, fft_size_for


@dataclass(frozen=True)
class OnsetSettings:
    threshold: float = 3.0  # flux must exceed this many times its recent mean...
    delta: float = 0.1  # ...plus this floor (log-energy units), so steady noise never fires
    window_s: float = 0.08  # how far back "recent" reaches, seconds
    min_ioi_s: float = 0.04  # minimum inter-onset interval, seconds
    silence_db: float = -60.0  # no onset in a hop quieter than this, dBFS
    aubio_threshold: float = 0.3  # aubio's peak-picking threshold (aubio detector only)
    # multiband only, one value per HIT_BANDS_HZ band (low, mid, high); `threshold` scales
    # band_threshold by threshold / 3 so the one user setting still means "fewer onsets".
    # Fitted on the tuning half of bench/onset_eval.py only (coordinate descent on mean F with
    # a penalty for any category below plain aubio); the held-out half was only scored.
    band_threshold: tuple[float, float, float] = (12.0, 8.0, 3.0)  # x the band's recent mean...
    band_delta: tuple[float, float, float] = (1.0, 0.8, 0.3)  # ...plus this floor (log energy)
    band_window_s: float = 0.05  # time constant of each band's recent mean, seconds
    # A kick's low end swells for ~80 ms and a shaker's hiss for ~60: one hit each.
    band_min_ioi_s: tuple[float, float, float] = (0.08, 0.04, 0.06)  # per band, seconds
    # How much later than the mid and high bands each band crosses its threshold after the same
    # attack. The low band needs a longer stretch of a kick's or bass note's rise before its few
    # FFT bins and 60 ms reference show it: on the tuning half of bench.onset_eval it fires a
    # median 5 ms (upper quartile 11 ms) after the others. The one-onset-per-`min_ioi_s` merge
    # counts from each crossing less this, so a late low crossing joins the attack whose
    # high-band click fired first, and does not block the next hit. Onset times stay those of
    # the crossing: a click reaches every band at once.
    band_latency_s: tuple[float, float, float] = (0.01, 0.0, 0.0)  # per band, seconds
    # The slow path (`SlowOnsetPath`): aubio's HFC onsets on a 4x longer window, for soft hits
    # under a ringing cymbal that the fast flux cannot tell from the ring. 0 turns it off.
    # aubio's own default for HFC: closed hats under the crash that opens a section (so after
    # every tempo step) or under a snare's tail rise only 0.1-0.35 (log energy) in the fast
    # high band, below its floor, and at 0.3 aubio's peak picker passed only 0-5 of the 12-22
    # per tuning track that it finds at 0.058; the forward mask keeps the extra echoes out.
    slow_threshold: float = 0.058  # aubio's peak-picking threshold for it
    slow_mask_db: float = 10.0  # its hit must come within this of the high band's loudest...
    slow_memory_s: float = 0.3  # ...level over this long before it (a sample's echo does not)
    # ...leaving out the high band's level from this long before to this long after each low
    # band crossing: a kick's click, which a compressed master lets through before it ducks
    # the mix, so the hats after it sit 12-22 dB under it (`SlowOnsetPath`). 0 and 0: none.
    slow_kick_s: tuple[float, float] = (0.015, 0.02)
    # ...for a candidate this soon after the crossing: while the compressor still ducks the
    # mix (about three of a mastering compressor's 60 ms release time constants).
    slow_kick_duck_s: float = 0.2
    # A high-band crossing is one lone impulse (a click, a crackle, a glitch in a synth), not
    # a hit, when its samples above 5 kHz (over the fast window's newest taper, 128 samples at
    # 44.1/48 kHz) fall, right after their peak, more than this under the peak: a hat, shaker
    # or snare is a burst of noise there that goes on (a synthetic hiss burst: at most 10 dB in
    # 200 tries), a click is gone within 0.4 ms (the tuning half's sweep pad clicks, one-sample
    # jumps in FluidR3's rendering of it: median 18 dB). At 12 dB a low tom under speech,
    # whose stick is all it has above 5 kHz, went too. 0 turns the test off.
    impulse_drop_db: float = 15.0


class OnsetDetector(Protocol):
    delay_samples: float  # how long after the attack the detector fires, on average
    granularity: int  # samples between two evaluations (the detector's own hop)

    def step(self, *, block: np.ndarray, flux: np.ndarray, bands: np.ndarray,
             levels: np.ndarray, n_end: int, level_db: float) -> int | None:
        """One hop: ``block`` its samples (hop,), ``flux`` its sub-hop flux values (n_sub,),
        ``bands`` the same per HIT_BANDS_HZ band (n_sub, 3), ``levels`` each band's log
        energy (natural log of power, n_sub, 3), ``n_end`` the stream index after its last
        sample. Returns the onset's estimated sample index, or None."""

    def reset(self) -> None: ...


class FluxOnsetDetector:
    """First-crossing detector on the sub-hop flux (see the module docstring)."""

    def __init__(self, settings: OnsetSettings, *, sr: int, sub_hop: int,
                 delay_samples: float) -> None:
        self.settings = settings
        self.granularity = sub_hop
        self.delay_samples = delay_samples
        self._recent = np.zeros(max(2, round(settings.window_s * sr / sub_hop)), dtype=np.float64)
        self._recent_sum = 0.0
        self._count = 0
        self._min_ioi = settings.min_ioi_s * sr
        self._last_onset = -np.inf

    def step(self, *, block: np.ndarray, flux: np.ndarray, bands: np.ndarray,
             levels: np.ndarray, n_end: int, level_db: float) -> int | None:
        found = None
        gate = level_db > self.settings.silence_db
        n_sub = flux.shape[0]
        for i in range(n_sub):
            value = float(flux[i])
            size = self._recent.shape[0]
            mean = self._recent_sum / min(max(self._count, 1), size)
            threshold = self.settings.threshold * mean + self.settings.delta
            n = n_end - (n_sub - 1 - i) * self.granularity
            if (found is None and gate and value > threshold
                    and n - self._last_onset >= self._min_ioi):
                self._last_onset = n
                found = int(round(n - self.delay_samples))
            slot = self._count % size
            self._recent_sum += value - self._recent[slot]
            self._recent[slot] = value
            self._count += 1
        return found

    def reset(self) -> None:
        self._recent.fill(0.0)
        self._recent_sum = 0.0
        self._count = 0
        self._last_onset = -np.inf


class MultiBandOnsetDetector:
    """Per-band first-crossing detector (see the module docstring).

    ``hits`` (shape (3,), bool) says which bands fired in the last `step`; ``hit_n`` holds
    each band's latest onset sample index (-1 before the first).
    """

    def __init__(self, settings: OnsetSettings, *, sr: int, sub_hop: int,
                 delay_samples: float) -> None:
        self.settings = settings
        self.granularity = sub_hop
        self.delay_samples = delay_samples
        scale = settings.threshold / 3.0
        self._factor = np.asarray(settings.band_threshold, dtype=np.float64) * scale
        self._delta = np.asarray(settings.band_delta, dtype=np.float64)
        self._min_ioi = np.asarray(settings.band_min_ioi_s, dtype=np.float64) * sr
        self._merge = settings.min_ioi_s * sr
        self._latency = np.asarray(settings.band_latency_s, dtype=np.float64) * sr
        self._keep = float(np.exp(-sub_hop / (settings.band_window_s * sr)))
        self._mean = np.zeros(3, dtype=np.float64)
        self._armed = np.zeros(3, dtype=bool)
        self._last = np.zeros(3, dtype=np.float64)
        self.hits = np.zeros(3, dtype=bool)
        self.hit_n = np.zeros(3, dtype=np.int64)
        self._slow = (SlowOnsetPath(settings, sr=sr, sub_hop=sub_hop)
                      if settings.slow_threshold > 0 else None)
        self._impulse = (ImpulseTest(drop_db=settings.impulse_drop_db, sr=sr)
                         if settings.impulse_drop_db > 0 else None)
        self.reset()

    def step(self, *, block: np.ndarray, flux: np.ndarray, bands: np.ndarray,
             levels: np.ndarray, n_end: int, level_db: float) -> int | None:
        found = None
        self.hits.fill(False)
        gate = level_db > self.settings.silence_db
        n_sub = bands.shape[0]
        if self._impulse is not None:
            self._impulse.push(block)
        keep, factor, delta, mean = self._keep, self._factor, self._delta, self._mean
        for i in range(n_sub):
            n = n_end - (n_sub - 1 - i) * self.granularity
            if self._pending is not None:  # a high-band crossing waiting for its impulse test
                verdict = self._impulse.verdict(before_end=n_end - n)
                if verdict is not None or n - self._pending >= self._impulse.span:
                    if not verdict:
                        found = self._fire(2, self._pending, found)
                    else:
                        self._last_impulse = self._pending
                    self._pending = None
            for k in range(3):
                value = float(bands[i, k])
                above = value > factor[k] * mean[k] + delta[k]
                if (above and self._armed[k] and gate and not self.hits[k]
                        and n - self._last[k] >= self._min_ioi[k]):
                    # The high band's crossing counts only if it is no lone impulse; when its
                    # peak is too new to tell, it waits (a sub-hop, keeping its time).
                    verdict = (False if k != 2 or self._impulse is None
                               else self._impulse.verdict(before_end=n_end - n))
                    if verdict is None:
                        self._pending = n
                    elif not verdict:
                        found = self._fire(k, n, found)
                    else:
                        self._last_impulse = n
                # Re-arm only once the band has fallen back under its threshold: one attack,
                # however long its rise, fires once.
                self._armed[k] = not above
                mean[k] = keep * mean[k] + (1.0 - keep) * value
        if self._slow is not None:
            late = self._slow.step(block=block, high_levels=levels[:, 2], n_end=n_end,
                                   low_hit=int(self._last[0]) if self.hits[0] else None)
            # The slow path fires 4-6 hops after an attack: one the fast path found by then
            # (or a later one it found since) is not a second onset.
            if (found is None and late is not None and gate
                    and late - self._last_found >= self._merge
                    and abs(late - self._last_impulse) >= self._merge):
                found = late
                self._last_any = max(self._last_any, float(late))
            if found is not None:
                self._last_found = max(self._last_found, found)
        elif found is not None:
            self._last_found = found
        return found

    def _fire(self, k: int, n: float, found: int | None) -> int | None:
        """Band ``k`` hits at stream index ``n``; returns the step's onset (``found`` or this)."""
        self._last[k] = n
        self.hits[k] = True
        self.hit_n[k] = int(round(n - self.delay_samples))
        attack = n - self._latency[k]
        if found is None and attack - self._last_any >= self._merge:
            self._last_any = attack
            found = int(self.hit_n[k])
        return found

    def reset(self) -> None:
        self._pending: float | None = None
        self._last_impulse = -np.inf  # stream index of the last crossing judged an impulse
        self._mean.fill(0.0)
        self._armed.fill(True)
        self._last.fill(-np.inf)
        self._last_any = -np.inf
        self._last_found = -np.inf
        self.hits.fill(False)
        self.hit_n.fill(-1)
        if self._slow is not None:
            self._slow.reset()
        if self._impulse is not None:
            self._impulse.reset()


class ImpulseTest:
    """Whether the newest samples above the high band's edge (5 kHz) hold one lone impulse,
    or a few, with (next to) nothing between them.

    Keeps the newest samples; `verdict` high-passes the ``span`` (the fast window's newest
    taper) ending ``before_end`` samples before the newest one, after ``lead`` samples for the
    filter to settle, finds their peak and compares the power around it (2 samples before to
    ``ring`` after: the filter's own ringing) with the power of what follows; undecided when
    less than ``ring`` samples follow. Run only when the high band crosses its threshold, so
    it costs nothing per hop but one copy.

    A bright pad's (a saw wave's) partials above 5 kHz are in phase at each of its waveform's
    edges, once per pitch period (4-9 ms for the tuning half's sweep pad, whose voices give
    edges 140-260 samples apart at 44.1 kHz): there the band holds a train of impulses, and
    when a second edge falls in the span, what follows the peak is no longer quiet. So the
    span is also cut into frames of half the filter's ring (one impulse fills two) and, from
    the first frame within ``drop_db`` of the loudest on (the sound's start: what came before
    is the quiet a hit rises out of), the loudest quarter of them holding more than
    ``train_share`` of the energy is impulses too. A burst of hiss spreads its energy over
    its frames: the loudest quarter holds 0.41-0.43 at the median and at most 0.60 (hiss
    bursts decaying in 3, 10 and 30 ms, 100 each, in silence); on the tuning half of
    bench.onset_eval, at most 0.81 at a crossing within 50 ms of a hit (but for one more
    sweep pad edge pair, 42 ms before a hit the slow path then finds). Of that sweep pad's
    16 false high-band onsets that the lone-impulse test let through it takes 4 (and 2 of the
    slow path's 5, dropped beside them); three edges or more in a span (a chord's voices,
    the pad's filter wide open) spread their energy like hiss and still pass.

    Neither holds in a clipped master (`clipped`): where a distorted mix's waveform sits on its
    ceiling, the clipper's slope is near zero and a hat's or snare's hiss riding on the kick or
    bass passes only where the waveform leaves the ceiling, so the band holds a burst or two
    with quiet between them, and a hit looks like impulses. A span whose broadband samples lie
    within ``ceiling_ratio`` of the loudest of the last ``ceiling_s`` for ``clipped_share`` of
    its length or more is such a mix, and what the band holds there counts as a hit. A lone
    saw wave lies there a tenth of the time, two or three voices less (the sweep pads' edges:
    at most 0.08 of the span on the 48 seen tracks of bench.onset_eval); the distorted drum &
    bass of its tune_2 set, whose snares and hats the two tests took for impulses: 0.19-0.33.
    """

    def __init__(self, *, drop_db: float, sr: int, train_share: float = 0.85,
                 ceiling_ratio: float = 0.9, clipped_share: float = 0.15,
                 ceiling_s: float = 1.0) -> None:
        from scipy.signal import butter

        self._ratio = 10.0 ** (drop_db / 10.0)
        self._sos = butter(4, HIT_BANDS_HZ[2][1], btype="highpass", fs=sr, output="sos")
        self.span = fft_size_for(sr, at_48k=128)  # samples judged
        self._lead = fft_size_for(sr, at_48k=512)
        self._ring = max(4, round(0.00036 * sr))  # 16 samples at 44.1 kHz
        self._frame = self._ring // 2
        self._frames = self.span // self._frame
        self._train_share = train_share
        # Room for the span and its lead ending anywhere in a hop of up to 1024 samples.
        self._samples = SampleWindow(self._lead + self.span + 1024)
        self._ceiling_ratio, self._clipped_share = ceiling_ratio, clipped_share
        self._ceiling_n = ceiling_s * sr
        self._peaks: deque[tuple[int, float]] = deque()  # (samples, peak |x|) per block
        self._peaks_n = 0

    def push(self, block: np.ndarray) -> None:
        self._samples.push(block)
        peak = max(float(block.max()), -float(block.min())) if block.size else 0.0
        self._peaks.append((block.shape[0], peak))
        self._peaks_n += block.shape[0]
        while self._peaks_n - self._peaks[0][0] >= self._ceiling_n:
            self._peaks_n -= self._peaks.popleft()[0]

    def verdict(self, *, before_end: int) -> bool | None:
        """True: one impulse or a few; False: a hit; None: its peak is too new to tell."""
        from scipy.signal import sosfilt

        end = self._samples.size - before_end
        start = max(end - self._lead - self.span, 0)
        high = sosfilt(self._sos, self._samples.view[start:end])[-self.span:]
        peak = int(np.argmax(np.abs(high)))
        after = high[peak + self._ring:]
        if after.shape[0] < self._ring:
            return None
        around = high[max(peak - 2, 0):peak + self._ring]
        impulses = (float(np.mean(around * around)) > self._ratio * float(np.mean(after * after))
                    or self._few_impulses(high))
        return impulses and not self.clipped(end)

    def clipped(self, end: int) -> bool:
        """Whether the broadband span ending at ``end`` (an index into the kept samples) lies
        near the ceiling of the last second for much of its length (see the class docstring)."""
        span = np.abs(self._samples.view[max(end - self.span, 0):end])
        ceiling = max((peak for _, peak in self._peaks), default=0.0)
        if ceiling <= 0.0:
            return False
        return float(np.mean(span >= self._ceiling_ratio * ceiling)) >= self._clipped_share

    def _few_impulses(self, high: np.ndarray) -> bool:
        """Whether the loudest quarter of ``high``'s frames, from the first loud one on,
        holds more than ``train_share`` of their energy (see the class docstring)."""
        used = high[self.span - self._frames * self._frame:]  # whole frames, newest kept
        energy = np.square(used).reshape(self._frames, self._frame).sum(axis=1)
        energy = energy[int(np.argmax(energy * self._ratio >= energy.max())):]
        top = max(1, energy.shape[0] // 4)
        loudest = np.partition(energy, energy.shape[0] - top)[energy.shape[0] - top:]
        return float(loudest.sum()) > self._train_share * float(energy.sum())

    def reset(self) -> None:
        self._samples.clear()
        self._peaks.clear()
        self._peaks_n = 0


# The high band's level (log1p of energy over the spectrum's -80 dB floor) when its energy is
# at that floor: at or below it the band holds nothing, so HFC's candidate is no high-band hit
# (a pad swelling from silence with no partial above 5 kHz peaks HFC's picker as it rises).
_HIGH_BAND_EMPTY = math.log(2.0)


class SlowOnsetPath:
    """aubio's HFC onsets on a 4x longer window, for the multiband detector's soft hits.

    A closed hat under a ringing crash or open hat lifts the high band by about 1 dB for a few
    ms: within the fast window's noise, but a peak in the high-frequency content of 21 ms
    windows every 5.3 ms (``aubio.onset("hfc", 1024, 256)`` at 48 kHz), where aubio's median
    peak picker finds it 4-6 hops late and dates it back. Its own false alarms are mostly the
    second shake inside a shaker sample or a claves' echo, far below what the band had just
    before, so a candidate counts only when the high band's level around it comes within
    ``slow_mask_db`` of its loudest over the ``slow_memory_s`` before: forward masking; and
    only when the high band holds anything above the spectrum's floor at all.

    A kick's click masks nothing: the high band's level from ``slow_kick_s[0]`` before to
    ``slow_kick_s[1]`` after a low-band crossing (the low band crosses 5-11 ms after the
    click) is left out of the loudest. A compressed master lets the click through in its 2 ms
    attack and then ducks the mix for the next 100 ms or so, so a closed hat a sixteenth after
    the kick stands 12-22 dB under the click, and the mask dropped 18 of the 144 hits of the
    compressed house at 121 BPM in bench.onset_eval's tune_2 set. Only while the mix is ducked
    (``slow_kick_duck_s``): left out for every candidate, the click let one through 270 ms on
    in a speech over pop, its one false onset more on the 48 seen tracks.
    """

    def __init__(self, settings: OnsetSettings, *, sr: int, sub_hop: int) -> None:
        self.settings = settings
        self._sr = sr
        self._hop = fft_size_for(sr, at_48k=256)
        self._hops = FixedHops(self._hop)
        self._sub_hop = sub_hop
        # High-band level per sub-hop, newest last, over the memory and the path's delay.
        span_s = settings.slow_memory_s + 0.1
        self._levels = np.full(max(2, round(span_s * sr / sub_hop)), -np.inf)
        self._mask = settings.slow_mask_db / (10.0 / math.log(10.0))  # dB -> ln(power)
        self._memory = settings.slow_memory_s * sr
        self._recent = 0.01 * sr  # the candidate's level: from 10 ms before it to now
        self._kick_before, self._kick_after = (t * sr for t in settings.slow_kick_s)
        self._duck = settings.slow_kick_duck_s * sr
        self._kicks: deque[int] = deque()  # low-band crossings within the memory
        self.reset()

    def reset(self) -> None:
        import aubio

        self._onset = aubio.onset("hfc", 4 * self._hop, self._hop, self._sr)
        self._onset.set_threshold(self.settings.slow_threshold)
        self._onset.set_silence(self.settings.silence_db)
        self._onset.set_minioi_s(self.settings.min_ioi_s)
        self._hops.clear()
        self._origin: int | None = None  # stream index of the first sample aubio saw
        self._levels.fill(-np.inf)
        self._kicks.clear()

    def step(self, *, block: np.ndarray, high_levels: np.ndarray, n_end: int,
             low_hit: int | None = None) -> int | None:
        """Push one hop (``block``, the high band's level per sub-hop, and the stream index
        of the low band's crossing in it, if any); returns the sample index of a soft hit that
        passed the mask, or None."""
        if low_hit is not None:
            self._kicks.append(low_hit)
        while self._kicks and self._kicks[0] < n_end - self._memory - self._levels.shape[0] * self._sub_hop:
            self._kicks.popleft()
        count = high_levels.shape[0]
        self._levels[:-count] = self._levels[count:]
        self._levels[-count:] = high_levels
        if self._origin is None:
            self._origin = n_end - block.shape[0]
        found = None
        for hop in self._hops.feed(block):
            if self._onset(hop)[0] and found is None:
                found = int(self._onset.get_last()) + self._origin
        if found is None:
            return None
        # Sub-hop j (0 = oldest) of the ring ends at this stream index.
        ends = n_end - (self._levels.shape[0] - 1 - np.arange(self._levels.shape[0])) * self._sub_hop
        recent = self._levels[ends >= found - self._recent]
        before = self._levels[(ends >= found - self._memory) & ~self._near_kick(ends, found)]
        if (recent.size == 0 or recent.max() <= _HIGH_BAND_EMPTY
                or (before.size and recent.max() < before.max() - self._mask)):
            return None
        return found

    def _near_kick(self, ends: np.ndarray, found: int) -> np.ndarray:
        """Which sub-hops (by their end index) lie around a low-band crossing that ducks the
        mix at ``found`` (see above)."""
        near = np.zeros(ends.shape, dtype=bool)
        for kick in self._kicks:
            if found - kick > self._duck:
                continue
            near |= (ends >= kick - self._kick_before) & (ends <= kick + self._kick_after)
        return near


class AubioOnsetDetector:
    """``aubio.onset`` at a quarter hop (a finer hop shortens aubio's peak-picking delay)."""

    def __init__(self, settings: OnsetSettings, *, sr: int, hop: int, method: str = "hfc") -> None:
        self.settings = settings
        self._sr, self._method = sr, method
        self._sub = self.granularity = max(hop // 4, 16)
        self._n_sub = hop // self._sub
        # How late aubio fires after a click: about half its window (8 sub-hops here) minus
        # what a sharp attack gains, as measured with clicks (bench/audio_cost.py); aubio
        # subtracts it from the onset times it reports.
        self.delay_samples = 7.2 * self._sub
        self.reset()

    def reset(self) -> None:
        import aubio

        self._onset = aubio.onset(self._method, 16 * self._sub, self._sub, self._sr)
        self._onset.set_threshold(self.settings.aubio_threshold)
        self._onset.set_silence(self.settings.silence_db)
        self._onset.set_minioi_s(self.settings.min_ioi_s)
        self._onset.set_delay(int(self.delay_samples))
        self._n_seen = 0

    def step(self, *, block: np.ndarray, flux: np.ndarray, bands: np.ndarray,
             levels: np.ndarray, n_end: int, level_db: float) -> int | None:
        found = None
        for i in range(self._n_sub):
            if self._onset(block[i * self._sub:(i + 1) * self._sub])[0] and found is None:
                # aubio counts from the first sample it saw; the stream may have started earlier.
                found = int(self._onset.get_last()) + (n_end - block.shape[0] - self._n_seen)
        self._n_seen += block.shape[0]
        return found


ONSET_DETECTORS = {"multiband": MultiBandOnsetDetector, "flux": FluxOnsetDetector,
                   "aubio": AubioOnsetDetector}
