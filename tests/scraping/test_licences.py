"""Licence strings reduce to the family the filter compares."""

import pytest

from scraping.licences import licence_allowed, licence_family


@pytest.mark.parametrize("text, family", [
    ("CC BY-SA 4.0", "cc-by-sa"), ("cc-by-sa-4.0", "cc-by-sa"), ("CC-BY-4.0", "cc-by"),
    ("CC BY-NC-SA 2.0", "cc-by-nc-sa"), ("cc-by-sa-nc", "cc-by-nc-sa"), ("CC BY-ND 3.0", "cc-by-nd"),
    ("CC0", "cc0"), ("CC0 1.0", "cc0"), ("Public domain", "pd"), ("PD-old", "pd"),
    ("Public Domain Mark 1.0", "pd"), ("GFDL", "other"), ("In copyright", "other"),
    ("", "unknown"), (None, "unknown"),
])
def test_licence_family(text, family):
    assert licence_family(text) == family


def test_the_default_filter_keeps_free_licences_only():
    allowed = ("pd", "cc0", "cc-by", "cc-by-sa")
    assert licence_allowed("CC BY-SA 4.0", allowed)
    assert not licence_allowed("CC BY-NC 4.0", allowed)
    assert not licence_allowed(None, allowed)
    assert licence_allowed("anything at all", ("any",))
