"""Tests of the generator backends and their registry."""
