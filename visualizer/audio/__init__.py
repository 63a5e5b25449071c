"""Audio in, features out: sources (a live device or a file in real time) and the streaming
feature extractor that turns each hop of samples into a `frames.FeatureFrame`.

The live loop uses `analyzer.analyzer_for(show.audio)` (an `Analyzer`: `start()`, `stop()`,
`latest` slot, `history` ring, `status`, `tap()`, `set_bpm()`); `gansmania analyze` and the
benchmarks use `analyzer.analyze_file` / `analyze_audio`, which run the same extractor.
"""
