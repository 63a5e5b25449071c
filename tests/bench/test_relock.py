"""bench.relock's song sets: the halves stay apart, and 3/4 ramps count their bars in 3/4."""

from bench.relock import HALVES, _ramp


def test_the_halves_share_no_song_and_no_seed():
    # A held-out song rendered from a tuning song's seed would share its notes' timing.
    names = [song.name for songs in HALVES.values() for song in songs]
    seeds = [song.seed for songs in HALVES.values() for song in songs]
    assert len(set(names)) == len(names)
    assert len(set(seeds)) == len(seeds)


def test_a_ramp_in_three_four_holds_its_lead_and_hold_times():
    lead, ramp, hold = _ramp(120, 132, 6, meter=3, lead_s=15.0, hold_s=11.0)
    assert (lead.meter, ramp.meter, hold.meter) == (3, 3, 3)
    assert lead.bars * 3 * 60.0 / 120 == 15.0  # 10 bars of 3/4 (counted in 4/4: 8, 12 s)
    assert abs(hold.bars * 3 * 60.0 / 132 - 11.0) < 3 * 60.0 / 132
