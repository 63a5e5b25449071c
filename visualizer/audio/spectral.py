"""Streaming spectra for the feature extractor: everything preallocated, one call per sub-hop.

`OnsetSpectrum` is the fast path: a short analysis window whose newest edge has only a short
taper, so a new attack shows up in the spectrum within ~``taper`` samples instead of half a
window (what a symmetric Hann window costs). From it come the onset detection function (log-band
spectral flux), the three bands and the flux the visuals see. `ChromaSpectrum` is the slow path:
a long Hann window for pitch resolution, recomputed every few hops.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

HIGH_BAND_HZ = 2000.0  # flux above this is mostly percussion: it marks where beats fall
BANDS_HZ = (("bass", 20.0, 250.0), ("mid", 250.0, 4000.0), ("high", 4000.0, 16000.0))
# The onset detector's bands, split where drums separate: a kick's thump lies below ~150 Hz,
# a snare's body and most notes between, hats and shakers above ~5 kHz.
HIT_BANDS_HZ = (("low", 30.0, 150.0), ("mid", 150.0, 5000.0), ("high", 5000.0, 16000.0))


def fft_size_for(sr: int, *, at_48k: int) -> int:
    """The power of two nearest ``at_48k * sr / 48000``: windows last as long at any rate."""
    return 1 << max(5, round(math.log2(at_48k * sr / 48000)))


class FixedHops:
    """Blocks of any length regrouped into hops of exactly ``size`` samples, for the aubio
    objects that take one hop per call; what is left over waits for the next block."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._hop = np.zeros(size, dtype=np.float32)
        self._filled = 0

    def feed(self, block: np.ndarray) -> Iterator[np.ndarray]:
        """Each hop ``block`` completes, in order: one buffer, reused (use it before the next)."""
        start = 0
        while start < block.shape[0]:
            take = min(self.size - self._filled, block.shape[0] - start)
            self._hop[self._filled:self._filled + take] = block[start:start + take]
            self._filled += take
            start += take
            if self._filled == self.size:
                self._filled = 0
                yield self._hop

    def clear(self) -> None:
        self._filled = 0


class SampleWindow:
    """The newest ``size`` samples, always contiguous, updated with one copy per block.

    A mirrored ring: every sample is stored twice, ``size`` apart, so the last ``size``
    samples are one slice and no per-block shifting or allocation is needed.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._data = np.zeros(2 * size, dtype=np.float32)
        self._pos = 0

    def push(self, block: np.ndarray) -> None:
        n, size, pos = block.shape[0], self.size, self._pos
        if n >= size:
            self._data[:size] = block[n - size:]
            self._data[size:] = block[n - size:]
            self._pos = 0
            return
        first = min(n, size - pos)
        self._data[pos:pos + first] = block[:first]
        self._data[pos + size:pos + size + first] = block[:first]
        if first < n:
            self._data[:n - first] = block[first:]
            self._data[size:size + n - first] = block[first:]
        self._pos = (pos + n) % size

    @property
    def view(self) -> np.ndarray:
        """Shape (size,), oldest first; valid until the next `push`."""
        return self._data[self._pos:self._pos + self.size]

    def clear(self) -> None:
        self._data.fill(0.0)


def fast_attack_window(size: int, *, taper: int) -> np.ndarray:
    """A window rising over ``size - taper`` old samples and falling over the newest ``taper``.

    Shape (size,), float32, peak 1. The short newest taper is what keeps onset latency low.
    """
    window = np.zeros(size, dtype=np.float64)
    rise = size - taper
    window[:rise] = np.hanning(2 * rise)[:rise]
    window[rise:] = np.hanning(2 * taper)[taper:]
    return window.astype(np.float32)


def band_matrix(*, sr: int, n_fft: int, n_bands: int, fmin_hz: float,
                fmax_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Mel-spaced triangular bands, each row summing to 1: shape (n_bands, n_fft // 2 + 1).

    Returns the matrix and the band centre frequencies (Hz), shape (n_bands,).
    """
    import librosa

    fmax_hz = min(fmax_hz, sr / 2)
    weights = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_bands, fmin=fmin_hz,
                                  fmax=fmax_hz, norm=None)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    centres = librosa.mel_frequencies(n_bands + 2, fmin=fmin_hz, fmax=fmax_hz)[1:-1]
    return weights.astype(np.float32), centres


class OnsetSpectrum:
    """Log-band spectral flux of the newest ``n_fft`` samples under a fast-attack window.

    Call `step` once per sub-hop with that sub-hop's samples; it returns the onset detection
    function: the mean over bands of the rise of log band energy since ``flux_lag`` steps
    ago (half-wave rectified), for all bands and for the bands above HIGH_BAND_HZ.
    ``power`` (shape (n_fft // 2 + 1,)) holds the newest power spectrum, in amplitude^2 units
    (a full-scale sine peaks near 1); ``band_level`` (shape (3,)) the mean log band energy
    per HIT_BANDS_HZ band (natural log of power above the floor); ``band_flux`` the rise per
    band (mean over the mel bands whose centre lies in it), measured against the loudest of
    the ``hit_reference_s`` (per band) before ``flux_lag``: in the low band 60 ms holds a bass
    note's energy ripple (its period spans much of the window, so the energy swings with the
    waveform's phase) and the chance peaks of the few FFT bins below 150 Hz, which otherwise
    read as a train of small attacks; above, 6 ms keeps a hat right after a hat visible.
    ``accent`` is the ODF again (all bands plus the high ones, as the beat tracker weights
    them) with each band's log energy floored ``accent_range_db`` under its recent loudest:
    an attack counts by how loud it gets, not by how far it climbs from silence. Plain log
    flux scores a ghost note after a rest like a full hit, and the ghost's tail takes most of
    the next beat's rise (on a breakbeat with ghost snares the last sixteenth scored about
    twice the beat). The recent loudest falls by the range over ``accent_memory_s``, so a
    quieter passage is heard again after a breakdown.
    """

    def __init__(self, *, sr: int, n_fft: int, taper: int, n_bands: int = 40,
                 floor_db: float = -80.0, flux_lag: int = 2, sub_hop: int = 64,
                 hit_reference_s: tuple[float, float, float] = (0.06, 0.006, 0.006),
                 accent_range_db: float = 15.0, accent_memory_s: float = 2.0) -> None:
        self.sr, self.n_fft, self.taper, self.flux_lag = sr, n_fft, taper, flux_lag
        self._samples = SampleWindow(n_fft)
        self._window = fast_attack_window(n_fft, taper=taper)
        self._bands, centres = band_matrix(sr=sr, n_fft=n_fft, n_bands=n_bands, fmin_hz=30.0,
                                           fmax_hz=16000.0)
        # Band centres rise with the index, so the high bands are the tail from _high_start.
        self._high_start = int(np.searchsorted(centres, HIGH_BAND_HZ))
        self._inv_bands = 1.0 / n_bands
        self._inv_high = 1.0 / max(n_bands - self._high_start, 1)
        # log1p(gain * energy): about log(energy) above the floor and ~0 below it, so the flux
        # does not depend on the input gain and ignores changes in the noise floor.
        self._gain = float(10.0 ** (-floor_db / 10.0))
        self._scale = np.float32(2.0 / self._window.sum())  # amplitude units
        self._frame = np.zeros(n_fft, dtype=np.float32)
        self._spectrum = np.zeros(n_fft // 2 + 1, dtype=np.complex64)
        self._magnitude = np.zeros(n_fft // 2 + 1, dtype=np.float32)
        self.power = np.zeros(n_fft // 2 + 1, dtype=np.float32)
        self._energy = np.zeros(n_bands, dtype=np.float32)
        self._history = np.zeros((flux_lag + 1, n_bands), dtype=np.float32)  # log band energy
        self._rise = np.zeros(n_bands, dtype=np.float32)
        self._step = 0
        edges = [int(np.searchsorted(centres, lo)) for _, lo, _ in HIT_BANDS_HZ] + [n_bands]
        self._hit_slices = [slice(a, max(b, a + 1)) for a, b in zip(edges[:-1], edges[1:])]
        self.band_flux = np.zeros(len(HIT_BANDS_HZ), dtype=np.float32)
        self.band_level = np.zeros(len(HIT_BANDS_HZ), dtype=np.float32)  # mean log energy
        # Per band, a ring of the log energies from before the lag.
        self._older = [np.zeros((max(1, round(seconds * sr / sub_hop)), part.stop - part.start),
                                dtype=np.float32)
                       for seconds, part in zip(hit_reference_s, self._hit_slices)]
        self._reference = np.zeros(n_bands, dtype=np.float32)
        # The accent floor, in the natural-log energy units of the history; the recent loudest
        # falls by the range over accent_memory_s.
        self._accent_range = np.float32(accent_range_db / 10.0 * math.log(10.0))
        self._accent_fall = np.float32(self._accent_range * sub_hop / sr / accent_memory_s)
        self._loudest = np.zeros(n_bands, dtype=np.float32)
        self._floor = np.zeros(n_bands, dtype=np.float32)
        self._accent_rise = np.zeros(n_bands, dtype=np.float32)
        # The accent sums the mean over all bands and the mean over the high ones: one dot.
        self._accent_weights = np.full(n_bands, self._inv_bands, dtype=np.float32)
        self._accent_weights[self._high_start:] += self._inv_high
        self.accent = 0.0
        self._hit_rise = np.zeros(n_bands, dtype=np.float32)
        # Rows average a band's mel bands: one matmul instead of a mean per band.
        self._hit_mean = np.zeros((len(HIT_BANDS_HZ), n_bands), dtype=np.float32)
        for k, part in enumerate(self._hit_slices):
            self._hit_mean[k, part] = 1.0 / (part.stop - part.start)

    def step(self, block: np.ndarray) -> tuple[float, float]:
        """Push one sub-hop (shape (n,)); returns (flux over all bands, flux over high bands)."""
        self._samples.push(block)
        np.multiply(self._samples.view, self._window, out=self._frame)
        np.fft.rfft(self._frame, out=self._spectrum)
        np.abs(self._spectrum, out=self._magnitude)
        self._magnitude *= self._scale
        np.multiply(self._magnitude, self._magnitude, out=self.power)
        np.matmul(self._bands, self.power, out=self._energy)
        self._energy *= self._gain
        newest = self._history[self._step % (self.flux_lag + 1)]
        np.log1p(self._energy, out=newest)
        oldest = self._history[(self._step + 1) % (self.flux_lag + 1)]
        for older, part in zip(self._older, self._hit_slices):
            older[self._step % older.shape[0]] = oldest[part]
            np.maximum.reduce(older, axis=0, out=self._reference[part])  # np.max: 4x slower
        self._step += 1
        np.subtract(newest, oldest, out=self._rise)
        np.maximum(self._rise, 0.0, out=self._rise)
        np.subtract(newest, self._reference, out=self._hit_rise)
        np.maximum(self._hit_rise, 0.0, out=self._hit_rise)
        np.matmul(self._hit_mean, self._hit_rise, out=self.band_flux)
        np.matmul(self._hit_mean, newest, out=self.band_level)
        full = float(self._rise.sum()) * self._inv_bands
        high = float(self._rise[self._high_start:].sum()) * self._inv_high
        self.accent = self._accent(newest, oldest)
        return full, high

    def _accent(self, newest: np.ndarray, oldest: np.ndarray) -> float:
        """The rise since ``oldest`` of log band energies floored under the recent loudest."""
        np.subtract(self._loudest, self._accent_fall, out=self._loudest)
        np.maximum(self._loudest, newest, out=self._loudest)
        np.subtract(self._loudest, self._accent_range, out=self._floor)
        # max(newest, floor) - max(oldest, floor), clipped at 0: newest under the floor
        # leaves no rise either way.
        np.maximum(oldest, self._floor, out=self._floor)
        np.subtract(newest, self._floor, out=self._accent_rise)
        np.maximum(self._accent_rise, 0.0, out=self._accent_rise)
        return float(np.dot(self._accent_weights, self._accent_rise))

    def reset(self) -> None:
        self._samples.clear()
        self._history.fill(0.0)
        self._loudest.fill(0.0)
        self.accent = 0.0
        for older in self._older:
            older.fill(0.0)


class ChromaSpectrum:
    """12 pitch-class energies of the newest ``n_fft`` samples (Hann window).

    The chroma filter bank comes from librosa and is built once. `update` takes the samples
    pushed since the last call; `compute` evaluates (costly: call it every few hops).
    """

    def __init__(self, *, sr: int, n_fft: int) -> None:
        import librosa

        self.n_fft = n_fft
        self._samples = SampleWindow(n_fft)
        self._window = np.hanning(n_fft).astype(np.float32)
        self._filters = librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=0.0).astype(np.float32)
        self._frame = np.zeros(n_fft, dtype=np.float32)
        self._spectrum = np.zeros(n_fft // 2 + 1, dtype=np.complex64)
        self._power = np.zeros(n_fft // 2 + 1, dtype=np.float32)
        self.chroma = np.zeros(12, dtype=np.float32)  # max-normalised, 0-1

    def update(self, block: np.ndarray) -> None:
        self._samples.push(block)

    def compute(self) -> np.ndarray:
        """Recompute and return ``chroma`` (shape (12,), index 0 = C, max 1; zeros if silent)."""
        np.multiply(self._samples.view, self._window, out=self._frame)
        np.fft.rfft(self._frame, out=self._spectrum)
        np.abs(self._spectrum, out=self._power)
        np.multiply(self._power, self._power, out=self._power)
        np.matmul(self._filters, self._power, out=self.chroma)
        peak = float(self.chroma.max())
        if peak > 0.0:
            self.chroma /= peak
        else:
            self.chroma.fill(0.0)
        return self.chroma

    def reset(self) -> None:
        self._samples.clear()
        self.chroma.fill(0.0)
