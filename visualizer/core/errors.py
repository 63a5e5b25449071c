"""User-facing errors: one line that names the file/key/value and what is allowed."""


class GansmaniaError(Exception):
    """An error caused by the user's input; the CLI prints it as one line and exits 2."""

    exit_code = 2


class ConfigError(GansmaniaError):
    """A config/preset file or override that does not fit its schema."""
