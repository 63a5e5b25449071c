"""A real Redis for the job tests: Debian's redis-server on a free loopback port, its data in a
temporary folder, appending every write to its log (appendfsync always) so a restart keeps the
queue and the records exactly; stopped by its own pid."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.rigs.ports import free_port
from bench.rigs.processes import stop


class RedisServer:
    """One redis-server process; ``restart()`` stops it (SIGTERM: a clean shutdown) and starts
    it again on the same port and data (the append-only file brings every write back)."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()  # redis binds it a moment later
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.folder), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:  # not listening yet, or still loading
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                    self.stop()
                    pytest.fail(f"redis-server did not start: {log}")
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def restart(self, *, down_s: float = 0.0) -> None:
        """Stop, stay away ``down_s`` (longer than the client's own quick retries), start."""
        self.stop()
        time.sleep(down_s)
        self.start()

    def flush(self) -> None:
        import redis

        with redis.Redis(port=self.port) as client:
            client.flushall()


def _redis_binary() -> str:
    # `make test` installs both (the web extra, APT_PACKAGES): a missing one is an install bug,
    # not a reason to skip, as in tests/conftest.py.
    try:
        import redis  # noqa: F401
    except ImportError:
        pytest.fail("the redis client is missing; run `make test`, which installs it")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; run `make test`, which installs it")
    return binary


def _running_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(_redis_binary(), tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One server for the contract tests (flushed before each by ``redis_url``)."""
    yield from _running_redis(tmp_path_factory)


@pytest.fixture
def redis_url(shared_redis: RedisServer) -> str:
    shared_redis.flush()
    return shared_redis.url


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server of the test's own, for the tests that restart it."""
    yield from _running_redis(tmp_path_factory)
