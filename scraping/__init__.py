"""Open-collection sources, the polite crawler, the manifest, dedupe and dataset preparation."""
