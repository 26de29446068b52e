"""Sends-per-second limit shared by every worker: a token bucket in Redis when the broker is
Redis, a per-process bucket otherwise (the filesystem broker is for one machine, one worker).

Each caller reserves the next free slot and sleeps until it: callers are spaced 1/rate apart, so
no one-second window ever holds more than `rate` sends (plus the one at its edge).
"""

import threading
import time

from django.conf import settings

# Reserve one slot: returns how long the caller must wait (seconds, as a string). Uses Redis's
# own clock so workers on different machines agree.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = 1 / tonumber(ARGV[1])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
if next_free < now then next_free = now end
redis.call('SET', KEYS[1], tostring(next_free + interval), 'PX', math.ceil(interval * 1000) + 60000)
return tostring(next_free - now)
"""


class LocalLimiter:
    def __init__(self, rate: float, *, clock=time.monotonic):
        self.interval = 1.0 / rate
        self._clock = clock
        self._lock = threading.Lock()
        self._next_free = 0.0

    def reserve(self) -> float:
        with self._lock:
            now = self._clock()
            slot = max(self._next_free, now)
            self._next_free = slot + self.interval
            return slot - now


class RedisLimiter:
    def __init__(self, rate: float, *, url: str, key: str):
        import redis

        self.rate = rate
        self.key = key
        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(_RESERVE)

    def reserve(self) -> float:
        return float(self._script(keys=[self.key], args=[self.rate]))


class Unlimited:
    def reserve(self) -> float:
        return 0.0


_lock = threading.Lock()
_limiters: dict = {}


def send_limiter():
    """The limiter for the configured account and rate (0 or less: no limit)."""
    rate = float(settings.KALEYRA_SENDS_PER_SECOND)
    broker = settings.CELERY_BROKER_URL
    key = (rate, broker, settings.KALEYRA_SID, settings.KALEYRA_WHATSAPP_NUMBER)
    limiter = _limiters.get(key)
    if limiter is None:
        with _lock:
            limiter = _limiters.get(key)
            if limiter is None:
                if rate <= 0:
                    limiter = Unlimited()
                elif broker.startswith(("redis://", "rediss://")):
                    limiter = RedisLimiter(
                        rate,
                        url=broker,
                        key=f"kaleyra:sends:{settings.KALEYRA_SID}:{settings.KALEYRA_WHATSAPP_NUMBER}",
                    )
                else:
                    limiter = LocalLimiter(rate)
                _limiters[key] = limiter
    return limiter


def send_slot_wait() -> None:
    """Block until this caller may send."""
    wait = send_limiter().reserve()
    if wait > 0:
        time.sleep(wait)
