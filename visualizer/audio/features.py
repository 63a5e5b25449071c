"""The streaming, causal feature extractor: one hop of mono samples in, one `FeatureFrame` out.

Live capture, file playback and `gansmania analyze` all run this same object. Per hop it
computes the level, three bands, spectral flux, onsets, beat/tempo and chroma using only the
past; every buffer is allocated in the constructor.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from visualizer.audio.frames import N_CHROMA, SILENCE_DB, FeatureFrame
from visualizer.audio.onsets import (
    ONSET_DETECTORS,
    AubioOnsetDetector,
    MultiBandOnsetDetector,
    OnsetSettings,
)
from visualizer.audio.spectral import BANDS_HZ, ChromaSpectrum, OnsetSpectrum, fft_size_for
from visualizer.audio.tempo import BEAT_TRACKERS, TempoSettings
from visualizer.core.smoothing import AttackRelease

HOPS = (32, 64, 128, 256)  # allowed hops (samples); the sub-hop is 32 or 64
TEMPO_FRAME_S = 256 / 48000  # the beat tracker's ODF frame, about 5.3 ms


@dataclass(frozen=True)
class ExtractorSettings:
    sr: int = 48000  # sample rate, Hz
    hop: int = 256  # samples per FeatureFrame (one of HOPS)
    onset_detector: str = "multiband"  # a key of ONSET_DETECTORS
    beat_tracker: str = "predictive"  # a key of BEAT_TRACKERS
    onset: OnsetSettings = field(default_factory=OnsetSettings)
    tempo: TempoSettings = field(default_factory=TempoSettings)
    attack_s: float = 0.01  # band smoothing: rise time constant
    release_s: float = 0.25  # band smoothing: fall time constant
    chroma_smooth_s: float = 0.3  # chroma smoothing time constant (both directions)
    onset_decay_s: float = 0.2  # onset_envelope falls to 1/e in this time
    # low/mid/high_hit_envelope fall to 1/e in these times: a kick's pulse may linger, hats
    # every sixteenth (~110 ms at 136 BPM) need to fall between two hits.
    hit_decay_s: tuple[float, float, float] = (0.2, 0.15, 0.08)
    gain_memory_s: float = 10.0  # auto-gain forgets the loudest moment over this time
    gain_range_db: float = 30.0  # auto-gained values span this many dB below the loudest


class AutoGain:
    """Maps a dB value to 0-1 relative to the recent loudest (instant rise, slow fall)."""

    def __init__(self, *, range_db: float, memory_s: float, dt_s: float,
                 min_peak_db: float) -> None:
        self.range_db, self.min_peak_db = range_db, min_peak_db
        self._peak = AttackRelease(attack_s=0.0, release_s=memory_s, dt_s=dt_s)
        self._peak.reset(min_peak_db)

    def step(self, value_db: float) -> float:
        peak = max(float(self._peak.step(value_db)), self.min_peak_db)
        return min(max((value_db - (peak - self.range_db)) / self.range_db, 0.0), 1.0)


class FeatureExtractor:
    """Run `process` once per hop, in stream order. Not thread-safe except `tap`/`set_bpm`."""

    def __init__(self, settings: ExtractorSettings) -> None:
        sr, hop = settings.sr, settings.hop
        if hop not in HOPS:
            raise ValueError(f"hop {hop} not supported; allowed: {', '.join(map(str, HOPS))}")
        if settings.onset_detector not in ONSET_DETECTORS:
            raise ValueError(f"unknown onset detector {settings.onset_detector!r}; allowed: "
                             f"{', '.join(ONSET_DETECTORS)}")
        if settings.beat_tracker not in BEAT_TRACKERS:
            raise ValueError(f"unknown beat tracker {settings.beat_tracker!r}; allowed: "
                             f"{', '.join(BEAT_TRACKERS)}")
        self.settings = settings
        self.sr, self.hop = sr, hop
        self.sub_hop = math.gcd(hop, 64)
        self._n_sub = hop // self.sub_hop
        dt = hop / sr
        self._onset_fft = fft_size_for(sr, at_48k=1024)
        taper = fft_size_for(sr, at_48k=128)
        self._spectrum = OnsetSpectrum(sr=sr, n_fft=self._onset_fft, taper=taper,
                                       sub_hop=self.sub_hop)
        # The flux crosses the onset threshold about a third of a taper after an attack
        # (42 samples at 48 kHz, measured with clicks by bench/audio_cost.py).
        self.flux_delay_samples = taper / 3
        if settings.onset_detector == "aubio":
            self._onsets = AubioOnsetDetector(settings.onset, sr=sr, hop=hop)
        else:
            self._onsets = ONSET_DETECTORS[settings.onset_detector](
                settings.onset, sr=sr, sub_hop=self.sub_hop,
                delay_samples=self.flux_delay_samples)
        # The per-band hits come from the multiband detector whichever detector sets `onset`.
        # (Only its hits: its slow path, which adds onsets and no hits, stays off.)
        self._hits = (self._onsets if isinstance(self._onsets, MultiBandOnsetDetector) else
                      MultiBandOnsetDetector(replace(settings.onset, slow_threshold=0.0), sr=sr,
                                             sub_hop=self.sub_hop,
                                             delay_samples=self.flux_delay_samples))
        if min(settings.hit_decay_s) <= 0.0:
            raise ValueError(f"hit_decay_s {settings.hit_decay_s} must be > 0 s each")
        self._hit_decay = np.exp(-dt / np.asarray(settings.hit_decay_s, dtype=np.float64))
        self._hit_envelope = np.zeros(3, dtype=np.float64)
        frame = hop * max(1, round(TEMPO_FRAME_S * sr / hop))
        # The flux rise spans two sub-hops (it compares with two sub-hops back), so its
        # centre of mass trails the threshold crossing by half a sub-hop.
        self.tracker = BEAT_TRACKERS[settings.beat_tracker](
            settings.tempo, sr=sr, hop=hop, frame=frame,
            odf_delay_samples=self.flux_delay_samples + self.sub_hop / 2)
        self._chroma = ChromaSpectrum(sr=sr, n_fft=fft_size_for(sr, at_48k=4096))
        self._chroma_every = max(1, round(0.02 * sr / hop))  # ~50 chroma updates per second
        self._chroma_smooth = AttackRelease(attack_s=settings.chroma_smooth_s,
                                            release_s=settings.chroma_smooth_s, dt_s=dt,
                                            size=N_CHROMA)
        self._band_weights = self._band_matrix()
        self._band_energy = np.zeros(len(BANDS_HZ), dtype=np.float32)
        gain = dict(range_db=settings.gain_range_db, memory_s=settings.gain_memory_s, dt_s=dt)
        silence = settings.onset.silence_db
        self._level_gain = AutoGain(min_peak_db=silence + 20, **gain)
        self._band_gains = [AutoGain(min_peak_db=silence + 10, **gain) for _ in BANDS_HZ]
        self._band_smooth = [AttackRelease(attack_s=settings.attack_s,
                                           release_s=settings.release_s, dt_s=dt)
                             for _ in BANDS_HZ]
        self._flux_peak = AttackRelease(attack_s=0.0, release_s=settings.gain_memory_s, dt_s=dt)
        self._onset_decay = math.exp(-dt / settings.onset_decay_s)
        self._flux = np.zeros(self._n_sub, dtype=np.float32)
        self._flux_high = np.zeros(self._n_sub, dtype=np.float32)
        self._accent = np.zeros(self._n_sub, dtype=np.float32)
        self._flux_bands = np.zeros((self._n_sub, 3), dtype=np.float32)
        self._band_levels = np.zeros((self._n_sub, 3), dtype=np.float32)
        self._taps: deque[float] = deque()
        self.reset()

    def _band_matrix(self) -> np.ndarray:
        """Rows select the power-spectrum bins of each band: shape (3, n_fft // 2 + 1)."""
        freqs = np.fft.rfftfreq(self._onset_fft, 1.0 / self.sr)
        rows = [((freqs >= lo) & (freqs < hi)).astype(np.float32) for _, lo, hi in BANDS_HZ]
        return np.stack(rows)

    def reset(self) -> None:
        self.n = 0  # samples processed
        self.hop_index = 0
        self.onset_n: int | None = None  # sample index of this hop's onset, when there is one
        self.beat_n: float = math.nan  # sample index of this hop's beat, when there is one
        self._envelope = 0.0
        self._hit_envelope.fill(0.0)
        self._last_t = math.nan
        self._spectrum.reset()
        self._onsets.reset()
        self._hits.reset()
        self.tracker.reset()
        self._chroma.reset()
        self._chroma_smooth.reset()
        for smooth in self._band_smooth:
            smooth.reset()

    @property
    def onset_delay_samples(self) -> float:
        """Algorithmic delay of the onset flag after the attack, averaged over attack positions.

        The detector looks every ``granularity`` samples and fires ``delay_samples`` after the
        attack; the flag then waits for the end of the hop.
        """
        return self._onsets.delay_samples + (self.hop - self._onsets.granularity) / 2

    # -------------------------------------------------------------------- control

    def tap(self, t: float) -> None:
        """A tap-tempo tap at ``t`` (time.monotonic() s); safe from any thread."""
        self._taps.append(t)

    def set_bpm(self, bpm: float | None) -> None:
        """Fix the tempo at ``bpm`` (None: automatic again); safe from any thread."""
        self.tracker.set_bpm(bpm)

    # -------------------------------------------------------------------- per hop

    def process(self, block: np.ndarray, *, t_audio: float) -> FeatureFrame:
        """Analyse one hop. ``block``: shape (hop,), float32 mono; ``t_audio``: capture time
        (time.monotonic() s) of its last sample."""
        hop, s = self.hop, self.sub_hop
        self.n += hop
        n_end = self.n
        while self._taps:
            self.tracker.tap(n_end + (self._taps.popleft() - t_audio) * self.sr)

        mean_square = float(np.dot(block, block)) / hop
        rms_db = 10.0 * math.log10(mean_square) if mean_square > 1e-10 else SILENCE_DB
        silent = rms_db <= self.settings.onset.silence_db

        for i in range(self._n_sub):
            self._flux[i], self._flux_high[i] = self._spectrum.step(block[i * s:(i + 1) * s])
            self._flux_bands[i] = self._spectrum.band_flux
            self._accent[i] = self._spectrum.accent
            self._band_levels[i] = self._spectrum.band_level
        self.onset_n = self._onsets.step(block=block, flux=self._flux, bands=self._flux_bands,
                                         levels=self._band_levels, n_end=n_end, level_db=rms_db)
        if self._hits is not self._onsets:
            self._hits.step(block=block, flux=self._flux, bands=self._flux_bands,
                            levels=self._band_levels, n_end=n_end, level_db=rms_db)
        hits = self._hits.hits
        self._hit_envelope *= self._hit_decay
        self._hit_envelope[hits] = 1.0
        onset = self.onset_n is not None
        flux = float(self._flux.sum())
        tempo = self.tracker.step(block=block, n_end=n_end, flux=flux,
                                 flux_high=float(self._flux_high.sum()),
                                 accent=float(self._accent.sum()), onset=onset)
        self.beat_n = tempo.beat_n

        np.matmul(self._band_weights, self._spectrum.power, out=self._band_energy)
        bands = []
        for energy, gain, smooth in zip(self._band_energy, self._band_gains, self._band_smooth):
            value = 0.0 if silent else gain.step(10.0 * math.log10(float(energy) + 1e-12))
            bands.append((value, float(smooth.step(value))))

        self._chroma.update(block)
        # Tempo frames end on odd hops when they span two or more, so even hops take chroma.
        if self.hop_index % self._chroma_every == 0:
            if silent:
                self._chroma.chroma.fill(0.0)
            else:
                self._chroma.compute()
        chroma = self._chroma_smooth.step(self._chroma.chroma)

        peak = max(float(self._flux_peak.step(flux)), self.settings.onset.delta)
        self._envelope = 1.0 if onset else self._envelope * self._onset_decay
        level = 0.0 if silent else self._level_gain.step(rms_db)
        known = not math.isnan(tempo.next_beat_n)
        frame = FeatureFrame(
            t_audio=t_audio, hop_index=self.hop_index, rms_db=rms_db, level=level,
            bass=bands[0][0], mid=bands[1][0], high=bands[2][0],
            bass_smooth=bands[0][1], mid_smooth=bands[1][1], high_smooth=bands[2][1],
            flux=min(flux / peak, 1.0), onset=onset, onset_envelope=self._envelope,
            beat=tempo.beat, bpm=tempo.bpm, bpm_confidence=tempo.confidence,
            beat_phase=tempo.phase,
            next_beat_t=t_audio + (tempo.next_beat_n - n_end) / self.sr if known else 0.0,
            chroma=tuple(chroma.tolist()),
            low_hit=bool(hits[0]), mid_hit=bool(hits[1]), high_hit=bool(hits[2]),
            low_hit_envelope=float(self._hit_envelope[0]),
            mid_hit_envelope=float(self._hit_envelope[1]),
            high_hit_envelope=float(self._hit_envelope[2]))
        self.hop_index += 1
        return frame


def extractor_settings(audio, *, sr: int | None = None, hop: int | None = None
                       ) -> ExtractorSettings:
    """ExtractorSettings from the show config's [audio] section (`visualizer.settings`)."""
    if audio.max_bpm < 2 * audio.min_bpm:
        from visualizer.core.errors import ConfigError

        raise ConfigError(f"audio.max_bpm ({audio.max_bpm:g}) must be at least twice "
                          f"audio.min_bpm ({audio.min_bpm:g}), or some tempi have no octave")
    onset = OnsetSettings(threshold=audio.onset_threshold, silence_db=audio.onset_silence_db,
                          min_ioi_s=audio.onset_min_ioi_s)
    tempo = TempoSettings(min_bpm=audio.min_bpm, max_bpm=audio.max_bpm)
    return ExtractorSettings(sr=sr or audio.sample_rate, hop=hop or audio.hop,
                             onset_detector=audio.onset_detector,
                             beat_tracker=audio.beat_tracker, onset=onset, tempo=tempo,
                             attack_s=audio.attack_s,
                             release_s=audio.release_s)
