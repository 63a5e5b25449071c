"""ValueSpec: the one check behind config settings, live parameters and shader @params."""

import math
from pathlib import Path
from typing import Literal

import pytest

from visualizer.core.values import BadValue, ValueSpec

GAIN = ValueSpec(float, 1.0, min=0.0, max=4.0)
COUNT = ValueSpec(int, 2, min=0, max=10)
SEEDS = ValueSpec(tuple[int, ...], (1, 2), min=0, max=100)


def refusal(spec: ValueSpec, value, *, live: bool = False) -> BadValue:
    with pytest.raises(BadValue) as caught:
        spec.check(value, live=live)
    return caught.value


def test_values_are_coerced_to_the_spec_type():
    assert GAIN.check(2) == 2.0 and isinstance(GAIN.check(2), float)
    assert COUNT.check(3.0) == 3 and isinstance(COUNT.check(3.0), int)  # OSC and TOML writers send 3.0
    assert SEEDS.check([5, 6.0]) == (5, 6)
    assert ValueSpec(Path | None).check("~/x.mp4") == Path.home() / "x.mp4"
    assert ValueSpec(Path | None).check(None) is None
    assert ValueSpec(float | str | None).check("name") == "name"


def test_a_refusal_says_the_value_the_problem_and_what_is_allowed():
    assert str(refusal(GAIN, 9.5)) == "= 9.5 is out of range; allowed a number 0..4"
    assert str(refusal(GAIN, "loud")) == '= "loud" has the wrong type; allowed a number 0..4'
    assert str(refusal(COUNT, 2.5)) == "= 2.5 is not a whole number; allowed an integer 0..10"
    assert str(refusal(SEEDS, [1, 200])) == "= [1, 200] is out of range; allowed a list of integers 0..100"
    mode = ValueSpec(str, "a", choices=("a", "b"))
    assert str(refusal(mode, "c")) == '= "c" is not allowed; allowed one of "a", "b"'
    assert refusal(ValueSpec(Literal["x", "y"]), "z").allowed == 'one of "x", "y"'
    assert refusal(ValueSpec(tuple[int, int], min=1), [1]).problem == "has the wrong length"
    assert refusal(GAIN, math.nan).problem == "is out of range"  # NaN is in no range


def test_live_values_may_be_1_or_0_for_a_bool_and_must_be_finite_and_not_empty():
    flag = ValueSpec(bool, False)
    assert refusal(flag, 1).allowed == "true or false"  # a file means what it says
    assert flag.check(1.0, live=True) is True  # a TouchOSC toggle
    assert refusal(flag, 2, live=True).allowed == "true or false (or 1/0)"
    assert refusal(ValueSpec(float), math.inf, live=True).problem == "is not finite"
    assert ValueSpec(float).check(math.inf) == math.inf  # an unbounded setting may be inf
    assert refusal(SEEDS, [], live=True).problem == "is empty"
    assert SEEDS.check([]) == ()


def test_clamp_forces_modulated_values_into_range():
    assert GAIN.clamp(9.0) == 4.0 and GAIN.clamp(-1) == 0.0
    assert GAIN.clamp(math.nan) == 1.0  # the default
    assert COUNT.clamp(3.6) == 4 and ValueSpec(bool).clamp(0.7) is True


def test_kinds_and_bounds_name_the_spec_in_listings():
    assert [s.kind for s in (GAIN, COUNT, SEEDS, ValueSpec(bool))] == ["float", "int", "tuple[int]", "bool"]
    assert (GAIN.bounds(), ValueSpec(float, min=0).bounds(), ValueSpec(int).bounds()) == ("0..4", ">= 0", "")
    assert ValueSpec(float, min=0.25, max=256.0).bounds() == "0.25..256"
