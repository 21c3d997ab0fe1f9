"""Django's Redis cache, with one Redis client object per connection pool.

Django's client builds a new ``redis.Redis`` for every cache operation; redis-py 8 fills a
table of about 170 response callbacks each time it makes one, a third of a millisecond here,
and a cached answer takes three operations (the throttle's read and write, the answer). The
client object holds no connection of its own (they are the pool's), so one per pool serves
every thread and request of a process."""

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class PooledClients(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._making = threading.Lock()

    def get_client(self, key=None, *, write=False):
        # Without the lock, the first threads of a process would each make a pool (Django
        # makes them without one) and a client. Held for two look-ups, it costs nothing.
        with self._making:
            pool = self._get_connection_pool(write)  # made once per server, then kept
            client = self._clients.get(pool)
            if client is None:
                client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = PooledClients
