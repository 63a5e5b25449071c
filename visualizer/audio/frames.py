"""The audio engine's contract with the rest of the show: one `FeatureFrame` per analysis hop.

The analysis thread builds a frame for every hop of captured audio and publishes it into a
latest-value slot (the live loop reads the newest) and a short history ring (the HUD and
recorders read the recent past). Frames are frozen, so they cross threads without locks.

Times are ``time.monotonic()`` seconds on the capture clock, so audio->photon latency can be
measured by subtracting ``t_audio`` from the present time.
"""

from __future__ import annotations

from dataclasses import dataclass

N_CHROMA = 12
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
SILENCE_DB = -100.0  # the rms_db of digital silence (and of a failed device)


@dataclass(frozen=True, slots=True)
class FeatureFrame:
    """Everything the visuals may react to, for one hop of audio.

    Values named 0-1 are auto-gained (relative to the recent loudest) so a quiet room and a
    loud club drive the visuals alike; ``rms_db`` is the absolute level.
    """

    t_audio: float  # capture time (time.monotonic() s) of the hop's last sample
    hop_index: int  # hops since the analysis started (0, 1, 2, ...)
    rms_db: float  # RMS level of the hop, dBFS (SILENCE_DB for silence)
    level: float  # loudness, auto-gained 0-1
    bass: float  # band energy 20-250 Hz, auto-gained 0-1, this hop
    mid: float  # band energy 250-4000 Hz, auto-gained 0-1, this hop
    high: float  # band energy 4-16 kHz, auto-gained 0-1, this hop
    bass_smooth: float  # `bass` through attack/release smoothing, 0-1
    mid_smooth: float  # `mid` through attack/release smoothing, 0-1
    high_smooth: float  # `high` through attack/release smoothing, 0-1
    flux: float  # spectral flux (log-band, rectified), auto-gained 0-1
    onset: bool  # an onset was detected in this hop
    onset_envelope: float  # 1 at an onset, decaying to 0 (about 0.2 s), 0-1
    beat: bool  # a beat falls in this hop
    bpm: float  # current tempo, beats per minute; 0.0 while unknown
    bpm_confidence: float  # how sure the tempo is, 0-1 (0 while unknown or silent)
    beat_phase: float  # position inside the current beat, [0, 1); 0 at the beat
    next_beat_t: float  # predicted time (time.monotonic() s) of the next beat; 0.0 while unknown
    chroma: tuple[float, ...]  # 12 pitch-class energies (index 0 = C), max-normalised, smoothed
    # Per-band hits (`visualizer.audio.onsets`, bands `spectral.HIT_BANDS_HZ`): named by band,
    # not instrument, because a band cannot tell a snare from a chord stab. In dance music
    # low ~ kick (and bass notes), mid ~ snare/clap/stabs, high ~ hats/shakers.
    low_hit: bool  # an attack below ~150 Hz in this hop
    mid_hit: bool  # an attack at ~150 Hz-5 kHz in this hop
    high_hit: bool  # an attack above ~5 kHz in this hop
    low_hit_envelope: float  # 1 at a low hit, decaying to 0 (about 0.2 s), 0-1
    mid_hit_envelope: float  # 1 at a mid hit, decaying to 0 (about 0.15 s), 0-1
    high_hit_envelope: float  # 1 at a high hit, decaying to 0 (about 0.08 s), 0-1


def silent_frame(*, t_audio: float, hop_index: int, bpm: float = 0.0,
                 beat_phase: float = 0.0, next_beat_t: float = 0.0) -> FeatureFrame:
    """The frame published for silence or a failed device: no energy, no events.

    A tempo that was known may keep running (``bpm``/``beat_phase``/``next_beat_t``) so the
    visuals stay in time through a short dropout; confidence is zero.
    """
    return FeatureFrame(
        t_audio=t_audio, hop_index=hop_index, rms_db=SILENCE_DB, level=0.0,
        bass=0.0, mid=0.0, high=0.0, bass_smooth=0.0, mid_smooth=0.0, high_smooth=0.0,
        flux=0.0, onset=False, onset_envelope=0.0, beat=False, bpm=bpm, bpm_confidence=0.0,
        beat_phase=beat_phase, next_beat_t=next_beat_t, chroma=(0.0,) * N_CHROMA,
        low_hit=False, mid_hit=False, high_hit=False, low_hit_envelope=0.0,
        mid_hit_envelope=0.0, high_hit_envelope=0.0)

