"""The extractor's per-hop features on signals with a known answer: chords, tones, silence."""

import numpy as np
import pytest

from tests.signals import SR, chirp, chord, silence
from visualizer.audio.analyzer import analyze_audio
from visualizer.audio.features import ExtractorSettings, FeatureExtractor
from visualizer.audio.frames import PITCH_CLASSES, SILENCE_DB, FeatureFrame


def frames_of(audio: np.ndarray, *, hop: int = 256, sr: int = SR) -> list[FeatureFrame]:
    extractor = FeatureExtractor(ExtractorSettings(sr=sr, hop=hop))
    return [extractor.process(audio[i * hop:(i + 1) * hop], t_audio=(i + 1) * hop / sr)
            for i in range(audio.shape[0] // hop)]


def top_pitch_classes(chroma, n=3) -> set[str]:
    return {PITCH_CLASSES[i] for i in np.argsort(chroma)[::-1][:n]}


@pytest.mark.parametrize("notes, expected", [
    ((57, 61, 64), {"A", "C#", "E"}),  # A major: A3 C#4 E4
    ((45, 49, 52), {"A", "C#", "E"}),  # an octave lower
    ((60, 64, 67), {"C", "E", "G"}),  # C major
])
def test_triad_chroma_peaks_on_its_three_notes(notes, expected):
    frames = frames_of(chord(notes, duration_s=2.0))
    assert top_pitch_classes(frames[-1].chroma) == expected
    assert max(frames[-1].chroma) == pytest.approx(1.0, abs=0.05)


def test_analyze_reports_chroma_per_second():
    result = analyze_audio(chord((57, 61, 64), duration_s=3.0), sr=SR)
    assert len(result.chroma) == 3
    assert all(len(row) == 12 for row in result.chroma)
    assert top_pitch_classes(result.chroma[2]) == {"A", "C#", "E"}


def test_bands_follow_the_frequency_of_a_tone():
    t = np.arange(2 * SR) / SR
    low = (0.3 * np.sin(2 * np.pi * 80 * t)).astype(np.float32)
    high = (0.3 * np.sin(2 * np.pi * 8000 * t)).astype(np.float32)
    low_frame, high_frame = frames_of(low)[-1], frames_of(high)[-1]
    assert low_frame.bass > 0.9 and low_frame.high < 0.3
    assert high_frame.high > 0.9 and high_frame.bass < 0.3


def test_smoothed_bands_rise_fast_and_fall_slowly():
    t = np.arange(SR) / SR
    burst = np.concatenate([(0.3 * np.sin(2 * np.pi * 80 * t)).astype(np.float32),
                            silence(duration_s=1.0)])
    frames = frames_of(burst)
    onset_hops = int(0.05 * SR / 256)
    assert frames[onset_hops].bass_smooth > 0.9  # 10 ms attack: up within 50 ms
    after = frames[int(1.05 * SR / 256)]  # 50 ms into the silence: the raw band is 0 ...
    assert after.bass == 0.0 and after.bass_smooth > 0.5  # ... the 250 ms release is not


def test_silence_is_all_zero_and_no_events():
    for frame in frames_of(silence(duration_s=2.0)):
        assert frame.rms_db == SILENCE_DB
        assert frame.level == 0.0 and frame.flux == 0.0
        assert (frame.bass, frame.mid, frame.high) == (0.0, 0.0, 0.0)
        assert not frame.onset and not frame.beat
        assert not (frame.low_hit or frame.mid_hit or frame.high_hit)
        assert (frame.low_hit_envelope, frame.mid_hit_envelope, frame.high_hit_envelope) == (0, 0, 0)
        assert frame.chroma == (0.0,) * 12
        assert frame.bpm == 0.0 and frame.next_beat_t == 0.0


def test_every_value_stays_in_its_range_on_a_chirp():
    audio = np.concatenate([chirp(f0_hz=40, f1_hz=15000, duration_s=3.0),
                            chord((57, 61, 64), duration_s=1.0)])
    frames = frames_of(audio, hop=128)
    assert [f.hop_index for f in frames] == list(range(len(frames)))
    for f in frames:
        for value in (f.level, f.bass, f.mid, f.high, f.bass_smooth, f.mid_smooth,
                      f.high_smooth, f.flux, f.onset_envelope, f.bpm_confidence, *f.chroma,
                      f.low_hit_envelope, f.mid_hit_envelope, f.high_hit_envelope):
            assert 0.0 <= value <= 1.0
        assert 0.0 <= f.beat_phase < 1.0
    # the sweep (40 Hz -> 15 kHz in 3 s) lights the bands in order
    def loudest(t_s: float) -> str:
        frame = frames[int(t_s * SR / 128)]
        return max(("bass", "mid", "high"), key=lambda band: getattr(frame, band))

    assert [loudest(0.5), loudest(1.6), loudest(2.8)] == ["bass", "mid", "high"]


def test_unsupported_hop_or_names_are_refused():
    with pytest.raises(ValueError, match="hop"):
        FeatureExtractor(ExtractorSettings(hop=100))
    with pytest.raises(ValueError, match="onset detector"):
        FeatureExtractor(ExtractorSettings(onset_detector="magic"))
    with pytest.raises(ValueError, match="beat tracker"):
        FeatureExtractor(ExtractorSettings(beat_tracker="magic"))


@pytest.mark.parametrize("sr", [22050, 44100, 96000])
def test_other_sample_rates_work(sr):
    frames = frames_of(chord((57, 61, 64), duration_s=1.5, sr=sr), sr=sr)
    assert top_pitch_classes(frames[-1].chroma) == {"A", "C#", "E"}


def test_kicks_light_the_low_band_and_the_preset_features_read_it():
    from visualizer.presets.features import feature_values

    t = np.arange(int(0.3 * SR)) / SR
    kick = 0.5 * np.sin(2 * np.pi * 60.0 * t) * np.exp(-t / 0.1)
    times = np.arange(0.5, 4.0, 0.5)
    audio = np.zeros(int(4.5 * SR), dtype=np.float32)
    for start in (times * SR).astype(int):
        audio[start:start + kick.shape[0]] += kick.astype(np.float32)
    frames = frames_of(audio)
    low = np.asarray([f.t_audio for f in frames if f.low_hit])
    assert len(low) == len(times)
    assert np.all((low - times >= 0) & (low - times <= 2 * 256 / SR))
    assert not any(f.high_hit for f in frames)  # a 60 Hz thump has no highs
    hit = next(f for f in frames if f.low_hit)
    assert feature_values(hit)["low_hit"] == 1.0
    assert feature_values(frames[-1])["low_hit"] == pytest.approx(frames[-1].low_hit_envelope)
