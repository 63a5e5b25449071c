"""Logging is configured once, by the CLI; library code only calls ``logging.getLogger``."""

import logging
import sys

_FORMAT = "%(asctime)s %(levelname).1s %(name)s: %(message)s"


def setup_logging(verbosity: int) -> None:
    """Configure the root logger. ``verbosity``: -1 quiet (warnings), 0 info, >= 1 debug."""
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party libraries are chatty at INFO; keep them at WARNING unless debugging.
    for name in ("numba", "PIL", "matplotlib", "urllib3", "scrapy", "twisted", "filelock",
                 "botocore", "boto3", "s3transfer"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)
