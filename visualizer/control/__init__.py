"""Control surfaces: the ParamStore and the routes, OSC, MIDI, Ableton Link, tempo sources, keys and the TouchOSC template."""
