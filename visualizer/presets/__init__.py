"""Presets: declarative looks (``presets/*.toml``) and running them live.

- ``features``: the feature names a shader parameter may be bound to, and their values per frame
- ``schema``: what a preset is (frozen dataclasses) and its show-independent settings
- ``loader``: TOML -> Preset, every error one line naming file, line and key
- ``catalog``: finding presets by name (user folder first, then the bundled ``presets/``)
- ``check``: validating preset files, GLSL compile included when EGL is available
- ``beats``: BeatClock (a continuous beat position) and Crossfade (switches quantised to bars)
- ``watch``: FileWatcher, the mtime poll behind hot reload
- ``deck``: PresetDeck, the live side: slots, cross-fades, bindings, hot reload, HUD errors
- ``setlist``: SetList, a show's looks in order, one a phrase, through the deck's cross-fades
- ``live``: the deck wired into `gansmania live` (actions, frame hook, ParamStore)
"""
