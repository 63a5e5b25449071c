"""The onset evaluation's split and scoring, without rendering anything."""

import collections

import numpy as np
import pytest

from bench.onset_eval import CATEGORIES, ONSET_SONGS, score
from bench.rigs.musicgen import SynthesizedSong, Song


def test_every_category_has_two_tracks_in_each_half_and_names_are_unique():
    halves = collections.Counter((e.category, e.half) for e in ONSET_SONGS)
    assert set(halves.values()) == {2} and len(halves) == 2 * len(CATEGORIES) == 20
    assert len({e.song.name for e in ONSET_SONGS}) == len(ONSET_SONGS) == 40


def track(targets, dont_care=()) -> SynthesizedSong:
    return SynthesizedSong(song=Song("t", ()), audio=np.zeros(1, np.float32), sr=1000,
                           beats_s=np.zeros(0), onsets_s=np.asarray(targets, float),
                           tempo_segments=(), targets_s=np.asarray(targets, float),
                           dont_care_s=np.asarray(dont_care, float))


def test_score_counts_hits_misses_false_alarms_and_the_offset():
    result = score(track([1.0, 2.0, 3.0, 4.0]), np.array([1.004, 2.006, 3.2, 5.0]))
    assert result["p"] == pytest.approx(0.5) and result["r"] == pytest.approx(0.5)
    assert result["offset_ms"] == pytest.approx(5.0)


def test_an_estimate_only_a_masked_note_explains_is_not_a_false_alarm():
    with_masked = score(track([1.0, 2.0], dont_care=[1.5]), np.array([1.0, 1.51, 2.0]))
    assert with_masked["p"] == 1.0 and with_masked["n_found"] == 2
    without = score(track([1.0, 2.0]), np.array([1.0, 1.51, 2.0]))
    assert without["p"] == pytest.approx(2 / 3)
