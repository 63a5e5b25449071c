"""Beat and tempo: a causal, predictive beat tracker, plus plain aubio for comparison.

`PredictiveBeatTracker` (the default) keeps the last few seconds of the onset detection
function (ODF) and, ten times a second:

1. estimates the beat period from the ODF's autocorrelation, summed over multiples of each
   candidate period (which rules out periods 1.5 beats long);
2. resolves the metrical level (the classic octave error, 174 BPM read as 87): it splits the
   period down to the tatum (the fastest regular pulse) while the parts of the ODF folded at
   that period look alike, then climbs to the slowest power-of-two multiple in range and
   halves it while a backbeat says so or its halves look and sound alike. A backbeat: the
   kick cue (`KickCue`) on one half and not under the snare (the accent ODF's loudest
   attack) on the other makes each half a beat; a kick under the snare and none half a
   period away makes the period itself the beat. Otherwise hats on every eighth make any
   beat's halves look alike in log flux, so the accent ODF must agree, or the kick cue (a
   kick in both halves, or a kick in one half only and a snare in the other);
3. refines the period from the autocorrelation peaks at 1, 2, 3... periods (the first peak
   alone quantises the period to one ODF frame, 1-2 % of the tempo);
4. finds the beat phase by folding two ODFs at that period, recent beats weighted most: the
   accent ODF (`OnsetSpectrum.accent`, each attack scored by how loud it gets, so ghost notes
   and their tails do not outweigh the beats) picks the attack, unless a kick on every beat
   (`KickCue` folded too: four on the floor) says which half of the beat it is in, and the
   percussion-weighted ODF times it; a beat oscillator is steered towards it (a phase-locked
   loop). A large
   phase error (half a beat, say) is only followed after it has persisted *and* the
   evidence is strong, so a drum-less breakdown does not drag the beat onto the off-beats.
5. re-locks after a tempo step or at the end of a ramp: the 6 s window only lets a new tempo
   win after about 3 s of it, so the last 2 s are also searched for a period near the tracked
   one (within 1.3x: a step keeps the metrical level). One that explains them clearly better
   for 0.2 s becomes the period at once, the history before those 2 s is forgotten (so the
   long window does not pull back to the old tempo) and the phase is measured afresh. The
   long window takes over again once it holds 3 s of the new tempo (and may overrule the
   re-lock only once it holds 6 s).
6. A faster challenger looks for the same change in every update: the last 2 s of the
   percussion ODF, its newest second weighted most, folded at periods within 1.27x of the
   tracked one. When the tracked period's own fold has collapsed (the newest beats land
   off it), or two emitted beats in a row found no onset near them (a dense groove's hats
   and ghost notes keep the old fold busy; then the leader must peak within reach, not at
   its end), the period whose fold is sharpest leads; one that has led for 0.2 s and is
   clearly sharper than the tracked one wins. It sees a step after two or three new
   beats, where the autocorrelation of step 5 needs its window half full of the new
   tempo. The lead counts from the collapse, so one onset just heard (a swung hat) that
   favours another period for an update does not restart the count, and a beat measured
   since the collapse that lies on the tracked line (step 7) outvotes the challenger.
   Until the long window confirms a re-lock (agrees with it once it may overrule it), the
   re-locks of steps 5 and 6 look no further than their 1.3x reach from the tempo before
   the first of them: each looks near the tracked tempo, so a wrong pick was the start of
   further ones (a swung boom-bap's step down to 86 BPM read as 131, then 166 and 175,
   while the long window, muted after each re-lock, said 86 all along).
7. The beats' own intervals: each emitted beat's onset is found (the percussion ODF's peak
   within 12 % of a period of it, at least half as strong as the recent beats' onsets, so a
   drum-less part's chords do not count) and a line through the newest six gives the period they
   imply. While the tracked period still fits the newest beats (the challenger's collapse
   test), that period outranks the windows' estimates when it differs from them by more
   than 1.5 % and two standard errors (and less than 10 %, beyond which it may be another
   metrical level): the windows trail a ramp by half their length, so the tracked period
   follows the beats through a ramp and stands at its end tempo within a beat or two. When
   the newest beat lies on the line and the line's period is the tracked one, the beats
   confirm it, and the short window of step 5 may not call a tempo change (a few seconds
   of a humanised groove can favour a period 5 % off), nor the challenger once that beat
   was measured after the tracked fit collapsed (one displaced onset, not a new tempo).

Beats are emitted when the oscillator's predicted beat time is reached, not after the beat's
onset has been detected, so the beat flag is not late. Tap tempo and a manual BPM override
replace steps 1-3; the phase still follows the audio.

`AubioBeatTracker` wraps ``aubio.tempo`` with its default settings (the benchmark's baseline).
Both implement `BeatTracker` and are chosen by name from `BEAT_TRACKERS`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from visualizer.audio.spectral import FixedHops, SampleWindow

_DONE = object()
TEMPO_SWITCH = 0.04  # estimates that differ by more than this fraction are a different tempo


@dataclass(frozen=True)
class TempoSettings:
    min_bpm: float = 60.0  # slowest tempo reported
    max_bpm: float = 190.0  # fastest tempo reported
    window_s: float = 6.0  # ODF history the tempo is estimated from
    update_s: float = 0.1  # how often tempo and phase are re-estimated
    octave_similarity: float = 0.52  # halve the period while the folded halves are this alike
    kick_halves: float = 0.6  # ...or the kick cue's halves this alike (a kick in both)...
    alternate_similarity: float = 0.4  # ...or the accents' this alike with a kick in one half:
    alternate_kick: float = 0.2  # the kick cue's halves less alike than this (see _halves_sound_alike)
    backbeat_under: float = 0.3  # a backbeat halves the period: the kick cue under the loudest
    # accent (the snare) below this fraction of its peak...
    backbeat_across: float = 0.6  # ...and half a period away at least this fraction of it
    same_beat_under: float = 0.75  # the period is the beat (kick and snare alternate between
    # periods, not within one): the kick cue under the snare at least this of its peak...
    same_beat_across: float = 0.5  # ...and half a period away below this (see _kick_and_snare)
    refine_fraction: float = 0.03  # period refinement looks for peaks within +-this fraction
    phase_memory_s: float = 3.0  # recency time constant of the phase estimate
    phase_gain: float = 0.3  # fraction of a small phase error corrected per update
    phase_jump_s: float = 2.0  # a large phase error must persist this long to be followed
    hold_ratio: float = 0.7  # ...with evidence at least this fraction of the recent strongest
    evidence_memory_s: float = 60.0  # how long "the recent strongest evidence" is remembered
    switch_confirm_s: float = 0.5  # a new tempo must persist this long to replace the old
    idle_s: float = 1.5  # no beat events after this long without an onset (silence)
    tap_timeout_s: float = 2.0  # a longer gap between taps starts a new tap sequence
    relock_window_s: float = 2.0  # recent ODF a tempo change is looked for in (at least 4 beats)
    relock_range: float = 1.3  # ...among periods within this factor of the tracked one
    relock_margin: float = 1.5  # ...which must explain it this much better than the tracked one
    relock_confirm_s: float = 0.2  # ...for this long, before the tracker re-locks on it
    challenge_memory_s: float = 0.8  # recency time constant of the challenger's fold
    challenge_range: float = 1.27  # challenger periods within this factor (4:3 is metrical)
    challenge_margin: float = 1.3  # the challenger's fit must beat the tracked one's by this
    challenge_collapse: float = 0.7  # ...while the tracked fit is below this of its usual
    challenge_usual_s: float = 8.0  # time constant of "its usual" (an average)
    challenge_min_change: float = 0.03  # ...and its period differ by at least this fraction
    challenge_confirm_s: float = 0.2  # ...leading this long, before the tracker re-locks on it
    challenge_agree: float = 0.03  # ...its period staying within this fraction meanwhile
    challenge_keep_s: float = 1.0  # ODF history kept when it re-locks (the newest beats)
    challenge_rest_s: float = 2.0  # no challenge this soon after a re-lock...
    challenge_continue: float = 0.06  # ...but one further step this small in its direction
    challenge_step: float = 0.01  # spacing of the challenger periods (a fraction)
    challenge_missed: int = 2  # this many emitted beats in a row without an onset collapse it too
    beat_window: float = 0.12  # a beat's onset is looked for within +-this fraction of a period
    beat_strength: float = 0.5  # ...as strong as this fraction of the recent ones' median
    beat_fit_beats: int = 6  # the period the newest this many beat onsets imply...
    beat_fit_min: int = 4  # ...(at least this many of them found)...
    beat_fit_switch: float = 0.015  # ...outranks a window's estimate when they differ this
    beat_fit_errors: float = 2.0  # ...and this many of its standard errors...
    beat_fit_range: float = 0.1  # ...but no more than this (further is another metrical level)
    beat_hold: float = 0.04  # the newest beat this near the line (a fraction of a period...
    beat_hold_scatter: float = 2.5  # ...or this many times the beats' scatter about it) and
    # the line's period within beat_fit_switch of the tracked one: the beats confirm it
    kick_lead: float = 1.2  # a kick picks the phase where its fold peaks this much over
    # the off-beat...
    kick_every: float = 0.85  # ...and this fraction of the recent beats have a kick there...
    kick_floor: float = 0.3  # ...at least this fraction of the loudest's (see _kick_on_every_beat)
    kick_lag_s: float = 0.08  # ...and the attack is looked for up to this long before its peak


@dataclass(frozen=True)
class TempoState:
    """The tracker's answer for one hop. Sample indices count from the stream's start."""

    beat: bool  # a beat falls in this hop
    bpm: float  # 0.0 while unknown
    confidence: float  # 0-1
    phase: float  # [0, 1): position in the current beat at the hop's last sample
    next_beat_n: float  # sample index of the next predicted beat; nan while unknown
    beat_n: float  # sample index of the beat flagged in this hop; nan when none


UNKNOWN = TempoState(beat=False, bpm=0.0, confidence=0.0, phase=0.0, next_beat_n=math.nan,
                     beat_n=math.nan)


class BeatTracker(Protocol):
    def step(self, *, block: np.ndarray, n_end: int, flux: float, flux_high: float,
            accent: float, onset: bool) -> TempoState:
        """One hop: its samples, the stream index after its last sample, the sums of its
        sub-hop ODF values (all bands, high bands, accents: see `OnsetSpectrum`) and whether
        an onset was detected."""

    def tap(self, n: float) -> None:
        """A tap (sample index): two or more taps set the tempo and the phase."""

    def set_bpm(self, bpm: float | None) -> None:
        """Fix the tempo (the phase still follows the audio); None returns to automatic."""

    def reset(self) -> None: ...


def _wrap(error: float, period: float) -> float:
    """``error`` folded into [-period/2, period/2)."""
    return (error + period / 2) % period - period / 2


class KickCue:
    """How loud a kick gets, from the raw samples low-passed under a bass line: one value a hop.

    The onset spectrum has one mel band under 150 Hz (a 1024-point FFT's bins are 47 Hz
    apart) against about thirty that a hat lights, and a bass line shares that band with the
    kick, so the accent ODF hardly tells a kick on the beat from a bass note on the off-beat.
    A kick's body ends near 50 Hz while a bass note sits at 80 Hz and up, so the samples go
    through a low-pass first (a Butterworth of ``order`` at ``cutoff_hz``: one lfilter call,
    ~6 us a hop, where sosfilt takes ~40 and two biquads ~13, for the same output within
    1e-7; a second order at 70 Hz let a 96 BPM loop's off-beat bass notes through almost as
    loud as its kicks). `step` returns the rise of the hop's log energy over the loudest of
    the last ``reference_s`` (a period of the lowest note, so the ripple of a held one does
    not count), floored ``range_db`` under the recent loudest like the accent's bands. A
    kick swept down from 160 Hz only reaches the pass band some 70 ms after its attack, so
    the cue says which half of the beat a kick is in, not when it starts.
    """

    def __init__(self, *, sr: int, hop: int, cutoff_hz: float = 60.0, order: int = 4,
                 reference_s: float = 0.02, range_db: float = 15.0, memory_s: float = 2.0,
                 floor_db: float = -80.0) -> None:
        from scipy.signal import butter, lfilter

        self._b, self._a = butter(order, cutoff_hz, "low", fs=sr)
        self._state = np.zeros(order)
        self._older = [0.0] * max(1, math.ceil(reference_s * sr / hop))  # few: a list is quicker
        self._range = range_db / 10.0 * math.log(10.0)
        self._fall = self._range * hop / sr / memory_s
        self._gain = 10.0 ** (-floor_db / 10.0)
        self._lfilter = lfilter
        self.reset()

    def step(self, block: np.ndarray) -> float:
        """Push one hop (shape (n,)); returns its rise (natural-log energy units)."""
        low, self._state = self._lfilter(self._b, self._a, block, zi=self._state)
        level = math.log1p(self._gain * float(np.dot(low, low)) / low.shape[0])
        self._loudest = max(self._loudest - self._fall, level)
        reference = max(max(self._older), self._loudest - self._range)
        self._older[self._step % len(self._older)] = level
        self._step += 1
        return max(level - reference, 0.0)

    def reset(self) -> None:
        self._state.fill(0.0)
        self._older = [0.0] * len(self._older)
        self._loudest, self._step = 0.0, 0


class PredictiveBeatTracker:
    """See the module docstring. ``frame`` samples of ODF make one tempo frame."""

    def __init__(self, settings: TempoSettings, *, sr: int, hop: int, frame: int,
                 odf_delay_samples: float) -> None:
        if frame % hop:
            raise ValueError(f"tempo frame ({frame}) must be a multiple of the hop ({hop})")
        self.settings = settings
        self.sr, self.hop, self.frame = sr, hop, frame
        self.fr = sr / frame  # tempo frames per second
        self.odf_delay = odf_delay_samples
        self.n_frames = int(settings.window_s * self.fr)
        self._update_every = max(1, round(settings.update_s * self.fr))
        self._start_frames = int(3 * self.fr)  # history the first tempo estimate waits for
        self._lag_min = 60.0 * self.fr / settings.max_bpm
        self._lag_max = 60.0 * self.fr / settings.min_bpm
        self._nfft = 1 << math.ceil(math.log2(2 * self.n_frames))
        self._acf_spectrum = np.zeros(self._nfft // 2 + 1, dtype=np.complex128)
        self._acf = np.zeros(self._nfft, dtype=np.float64)
        self._centred = np.zeros(self.n_frames, dtype=np.float64)
        self._unbias = 1.0 / (self.n_frames - np.arange(self.n_frames, dtype=np.float64))
        ages = np.arange(self.n_frames - 1, -1, -1, dtype=np.float64)  # oldest first
        self._recency = np.exp(-ages / (settings.phase_memory_s * self.fr))
        self._frame_numbers = np.arange(self.n_frames, dtype=np.float64)
        self._fold_phase = np.zeros(self.n_frames, dtype=np.float64)
        self._fold_index = np.zeros(self.n_frames, dtype=np.intp)
        self._positive = np.zeros(self.n_frames, dtype=np.float64)
        self._weighted = np.zeros(self.n_frames, dtype=np.float64)
        self._kernel_bins, self._kernel_spectrum = 0, np.zeros(0)
        self._full = SampleWindow(self.n_frames)
        self._short_max = min(self.n_frames, max(int(settings.relock_window_s * self.fr),
                                                 _short_frames(self._lag_max)))
        self._short_nfft = 1 << math.ceil(math.log2(2 * self._short_max))
        self._short_spectrum = np.zeros(self._short_nfft // 2 + 1, dtype=np.complex128)
        self._short_acf = np.zeros(self._short_nfft, dtype=np.float64)
        self._short_best = np.zeros(self._short_max, dtype=np.float64)
        self._short_salience = np.zeros(self._short_max, dtype=np.float64)
        self._perc = SampleWindow(self.n_frames)
        self._accents = SampleWindow(self.n_frames)  # the accent ODF, for the phase alone
        self._kicks = SampleWindow(self.n_frames)  # the KickCue, for the phase alone
        self._kick = KickCue(sr=sr, hop=hop)
        half = int(math.floor(math.log(settings.challenge_range) / settings.challenge_step))
        self._challenge_ratios = np.exp(np.arange(-half, half + 1) * settings.challenge_step)
        self._challenge_bins = 32
        self._challenge_max = min(self.n_frames, int(settings.relock_window_s * self.fr))
        ages = np.arange(self._challenge_max - 1, -1, -1, dtype=np.float64)
        self._challenge_recency = np.exp(-ages / (settings.challenge_memory_s * self.fr))
        self._challenge_offsets = (np.arange(self._challenge_ratios.shape[0])[:, None]
                                   * self._challenge_bins)
        self.reset()

    def reset(self) -> None:
        self._full.clear()
        self._perc.clear()
        self._accents.clear()
        self._kicks.clear()
        self._kick.reset()
        self._frames = 0  # tempo frames pushed
        self._valid_from = 0  # frame number the ODF history is kept from (re-locks forget)
        self._relocked_at = -self.n_frames  # frame number of the last re-lock
        self._relock_direction = 0  # the challenger's last re-lock: +1 to a longer period
        self._anchor = math.nan  # the period before re-locks the long window has not confirmed
        # (nan: none); they stay within relock_range of it (see the module doc, step 6)
        self._change = math.nan  # the period a tempo change points to, in frames
        self._change_count = 0
        self._challenger = math.nan  # the period the challenger's fold points to, in frames
        self._challenger_count = 0
        self._usual_fit = math.nan  # the tracked period's usual fit (a share of the ODF)
        self._on_grid = False  # the tracked period's fit has not collapsed (last update)
        self._beats = math.nan  # the period the newest beat onsets imply (last update), frames
        self._beats_margin = math.inf  # ...which outranks a window's estimate this far apart
        self._beats_hold = False  # ...which confirm the tracked period, newest beat included
        self._beat_predicted = False  # ...the newest where the others put it (stricter)
        self._newest_found = False  # the newest measured beat had an onset
        self._missed = 0  # emitted beats in a row measured without an onset (see _challenge)
        self._measured_at = -1  # frame number of the newest beat measurement
        self._collapsed_since = math.inf  # frame number the tracked fit collapsed at (inf: not)
        self._rephase = False  # the next phase update takes the measured phase outright
        self._beats_to_measure: deque[float] = deque()  # emitted beats, sample indices
        self._beat_onsets: deque[float] = deque(maxlen=self.settings.beat_fit_beats)
        self._beat_heights: deque[float] = deque(maxlen=self.settings.beat_fit_beats)
        self._acc_full = self._acc_perc = self._acc_accent = self._acc_kick = 0.0
        self._acc_hops = 0
        self._update: Iterator[None] | None = None  # the update in progress, a slice per frame
        self._n_end = 0
        self._lag = math.nan  # the update's working period estimate, in frames
        self.period = math.nan  # tempo frames per beat (the tracked tempo)
        self._candidate = math.nan
        self._candidate_count = 0
        self._recent_periods: deque[float] = deque(maxlen=10)
        self._next = math.nan  # sample index of the next beat
        self._last_beat = -math.inf
        self._disagree_s = 0.0
        self._evidence = 0.0
        self._evidence_ref = 0.0
        self._last_onset = -math.inf
        self._taps: deque[float] = deque(maxlen=8)
        self._override_period = math.nan  # frames, from tap tempo or a manual BPM
        self._pending_commands: deque[tuple[str, float | None]] = deque()

    # ------------------------------------------------------------------ control (any thread)

    def tap(self, n: float) -> None:
        self._pending_commands.append(("tap", float(n)))

    def set_bpm(self, bpm: float | None) -> None:
        self._pending_commands.append(("bpm", None if bpm is None else float(bpm)))

    def _apply_commands(self) -> None:
        while self._pending_commands:
            command, value = self._pending_commands.popleft()
            if command == "bpm":
                self._taps.clear()
                if value is None:
                    self._override_period = math.nan
                else:
                    self._override_period = 60.0 * self.fr / value
                    self._set_period(self._override_period)
            elif command == "tap" and value is not None:
                if self._taps and value - self._taps[-1] > self.settings.tap_timeout_s * self.sr:
                    self._taps.clear()
                self._taps.append(value)
                if len(self._taps) >= 2:
                    taps = np.asarray(self._taps)
                    period_samples = float(np.median(np.diff(taps)))
                    self._override_period = period_samples / self.frame
                    self._set_period(self._override_period)
                    self._next = value + period_samples  # the tap is a beat
                    self._disagree_s = 0.0

    def _set_period(self, period: float, *, relock: bool = False) -> None:
        if not relock:  # a tap or a manual tempo
            self._anchor = math.nan
        elif math.isnan(self._anchor):  # the first of a chain of re-locks
            self._anchor = self.period
        self.period = period
        self._recent_periods.clear()
        self._candidate, self._candidate_count = math.nan, 0
        self._change, self._change_count = math.nan, 0
        self._challenger, self._challenger_count = math.nan, 0
        self._beat_onsets.clear()
        self._beats, self._beats_hold, self._beat_predicted = math.nan, False, False
        self._missed = 0

    # ------------------------------------------------------------------ per hop

    def step(self, *, block: np.ndarray, n_end: int, flux: float, flux_high: float,
            accent: float, onset: bool) -> TempoState:
        if self._pending_commands:
            self._apply_commands()
        if onset:
            self._last_onset = n_end
        self._acc_full += flux
        self._acc_perc += flux + flux_high
        self._acc_accent += accent
        self._acc_kick += self._kick.step(block)
        self._acc_hops += 1
        if self._acc_hops * self.hop >= self.frame:
            self._push_frame(n_end)
        return self._advance(n_end)

    def _push_frame(self, n_end: int) -> None:
        self._full.push(np.float32(self._acc_full).reshape(1))
        self._perc.push(np.float32(self._acc_perc).reshape(1))
        self._accents.push(np.float32(self._acc_accent).reshape(1))
        self._kicks.push(np.float32(self._acc_kick).reshape(1))
        self._acc_full = self._acc_perc = self._acc_accent = self._acc_kick = 0.0
        self._acc_hops = 0
        self._frames += 1
        self._n_end = n_end
        if self._frames % self._update_every == 0 and self._frames >= self._start_frames:
            self._update = self._update_steps()
        # The update runs a slice per tempo frame, so no single hop carries all of it.
        if self._update is not None and next(self._update, _DONE) is _DONE:
            self._update = None

    def _advance(self, n_end: int) -> TempoState:
        if math.isnan(self.period) or math.isnan(self._next):
            return UNKNOWN
        period_n = self.period * self.frame
        beat_n = math.nan
        if self._next <= n_end:
            if n_end - self._last_onset <= max(self.settings.idle_s * self.sr, 2.5 * period_n):
                beat_n = self._next
                self._last_beat = self._next
                self._beats_to_measure.append(beat_n)
            while self._next <= n_end:  # never more than one beat per hop
                self._next += period_n
        phase = 1.0 - (self._next - n_end) / period_n
        phase = min(max(phase, 0.0), math.nextafter(1.0, 0.0))
        return TempoState(beat=not math.isnan(beat_n), bpm=60.0 * self.sr / period_n,
                          confidence=self._confidence(n_end), phase=phase,
                          next_beat_n=self._next, beat_n=beat_n)

    def _confidence(self, n_end: int) -> float:
        if n_end - self._last_onset > self.settings.idle_s * self.sr:
            return 0.0
        if not math.isnan(self._override_period):
            return 1.0
        if not self._recent_periods:
            return 0.0
        agree = sum(abs(p / self.period - 1) < 0.02 for p in self._recent_periods)
        strength = min(1.0, self._evidence / self._evidence_ref) if self._evidence_ref else 0.0
        return agree / self._recent_periods.maxlen * strength

    # ------------------------------------------------------------------ tempo stages

    def _history(self, window: SampleWindow) -> np.ndarray:
        """The valid part of an ODF history, oldest first."""
        return window.view[self.n_frames - self._valid_frames():]

    def _update_steps(self) -> Iterator[None]:
        """One tempo/phase update, yielding between slices of work (see the module doc)."""
        if math.isnan(self._override_period):  # a fixed tempo skips straight to the phase
            # After a re-lock the long window only restarts once it holds as much of the new
            # tempo as it needs at the start: on less, the metrical level is a guess.
            if self._valid_frames() >= self._start_frames and self._autocorrelate():
                yield
                # The re-lock search shares the lag pick's slice, not the long ACF's (the
                # costliest), and adds no slice: the update must end before the next one
                # starts, at slow tempi too. A re-lock skips the long window's say.
                if math.isnan(self.period) or not self._look_for_change():
                    self._pick_lag()
                    yield
                    positive = self._positive_part(self._history(self._full), self._positive)
                    yield from self._metrical_level(positive)
                    lag = _harmonic_lag(self._acf[:positive.shape[0]], self._lag,
                                        self.settings.refine_fraction)
                    self._recent_periods.append(lag)
                    self._update_period(lag)
                    yield
            elif not math.isnan(self.period):
                self._look_for_change()
        if math.isnan(self.period):
            return
        self._measure_beats()
        if math.isnan(self._override_period):
            # In the phase's slice (the cheapest), so a re-lock is phased at once. After
            # one the history is too short for the long window, and `_look_for_change`
            # waits until its window holds only the new tempo.
            self._fit_beats()
            if not self._challenge():
                self._follow_beats()
        folded = self._fold_recent(self._perc, self._accents, self._kicks)
        yield
        self._track_phase(*folded, self._n_end)

    def _valid_frames(self) -> int:
        return min(self._frames - self._valid_from, self.n_frames)

    def _look_for_change(self) -> bool:
        """Looks for a new tempo in the last few seconds of the ODF; True when it re-locked.

        The long window needs half its length of a new tempo before that tempo wins its
        autocorrelation (3 s, then the confirmation), so a step is looked for here in a window
        of a few beats, among periods near the tracked one (a step keeps the metrical level).
        A change that explains the recent ODF clearly better than the tracked period, for
        ``relock_confirm_s``, becomes the period, the history before the window is forgotten
        (so the long window does not pull back to the old tempo) and the phase is measured
        afresh.
        """
        s = self.settings
        period = self.period
        lo, hi = period / s.relock_range, period * s.relock_range
        if not math.isnan(self._anchor):  # nor further from the tempo before the re-locks
            lo = max(lo, self._anchor / s.relock_range)
            hi = min(hi, self._anchor * s.relock_range)
        lo = max(int(lo), int(self._lag_min), 1)
        hi = max(int(math.ceil(min(hi, self._lag_max))), lo + 2)
        needed = _short_frames(hi)
        m = min(self._valid_frames(), self._short_max, max(int(s.relock_window_s * self.fr),
                                                           needed))
        if m < needed:
            return False
        if self._frames - self._relocked_at < m:  # its window still holds the old tempo
            return False
        odf = self._full.view[self.n_frames - m:]
        centred = self._centred[:m]
        np.subtract(odf, odf.mean(), out=centred)
        np.fft.rfft(centred, n=self._short_nfft, out=self._short_spectrum)
        np.multiply(self._short_spectrum, self._short_spectrum.conj(), out=self._short_spectrum)
        np.fft.irfft(self._short_spectrum, n=self._short_nfft, out=self._short_acf)
        acf = self._short_acf[:m]
        if acf[0] <= 0:
            return False
        # Biased (not divided by the number of products): at the long lags a few seconds
        # hold, the unbiased ACF sums so few products that a 3:2 period can win on noise.
        # `_comb_salience` over two multiples (the window holds both, see `_short_frames`),
        # from one running best-of-three, as this runs every update.
        best = self._short_best[:m]
        np.maximum(acf[:-2], acf[2:], out=best[1:-1])
        np.maximum(best[1:-1], acf[1:-1], out=best[1:-1])
        salience = self._short_salience[:hi - lo + 1]
        np.add(best[lo:hi + 1], best[2 * lo:2 * hi + 1:2], out=salience)
        i = int(np.argmax(salience)) + lo
        i = max(lo, min(hi, i - 1 + int(np.argmax(acf[max(i - 1, 0):i + 2]))))
        lag = i + _parabolic_offset(acf, i)
        # A few seconds of a two-step or a backbeat can favour 1.5 beats on the comb (kick
        # 2.5 beats after the snare; the 3-beat multiple is strong): a true beat period is
        # not weaker on its own than the period 1.5 times as long.
        j = int(round(2 * lag / 3))
        if j - 1 >= lo and acf[j - 1:j + 2].max() > acf[i - 1:i + 2].max():
            j = j - 1 + int(np.argmax(acf[j - 1:j + 2]))
            lag = j + _parabolic_offset(acf, j)
        # The second peak of a few seconds is noisy: the refinement may pin the period more
        # finely, but neither decide the change nor move the peak's own estimate far.
        refined = _harmonic_lag(acf, lag, s.refine_fraction)
        refined = refined if abs(refined / lag - 1) < 0.5 * TEMPO_SWITCH else lag
        current = salience[min(max(int(round(period)), lo), hi) - lo]
        if (abs(lag / period - 1) <= TEMPO_SWITCH or self._beats_hold
                or salience[i - lo] < s.relock_margin * max(current, 0.0)):
            self._change, self._change_count = math.nan, 0
            young = self._valid_frames() < self._start_frames
            if (young and abs(lag / period - 1) <= TEMPO_SWITCH
                    and not self._beats_outrank(refined)):
                # The long window is not back yet: the short one refines the new period.
                self.period += 0.5 * (refined - period)
                self._recent_periods.append(refined)
            return False
        same = not math.isnan(self._change) and abs(lag / self._change - 1) < TEMPO_SWITCH
        self._change_count = self._change_count + 1 if same else 1
        self._change = lag
        if self._change_count < max(1, round(s.relock_confirm_s / s.update_s)):
            return False
        self._set_period(refined, relock=True)
        self._recent_periods.append(refined)
        self._relock_direction = 0  # its window holds enough of the new tempo to be right
        self._valid_from = self._frames - m
        self._relocked_at = self._frames
        self._rephase = True
        return True

    def _challenge(self) -> bool:
        """A faster look for a tempo change than `_look_for_change`; True when it re-locked.

        While the tracked period's own fit has collapsed (below ``challenge_collapse`` of its
        usual share of the ODF: the newest beats no longer land where it puts them), the
        period that fits best (see `_challenger_fits`) is the challenger. It replaces the
        tracked period once it has led for ``challenge_confirm_s`` (its period staying within
        ``challenge_agree``), differs by ``challenge_min_change`` at least and fits
        ``challenge_margin`` times better. The lead counts from the collapse, not from the
        margin: a few beats after a step the fits are close, and one onset just heard (a
        swung hat, weighted most) can favour another period for an update or two (boom-bap
        92 -> 80 BPM: 98.9, where the hat 1.62 beats after the downbeat lies two periods of
        0.81 beats on), which a confirmation counted from the margin took for the new tempo.
        The history before the newest ``challenge_keep_s`` is then forgotten and the phase
        measured afresh. A beat measured since the collapse that lies where the beats before
        it put it, at the tracked period, outvotes it (`_fit_beats`: the collapse was one
        displaced onset, not a new tempo); one measured before the collapse does not, as a
        step's first beat is on the old line. "Where the beats before put it" is the line
        through the others, not through all: the newest beat pulls the line towards itself,
        and a step's second beat 12 % early (88 -> 100 BPM) passed for one on the line.
        """
        s = self.settings
        self._on_grid = False
        m = min(self._valid_frames(), self._challenge_max)
        if m < 2 * self.period:
            return False
        resting = self._frames - self._relocked_at < s.challenge_rest_s * self.fr
        if resting and not self._relock_direction:
            # Just re-locked: the window still holds the old tempo, which must not pull the
            # tracker back, nor count in the new period's usual fit.
            self._challenger, self._challenger_count = math.nan, 0
            self._collapsed_since = math.inf
            return False
        fit, total = self._challenger_fits(m)
        centre = fit.shape[0] // 2
        search = fit
        if not math.isnan(self._anchor):
            # After re-locks the long window has not confirmed, no further than the re-lock
            # searches' reach from the period before them (the module doc, step 6).
            ratio = self.period * self._challenge_ratios / self._anchor
            search = np.where((ratio >= 1 / s.relock_range) & (ratio <= s.relock_range),
                              fit, -1.0)
        if resting:
            # ...but a re-lock made on a beat or two (a blend of the two tempi) may go on,
            # once and a little, in its direction.
            near = int(round(math.log(1 + s.challenge_continue) / s.challenge_step))
            j = (centre + 1 + int(np.argmax(search[centre + 1:centre + near + 1]))
                 if self._relock_direction > 0
                 else centre - near + int(np.argmax(search[centre - near:centre])))
        else:
            j = int(np.argmax(search))
        j = j if search[j] >= 0 else centre  # none within reach: no challenger
        share = fit[centre] / max(total, 1e-12)
        usual = self._usual_fit
        decay = math.exp(-s.update_s / s.challenge_usual_s)
        self._usual_fit = share if math.isnan(usual) else decay * usual + (1 - decay) * share
        fit_kept = not math.isnan(usual) and share >= s.challenge_collapse * usual
        # A dense groove (sixteenth hats, ghost snares) keeps some phase of the tracked fold
        # busy after a step, while the beats already land off their onsets (breakbeat 136 ->
        # 158: the fit at 0.8 of its usual for 1.5 s, two beats missed after 0.8 s).
        missed = self._missed >= s.challenge_missed
        self._on_grid = fit_kept and not missed
        self._collapsed_since = (math.inf if math.isnan(usual) or self._on_grid
                                 else min(self._collapsed_since, self._frames))
        margin = fit[j] >= s.challenge_margin * fit[centre]
        if (self._collapsed_since == math.inf
                or abs(self._challenge_ratios[j] - 1) < s.challenge_min_change
                or (self._beat_predicted and self._measured_at > self._collapsed_since)
                or (resting and not margin)
                # Missed beats alone are weaker evidence: the challenger must then peak
                # within reach, not at its end (swung hip-hop at a ramp's end, 116 BPM: its
                # fit rising to the range's end, 92.5, after two beats missed).
                or (fit_kept and j in (0, fit.shape[0] - 1))):
            self._challenger, self._challenger_count = math.nan, 0
            return False
        lag = float(self.period * math.exp((j - centre + _parabolic_offset(fit, j))
                                           * s.challenge_step))
        same = (not math.isnan(self._challenger)
                and abs(lag / self._challenger - 1) < s.challenge_agree)
        self._challenger_count = self._challenger_count + 1 if same else 1
        self._challenger = lag
        confirm = max(1, round(s.challenge_confirm_s / s.update_s))
        if self._challenger_count < confirm or not margin:
            return False
        # Only a challenger that won as soon as it could saw so little of the new tempo that
        # it may be a blend; one that led for longer stands (boom-bap 92 -> 80: 80.5, which
        # a further step took to 77).
        self._relock_direction = (0 if resting or self._challenger_count > confirm
                                  else 1 if lag > self.period else -1)
        self._set_period(lag, relock=True)
        self._recent_periods.append(lag)
        # Only the newest beats are kept: the rest of the window is the old tempo, which
        # would pull the short window's search and the restarted long window back to it.
        self._valid_from = self._frames - min(m, int(s.challenge_keep_s * self.fr))
        self._relocked_at = self._relocked_at if resting else self._frames
        self._rephase = True
        return True

    def _challenger_fits(self, m: int) -> tuple[np.ndarray, float]:
        """How well each period near the tracked one explains the newest ``m`` ODF frames.

        The percussion ODF (weighted towards its newest second) folded at each period
        (``period * _challenge_ratios``), smoothed by 15 ms of timing spread; a period's fit
        is its fold's peak, so every period, the tracked one too, takes its best phase.
        Returns the fits, shape (periods,), and the weighted ODF's sum.
        """
        odf = self._positive_part(self._perc.view[self.n_frames - m:], self._positive)
        weights = self._weighted[:m]
        np.multiply(odf, self._challenge_recency[self._challenge_max - m:], out=weights)
        bins = self._challenge_bins
        frames = np.arange(self._frames - m, self._frames, dtype=np.float64)
        # Bin of each frame at each period: floor(frame * bins / period) mod bins, in
        # integers (a float modulo over every frame and period costs twice as much).
        index = np.multiply.outer(bins / (self.period * self._challenge_ratios), frames
                                  ).astype(np.intp)
        index %= bins
        index += self._challenge_offsets
        folded = np.bincount(index.ravel(), weights=np.tile(weights, index.shape[0]),
                             minlength=index.size // m * bins).reshape(-1, bins)
        width = max(0.015 * self.fr * bins / self.period, 0.3)
        k = np.arange(bins)
        kernel = np.fft.rfft(np.exp(-0.5 * (np.minimum(k, bins - k) / width) ** 2))
        smooth = np.fft.irfft(np.fft.rfft(folded, axis=1) * kernel, n=bins, axis=1)
        return smooth.max(axis=1), float(weights.sum())

    def _autocorrelate(self) -> bool:
        odf = self._history(self._full)
        m = odf.shape[0]
        centred = self._centred[:m]
        np.subtract(odf, odf.mean(), out=centred)
        np.fft.rfft(centred, n=self._nfft, out=self._acf_spectrum)
        np.multiply(self._acf_spectrum, self._acf_spectrum.conj(), out=self._acf_spectrum)
        np.fft.irfft(self._acf_spectrum, n=self._nfft, out=self._acf)
        acf = self._acf[:m]
        # Unbiased: divide each lag by the number of products it sums, so long lags count fully.
        acf *= self._unbias if m == self.n_frames else 1.0 / (m - np.arange(m))
        return acf[0] > 0 and min(int(math.ceil(self._lag_max)), m // 2) > int(self._lag_min) + 1

    def _pick_lag(self) -> None:
        acf = self._acf[:self._valid_frames()]
        lo = max(int(self._lag_min), 1)
        hi = min(int(math.ceil(self._lag_max)), acf.shape[0] // 2)
        i = int(np.argmax(_comb_salience(acf, lo, hi))) + lo
        # The best lag sits within a frame of the salience peak: take the ACF's own peak there.
        i = max(lo, min(hi, i - 1 + int(np.argmax(acf[max(i - 1, 0):i + 2]))))
        self._lag = i + _parabolic_offset(acf, i)

    def _metrical_level(self, odf: np.ndarray) -> Iterator[None]:
        """Sets ``_lag`` to the beat period; yields after every fold (the costly part)."""
        similar = self.settings.octave_similarity
        # Down to the tatum, the fastest regular pulse: split the period in two or three
        # while its parts look alike (a period 1.5 beats long splits into three eighths).
        tatum = self._lag
        while True:
            folded = self._fold(odf, tatum)
            yield
            splits = [(_parts_alike(folded, parts), parts) for parts in (2, 3)
                      if tatum / parts >= self._lag_min / 4]
            if not splits or max(splits)[0] < similar:
                break
            tatum /= max(splits)[1]
        # Up to the beat: the slowest power-of-two multiple of the tatum in range, halved while
        # `_halves` says so.
        accents, kicks = self._history(self._accents), self._history(self._kicks)
        lag = tatum
        while lag * 2 <= self._lag_max:
            lag *= 2
        while lag / 2 >= self._lag_min:
            halve = self._halves(odf, accents, kicks, lag)
            yield
            if not halve:
                break
            lag /= 2
        self._lag = lag if lag >= self._lag_min else self._lag  # a tatum above max_bpm

    def _halves(self, odf: np.ndarray, accents: np.ndarray, kicks: np.ndarray,
                lag: float) -> bool:
        """Whether the beat is half of period ``lag`` (frames).

        A drummer's backbeat says it first (`_kick_and_snare`): a kick on one half and a
        snare on the other make each half a beat (rock, breakbeats, garage at 130-170 BPM,
        whose halves look only 0.4-0.6 alike in log flux), and a kick under the snare with
        none half a period away makes the period itself the beat (kick and snare alternate
        between periods: a breakbeat at 88 BPM; asked of a full window only). Otherwise the
        halves must look alike in the ODF above and sound alike too
        (`_halves_sound_alike`): log flux scores a hat's attack like a kick's, so hats on
        every eighth make any beat's halves look alike (boom-bap at 86 BPM was halved to 172).
        """
        s = self.settings
        kick_fold = self._fold(kicks, lag)
        under, across = self._kick_and_snare(self._typical_fold(accents, lag), kick_fold, lag)
        if under < s.backbeat_under and across >= s.backbeat_across:
            return True
        # Over less than a full window, a kick under the snare can be chance: a waltz's kick,
        # once a bar, fell on the same half of four two-beat periods at a song's start.
        if (under >= s.same_beat_under and across < s.same_beat_across
                and self._valid_frames() >= self.n_frames):
            return False
        return (_parts_alike(self._fold(odf, lag), 2) >= s.octave_similarity
                and self._halves_sound_alike(accents, kick_fold, lag))

    def _kick_and_snare(self, accent_fold: np.ndarray, kick_fold: np.ndarray,
                        lag: float) -> tuple[float, float]:
        """The kick cue under the accent fold's loudest attack (the snare, which the accents
        hear in all bands and a kick in one or two; `_typical_fold`, so a crash on a kick
        opening a section is not taken for it) and half a period away from it, each a
        fraction of the kick cue's peak; (1, 1) without a kick. The kick cue peaks up to
        `kick_lag_s` after its attack (a kick swept down from 160 Hz reaches the pass band
        late), so each is the kick cue's most from a bin before to that long after."""
        bins = accent_fold.shape[0]
        kick = _smoothed(kick_fold)
        top = float(kick.max())
        if top <= 0:
            return 1.0, 1.0
        snare = int(np.argmax(_smoothed(accent_fold)))
        reach = math.ceil(self.settings.kick_lag_s * self.fr * bins / lag)
        near = np.arange(-1, reach + 1)
        under = kick[(snare + near) % bins].max()
        across = kick[(snare + bins // 2 + near) % bins].max()
        return float(under / top), float(across / top)

    def _halves_sound_alike(self, accents: np.ndarray, kick_fold: np.ndarray,
                            lag: float) -> bool:
        """Whether the two halves of period ``lag`` sound alike, given the accent ODF and
        the kick cue's fold: the accents' halves alike, or the kick cue's (a kick in both:
        four on the floor), or a kick in one half only while the accents' halves are
        `alternate_similarity` alike (a snare in the other: garage). The accents hear a
        snare far louder than a kick, hence the kick cue."""
        s = self.settings
        alike = _parts_alike(self._fold(accents, lag), 2)
        if alike >= s.octave_similarity:
            return True
        kicked = _parts_alike(kick_fold, 2)
        return kicked >= s.kick_halves or (alike >= s.alternate_similarity
                                           and kicked < s.alternate_kick)

    def _fold(self, odf: np.ndarray, lag: float, bins: int = 24) -> np.ndarray:
        """``odf`` summed into ``bins`` bins by position modulo ``lag`` frames (odf[0] at 0)."""
        m = odf.shape[0]
        phase, index = self._fold_phase[:m], self._fold_index[:m]
        np.multiply(self._frame_numbers[:m], bins / lag, out=phase)
        np.mod(phase, bins, out=phase)
        np.copyto(index, phase, casting="unsafe")  # floor, as the values are positive
        return np.bincount(index, weights=odf, minlength=bins)[:bins]

    def _typical_fold(self, odf: np.ndarray, lag: float, bins: int = 24) -> np.ndarray:
        """``odf`` folded like `_fold`, but each bin the median over the whole periods the
        history holds rather than their sum, so one loud moment does not stand for every
        period; `_fold` on less than two whole periods."""
        periods = int(odf.shape[0] // lag)
        if periods < 2:
            return self._fold(odf, lag, bins)
        m = math.ceil(periods * lag)  # the frames of whole periods
        index = self._fold_index[:m]
        # floor(n * bins / lag) counts the bins since odf[0]: period * bins + the bin.
        np.copyto(index, self._frame_numbers[:m] * (bins / lag), casting="unsafe")
        per_period = np.bincount(index, weights=odf[:m], minlength=periods * bins)
        return np.median(per_period[:periods * bins].reshape(periods, bins), axis=0)

    def _update_period(self, lag: float) -> None:
        if math.isnan(self.period):
            self.period = lag
            return
        if self._beats_outrank(lag):
            self._candidate, self._candidate_count = math.nan, 0
            return
        # Restarted after a re-lock on only a few seconds, the long window may pin the new
        # period but neither overrule it nor confirm it (its metrical level is a guess yet).
        heard = (self._valid_frames() >= self.n_frames
                 or self._frames - self._relocked_at >= self.n_frames)
        if abs(lag / self.period - 1) > TEMPO_SWITCH:
            if not heard:
                return
            if not math.isnan(self._candidate) and abs(lag / self._candidate - 1) < TEMPO_SWITCH:
                self._candidate_count += 1
            else:
                self._candidate, self._candidate_count = lag, 1
            confirm = max(1, round(self.settings.switch_confirm_s / self.settings.update_s))
            if self._candidate_count >= confirm:
                self.period = lag
                self._candidate, self._candidate_count = math.nan, 0
                self._disagree_s = self.settings.phase_jump_s  # re-phase at once
                self._anchor = math.nan
        else:
            self.period += 0.25 * (lag - self.period)
            self._candidate, self._candidate_count = math.nan, 0
            if heard:
                self._anchor = math.nan  # the long window confirms the re-locks

    def _beats_outrank(self, lag: float) -> bool:
        """Whether the newest beats' intervals (`_beat_period`) outrank a window's period
        estimate ``lag``: the beats land where the tracked period puts them, yet imply a
        period clearly apart from ``lag`` (a window trails a ramp by half its length), and
        not so far apart that ``lag`` may be another metrical level."""
        if not self._on_grid or math.isnan(self._beats):
            return False
        apart = abs(self._beats / lag - 1)
        return self.settings.beat_fit_range >= apart > self._beats_margin

    def _fit_beats(self) -> None:
        """The period the newest beat onsets imply (`_beat_period`), how far from another
        estimate it outranks it, and whether they confirm the tracked period."""
        s = self.settings
        self._beats, error, newest, predicted, scatter = self._beat_period()
        if math.isnan(self._beats):
            self._beats_hold = self._beat_predicted = False
            return
        self._beats_margin = max(s.beat_fit_switch, s.beat_fit_errors * error / self._beats)
        near = max(s.beat_hold * self.period, s.beat_hold_scatter * scatter)
        confirm = (self._newest_found
                   and abs(self._beats / self.period - 1) <= s.beat_fit_switch)
        self._beats_hold = confirm and abs(newest) <= near
        self._beat_predicted = confirm and abs(predicted) <= near

    def _follow_beats(self) -> None:
        """Moves the period towards the one the newest beats imply when they clearly differ
        (a ramp, which the windows' estimates trail)."""
        if math.isnan(self._beats):
            return
        if self._beats_outrank(self.period) and abs(self._beats / self.period - 1) <= (
                TEMPO_SWITCH):
            self.period = self._beats

    def _measure_beats(self) -> None:
        """Finds the onset of each emitted beat (the percussion ODF's peak within
        ``beat_window`` of a period of it) once the ODF holds its whole window."""
        period_n = self.period * self.frame
        half = self.settings.beat_window * period_n
        newest = self.n_frames - 1  # index of the newest frame, which ends at sample _n_end
        oldest = self.n_frames - self._valid_frames()
        view = self._perc.view
        floor = math.nan
        while self._beats_to_measure:
            beat = self._beats_to_measure[0]
            # An attack at sample n shows in the frame ending about odf_delay after it.
            hi = newest - (self._n_end - (beat + half) - self.odf_delay) / self.frame
            if hi > newest:
                break
            self._beats_to_measure.popleft()
            lo = int(math.ceil(hi - 2 * half / self.frame))
            hi = int(math.floor(hi))
            self._newest_found = False
            if lo < oldest or hi - lo < 2:
                continue
            self._missed += 1
            segment = view[lo:hi + 1]
            j = int(np.argmax(segment))
            if math.isnan(floor):
                floor = float(np.median(view[max(oldest, newest - self._challenge_max):]))
            height = float(segment[j]) - floor
            if j == 0 or j == segment.shape[0] - 1 or height <= 0:
                continue  # no onset inside the window: a rest, or the beat is off
            strong = (len(self._beat_heights) < self.settings.beat_fit_min or height >= (
                self.settings.beat_strength * float(np.median(self._beat_heights))))
            self._beat_heights.append(height)
            if not strong:
                continue  # a weaker attack than the beats': a drum-less part's chord, say
            frame = lo + j + _parabolic_offset(segment, j) - newest  # <= 0
            self._measured_at = self._frames
            self._beat_onsets.append(self._n_end + frame * self.frame - self.odf_delay)
            self._newest_found = True
            self._missed = 0

    def _beat_period(self) -> tuple[float, float, float, float, float]:
        """The period the newest beat onsets imply, its standard error, the newest onset's
        distance from the line, its distance from the line through the others (the newest
        pulls the line towards itself: for six beats the first is about half the second)
        and the onsets' scatter about the line (all in frames); nan when fewer than
        ``beat_fit_min`` were found. A least-squares line through their times."""
        n = len(self._beat_onsets)
        if n < self.settings.beat_fit_min:
            return math.nan, math.nan, math.nan, math.nan, math.nan
        # Six points: plain floats cost a tenth of numpy's per-call overhead here.
        onsets = list(self._beat_onsets)
        period_n = self.period * self.frame
        beats = [round((t - onsets[-1]) / period_n) for t in onsets]
        if len(set(beats)) < n:
            return math.nan, math.nan, math.nan, math.nan, math.nan
        mean_beat, mean_t = sum(beats) / n, sum(onsets) / n
        beats = [b - mean_beat for b in beats]
        times = [t - mean_t for t in onsets]
        spread = sum(b * b for b in beats)
        slope = sum(b * t for b, t in zip(beats, times, strict=True)) / spread
        residual = [t - slope * b for b, t in zip(beats, times, strict=True)]
        scatter = math.sqrt(sum(r * r for r in residual) / (n - 2))
        leverage = 1 / n + beats[-1] ** 2 / spread  # the newest onset's pull on the line
        return (slope / self.frame, scatter / math.sqrt(spread) / self.frame,
                residual[-1] / self.frame, residual[-1] / (1 - leverage) / self.frame,
                scatter / self.frame)

    def _fold_recent(self, *windows: SampleWindow) -> tuple[np.ndarray, ...]:
        """ODF histories folded at the beat period, recent frames weighted most: one fold per
        window, all of the same frames, so their phase bins are computed once.

        Bin k holds frames whose absolute number is k/bins of a period past a multiple of it.
        """
        histories = [self._history(window) for window in windows]
        if self._rephase:  # a re-lock measures the phase on its whole window, old tempo too
            start = self.n_frames - max(histories[0].shape[0],
                                        min(self._challenge_max, self._frames))
            histories = [window.view[start:] for window in windows]
        m = histories[0].shape[0]
        bins = max(8, int(round(self.period)))
        phase, index = self._fold_phase[:m], self._fold_index[:m]
        np.add(self._frame_numbers[:m], self._frames - m, out=phase)  # absolute frame numbers
        np.multiply(phase, bins / self.period, out=phase)
        np.mod(phase, bins, out=phase)
        np.copyto(index, phase, casting="unsafe")
        recency, weighted = self._recency[self.n_frames - m:], self._weighted[:m]
        folds = []
        for history in histories:
            np.multiply(self._positive_part(history, self._positive), recency, out=weighted)
            folds.append(np.bincount(index, weights=weighted, minlength=bins)[:bins])
        return tuple(folds)

    def _track_phase(self, folded: np.ndarray, accents: np.ndarray, kicks: np.ndarray,
                     n_end: int) -> None:
        """Steers the beat oscillator towards the phase the folds point to.

        ``accents`` (the accent ODF's fold) says which attack is the beat: the loudest, where
        the percussion ODF ``folded`` can score a ghost note after a rest higher. ``folded``
        says when it falls: its peak within 15 ms of the accents' (the accent ODF counts an
        attack's last decibels, which come a few ms late), and its height is the evidence, as
        before. ``kicks`` (the KickCue's fold) overrules the accents' pick where it holds a
        kick on every beat (`_kick_on_every_beat`).
        """
        bins = folded.shape[0]
        spread = 0.015 * self.fr * bins / self.period  # 15 ms of timing spread, in bins
        if self._kernel_bins != bins:  # the smoothing kernel only changes with the tempo
            width = max(spread, 0.3)
            k = np.arange(bins)
            kernel = np.exp(-0.5 * (np.minimum(k, bins - k) / width) ** 2)
            self._kernel_spectrum, self._kernel_bins = np.fft.rfft(kernel), bins
        smooth, accent, kick = np.fft.irfft(np.fft.rfft(np.stack((folded, accents, kicks)))
                                            * self._kernel_spectrum, n=bins)
        reach = max(1, round(spread))
        # A phase taken at once after a tempo change is the accents' pick: the new period may
        # be twice the beat, where a kick (or bass note) on every beat lands on both halves
        # and the kick fold's peak is a coin toss; the kick must then win the usual way.
        at_once = not math.isnan(self._next) and (
            self._rephase or self._disagree_s >= self.settings.phase_jump_s)
        kicked = -1 if at_once else self._kick_on_every_beat(kick, reach)
        if kicked < 0:
            loudest = int(np.argmax(accent))
        else:  # the loudest attack up to kick_lag_s before the kick cue's peak, which lags
            lag = round(self.settings.kick_lag_s * self.fr * bins / self.period)  # (KickCue)
            near = np.arange(kicked - lag, kicked + reach + 1) % bins
            loudest = int(near[np.argmax(accent[near])])
        near = np.arange(loudest - reach, loudest + reach + 1) % bins
        j = int(near[np.argmax(smooth[near])])
        phi = ((j + _parabolic_offset(smooth, j, circular=True)) / bins) % 1.0
        evidence = float(smooth[j])
        self._evidence = evidence
        decay = math.exp(-self.settings.update_s / self.settings.evidence_memory_s)
        self._evidence_ref = max(evidence, self._evidence_ref * decay)
        strong = evidence >= self.settings.hold_ratio * self._evidence_ref

        # An attack shows in the ODF of the frame ending about odf_delay samples after it.
        period_n = self.period * self.frame
        first_beat_n = phi * period_n + self.frame - self.odf_delay
        predicted = first_beat_n + math.ceil((n_end - first_beat_n) / period_n) * period_n
        if math.isnan(self._next):
            self._next = predicted
            return
        error = _wrap(predicted - self._next, period_n)
        if self._rephase:  # a re-lock: the old phase belongs to the old tempo
            self._next += error
            self._rephase, self._disagree_s = False, 0.0
        elif abs(error) < 0.2 * period_n:
            self._next += self.settings.phase_gain * error
            self._disagree_s = 0.0
        elif strong and math.isnan(self._override_period):
            self._disagree_s += self.settings.update_s
            if self._disagree_s >= self.settings.phase_jump_s:
                self._next += error
                self._disagree_s = 0.0
        # A correction must not bring the next beat back on top of the last one.
        while self._next <= self._last_beat + 0.5 * period_n:
            self._next += period_n

    def _kick_on_every_beat(self, kick: np.ndarray, reach: int) -> int:
        """The phase bin of a kick on every beat (four on the floor) in the smoothed KickCue
        fold ``kick``; -1 when there is none.

        The accent ODF hears a hat in about thirty mel bands and a kick in one, which the
        bass line shares: a mastered club loop's off-beat hats and bass notes outscored its
        kicks. A kick on every beat is the beat, but syncopated kicks are not (funk's fall
        on the off-beat on two beats of four, boom-bap's are spread over the bar; both
        follow the backbeat), so the kick picks the phase only where its fold peaks
        ``kick_lead`` times higher than half a beat away (a bass note leaks through the
        low-pass on the off-beats) and ``kick_every`` of the recent beats have a kick
        there at least ``kick_floor`` times as strong as their loudest.
        """
        s = self.settings
        bins = kick.shape[0]
        j = int(np.argmax(kick))
        away = np.arange(j + bins // 2 - reach, j + bins // 2 + reach + 1) % bins
        if not kick[j] > s.kick_lead * max(float(kick[away].max()), 0.0):
            return -1
        history = self._history(self._kicks)
        m = history.shape[0]
        # Beats centred on bin j: position past half a beat before it, in periods.
        frames = self._frame_numbers[:m] + (self._frames - m)
        position = frames / self.period - (j / bins - 0.5)
        beat = np.floor(position)
        near = np.abs(position - beat - 0.5) * bins <= reach
        if not near.any():
            return -1
        numbers = beat[near].astype(np.intp)
        numbers -= numbers[0]
        loudest = np.zeros(int(numbers[-1]) + 1)
        np.maximum.at(loudest, numbers, history[near])
        loudest = loudest[1:-1]  # the oldest and newest beats may be cut by the window
        if loudest.shape[0] < 4 or loudest.max() <= 0:
            return -1
        kicked = np.count_nonzero(loudest >= s.kick_floor * loudest.max())
        return j if kicked >= s.kick_every * loudest.shape[0] else -1

    @staticmethod
    def _positive_part(odf: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The ODF above its median (the steady floor carries no timing), into ``out``."""
        result = out[:odf.shape[0]]
        np.subtract(odf, np.median(odf), out=result)
        np.maximum(result, 0.0, out=result)
        return result


def _parabolic_offset(values: np.ndarray, i: int, *, circular: bool = False) -> float:
    """Sub-sample offset (-0.5..0.5) of the peak at ``i`` from a parabola through 3 points."""
    n = values.shape[0]
    if circular:
        a, b, c = values[(i - 1) % n], values[i], values[(i + 1) % n]
    elif 0 < i < n - 1:
        a, b, c = values[i - 1], values[i], values[i + 1]
    else:
        return 0.0
    denominator = a - 2 * b + c
    if denominator >= 0:
        return 0.0
    return float(np.clip(0.5 * (a - c) / denominator, -0.5, 0.5))


def _comb_salience(acf: np.ndarray, lo: int, hi: int, multiples: int = 4) -> np.ndarray:
    """For each lag in [lo, hi], the autocorrelation summed over its first multiples.

    A true beat period has peaks at every multiple; a period 1.5 beats long (the 3:2 error)
    only at every other one, so the sum tells them apart. Each multiple takes the best of
    the three nearest lags, as k * lag is rarely a whole frame. Shape (hi - lo + 1,).
    """
    limit = int(0.75 * acf.shape[0])
    lags = np.arange(lo, hi + 1)
    total = np.zeros(lags.shape[0], dtype=np.float64)
    for k in range(1, multiples + 1):
        at = k * lags
        ok = at + 1 < limit
        if not ok.any():
            break
        best = np.maximum(np.maximum(acf[at[ok] - 1], acf[at[ok]]), acf[at[ok] + 1])
        total[ok] += best
    return total


def _short_frames(lag_hi: float) -> int:
    """ODF frames the re-lock window needs for two multiples of ``lag_hi`` (see
    `_comb_salience`, which only reads the first three quarters of the ACF)."""
    return int(math.ceil(2 * lag_hi / 0.75)) + 3


def _harmonic_lag(acf: np.ndarray, lag: float, tolerance: float) -> float:
    """The period refined from the autocorrelation peaks at 1, 2, 3... times ``lag``.

    The k-th peak sits at k periods, so its position divided by k pins the period k times
    more finely than the first peak alone (a least-squares line through the origin).
    """
    positions, multiples = 0.0, 0.0
    k = 1
    while (k * lag) * (1 + tolerance) + 2 < acf.shape[0] * 0.5:
        lo = max(int(k * lag * (1 - tolerance)) - 1, 1)
        hi = int(math.ceil(k * lag * (1 + tolerance))) + 1
        i = int(np.argmax(acf[lo:hi + 1])) + lo
        positions += k * (i + _parabolic_offset(acf, i))
        multiples += k * k
        k += 1
    return positions / multiples if multiples else lag


def _smoothed(folded: np.ndarray) -> np.ndarray:
    """A folded ODF lightly smoothed (circularly, over three bins)."""
    return 0.25 * np.roll(folded, 1) + 0.5 * folded + 0.25 * np.roll(folded, -1)


def _parts_alike(folded: np.ndarray, parts: int) -> float:
    """How alike (0-1) the ``parts`` equal parts of a folded ODF (lightly smoothed) are."""
    split = _smoothed(folded).reshape(parts, -1)
    larger = split.max(axis=0).sum()
    return float(split.min(axis=0).sum() / larger) if larger > 0 else 0.0


class AubioBeatTracker:
    """``aubio.tempo("default", 1024, 512)``: aubio's beat tracker with its default settings.

    Beats are reported at the time aubio assigns them (``get_last``), which it only knows a
    few hops later; the flag itself comes in the hop where aubio detects the beat.
    """

    BUF, HOP = 1024, 512

    def __init__(self, settings: TempoSettings, *, sr: int, hop: int, frame: int,
                 odf_delay_samples: float) -> None:
        self.settings, self.sr = settings, sr
        self.reset()

    def reset(self) -> None:
        import aubio

        self._tempo = aubio.tempo("default", self.BUF, self.HOP, self.sr)
        self._hops = FixedHops(self.HOP)
        self._seen = 0  # samples given to aubio
        self._next = math.nan
        self._override = math.nan

    def tap(self, n: float) -> None:  # aubio has no tap tempo
        return None

    def set_bpm(self, bpm: float | None) -> None:
        self._override = math.nan if bpm is None else float(bpm)

    def step(self, *, block: np.ndarray, n_end: int, flux: float, flux_high: float,
            accent: float, onset: bool) -> TempoState:
        beat_n = math.nan
        offset = n_end - block.shape[0] - self._seen  # stream index of aubio's sample 0
        for hop in self._hops.feed(block):
            if self._tempo(hop)[0]:
                beat_n = float(self._tempo.get_last() + offset)
        self._seen += block.shape[0]
        bpm = self._override if not math.isnan(self._override) else float(self._tempo.get_bpm())
        if bpm <= 0:
            return UNKNOWN
        period_n = 60.0 * self.sr / bpm
        if not math.isnan(beat_n):
            self._next = beat_n + period_n
        if math.isnan(self._next):
            return TempoState(beat=False, bpm=bpm, confidence=0.0, phase=0.0,
                              next_beat_n=math.nan, beat_n=math.nan)
        while self._next <= n_end:
            self._next += period_n
        phase = min(max(1.0 - (self._next - n_end) / period_n, 0.0), math.nextafter(1.0, 0.0))
        return TempoState(beat=not math.isnan(beat_n), bpm=bpm,
                          confidence=float(min(1.0, self._tempo.get_confidence())),
                          phase=phase, next_beat_n=self._next, beat_n=beat_n)


BEAT_TRACKERS = {"predictive": PredictiveBeatTracker, "aubio": AubioBeatTracker}
