"""Infrastructure every package shares: errors, typed config, logging, asset paths, measurements."""
