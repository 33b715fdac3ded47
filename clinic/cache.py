"""Django's Redis cache, made to behave like an empty cache while Redis cannot be reached.

Everything the site keeps in the cache can be rebuilt from the database (pages, the site
chrome, the content version), so an unreachable Redis must make the site slower, never down.
Each call that fails on a connection, timeout or server error is logged and answered as a
cache miss: `get` gives the default, `set` does nothing, `add` and `delete` say False, `incr`
raises ValueError as for a missing key. After a failure this process leaves Redis alone for
RETRY_SECONDS, so a dead server does not cost a connection attempt on every request.

`count_for_an_hour` is the one counter in the shared cache that the limits use.
"""

import logging
import time

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

logger = logging.getLogger(__name__)

# When each Redis server (by its LOCATION) may be tried again: per process, shared by threads.
_retry_at = {}


class ResilientRedisCache(RedisCache):
    RETRY_SECONDS = 5.0
    # Short waits: a request that has to rebuild its page is better than one that hangs. No
    # retries inside redis-py: its default of three retries with back-off would multiply them.
    DEFAULT_OPTIONS = {
        "socket_connect_timeout": 0.25,
        "socket_timeout": 0.5,
        "retry": Retry(NoBackoff(), 0),
    }

    def __init__(self, server, params):
        options = {**self.DEFAULT_OPTIONS, **params.get("OPTIONS", {})}
        super().__init__(server, {**params, "OPTIONS": options})
        self._server_name = server if isinstance(server, str) else ",".join(server)

    @property
    def available(self):
        """False while this process is waiting to try Redis again after a failure."""
        return time.monotonic() >= _retry_at.get(self._server_name, 0.0)

    def _call(self, operation, fallback, *args, **kwargs):
        if not self.available:
            return fallback()
        try:
            return getattr(super(), operation)(*args, **kwargs)
        except RedisError as error:
            _retry_at[self._server_name] = time.monotonic() + self.RETRY_SECONDS
            # The error's class only: its text can hold the key, and keys hold client hashes.
            logger.warning(
                "Cache unavailable (%s on %s); serving without it for %s s",
                type(error).__name__,
                operation,
                self.RETRY_SECONDS,
            )
            return fallback()

    def add(self, *args, **kwargs):
        return self._call("add", lambda: False, *args, **kwargs)

    def get(self, key, default=None, version=None):
        return self._call("get", lambda: default, key, default, version)

    def set(self, *args, **kwargs):
        return self._call("set", lambda: None, *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._call("touch", lambda: False, *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", lambda: False, *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._call("get_many", dict, *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._call("has_key", lambda: False, *args, **kwargs)

    def incr(self, key, delta=1, version=None):
        def missing():
            raise ValueError(f"Key '{key}' not found (the cache is unavailable)")

        return self._call("incr", missing, key, delta, version)

    def set_many(self, data, *args, **kwargs):
        return self._call("set_many", lambda: list(data), data, *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._call("delete_many", lambda: None, *args, **kwargs)

    def clear(self):
        return self._call("clear", lambda: False)


def count_for_an_hour(key):
    """Add one to the count at `key` in the shared cache and return it; the count is kept for
    an hour after this call. A key that expired between `add` and `incr`, or a cache that
    cannot be reached, starts again at 1."""
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=3600)
        return 1
    # The database cache's incr writes the value back with the default timeout (300 s): give
    # the count its hour again, or a client locked out would be let in five minutes later.
    cache.touch(key, 3600)
    return count
