"""The job queue's broker: a Huey instance plus the two things the job records need that Huey's
storage does not give, a compare-and-set write and the errors that mean "the broker is away,
try again" (not "this job is broken").

- embedded: SqliteHuey on ``folder``/jobs.db, one machine, nothing to install;
- ``redis://host:port/db`` (``rediss://``, ``unix://``): RedisHuey, any number of machines.

Why compare-and-set: Huey pops a task before running it, so a worker that dies mid-job takes
the task with it. The job's record is the acknowledgement instead: a worker writes it only while
it still holds the job (the record is the one it last wrote), so a job re-queued after its
worker was taken for dead is finished by exactly one attempt.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from visualizer.core.errors import GansmaniaError

NAME = "gansmania"
SCHEMES = ("redis", "rediss", "unix")

# KEYS[1]: the hash of Huey's key-value store; ARGV: field, new value, then the accepted old ones.
SWAP_LUA = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
for i = 3, #ARGV do
  if current == ARGV[i] then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    return 1
  end
end
return 0
"""


class SqliteBroker:
    """One machine: Huey's SQLite file. Many processes may share it (`gansmania worker`)."""

    blocks = False  # dequeue returns at once when the queue is empty: the worker polls
    errors: tuple[type[BaseException], ...] = (sqlite3.OperationalError,)  # locked, disk I/O

    def __init__(self, folder: Path) -> None:
        from huey import SqliteHuey

        self.where = str(folder / "jobs.db")
        # results=False: a job's outcome is its record, written by the job itself.
        self.huey = SqliteHuey(name=NAME, filename=self.where, results=False)

    def swap(self, key: str, olds: list[bytes], new: bytes) -> bool:
        """Write ``new`` under ``key`` only when it now holds one of ``olds``."""
        storage = self.huey.storage
        marks = ", ".join("?" * len(olds))
        with storage.db(commit=True) as cursor:
            cursor.execute(f"update kv set value = ? where queue = ? and key = ? "
                           f"and value in ({marks})",
                           (memoryview(new), storage.name, key, *map(memoryview, olds)))
            return cursor.rowcount == 1

    def ping(self) -> None:
        self.huey.storage.queue_size()


class RedisBroker:
    """Many machines: a Redis server. Its connection comes back by itself after a restart; the
    calls in between raise ``errors``, which the worker and the running job wait out."""

    blocks = True  # BRPOP waits up to a second for a task: no polling

    def __init__(self, url: str) -> None:
        import redis
        from huey import RedisHuey

        self.where = _without_password(url)
        self.errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        # socket_timeout above Huey's 1 s BRPOP; health checks find a connection Redis dropped.
        pool = redis.ConnectionPool.from_url(url, socket_connect_timeout=5.0, socket_timeout=10.0,
                                             health_check_interval=15)
        self.huey = RedisHuey(name=NAME, connection_pool=pool, results=False)
        self._swap = self.huey.storage.conn.register_script(SWAP_LUA)

    def swap(self, key: str, olds: list[bytes], new: bytes) -> bool:
        """Write ``new`` under ``key`` only when it now holds one of ``olds`` (one Lua call:
        atomic on the server)."""
        return bool(self._swap(keys=[self.huey.storage.result_key], args=[key, new, *olds]))

    def ping(self) -> None:
        self.huey.storage.conn.ping()


def open_broker(url: str | None, folder: Path) -> SqliteBroker | RedisBroker:
    """The embedded broker in ``folder`` when ``url`` is None or empty, else the Redis at ``url``.
    GansmaniaError (one line) for a scheme it does not know or a missing client library."""
    if not url:
        try:
            return SqliteBroker(folder)
        except ImportError:
            raise GansmaniaError("the studio's jobs need huey: pip install 'gansmania[web]'") \
                from None
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise GansmaniaError(f"broker {_without_password(url)!r}: unknown scheme; allowed: "
                             "redis://HOST:PORT/DB, rediss://HOST:PORT/DB, unix:///PATH")
    try:
        return RedisBroker(url)
    except ImportError:
        raise GansmaniaError("a Redis broker needs huey and redis: pip install 'gansmania[web]'") \
            from None
    except ValueError as exc:  # redis-py's own check of the URL (port, db)
        raise GansmaniaError(f"broker {_without_password(url)!r}: {exc}") from None


def _without_password(url: str) -> str:
    """The URL to print: a password in it stays out of logs and pages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
