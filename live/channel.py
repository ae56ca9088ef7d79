"""The channel between the processes that emit and those that stream (README "Live updates").

Emitters publish committed records (notifications.services.live_publish, after COMMIT); each streaming process
reads them with one reader (live.hub) and filters them per connection (live.access). Every record gets an id in
the channel's order, which is the stream's ``id:`` and what ``Last-Event-ID`` resumes from, for
LIVE_RESUME_SECONDS.

- Redis (REDIS_URL): one Redis stream, each publish one pipelined round trip of XADDs trimmed by MINID to the
  resume window; readers XREAD BLOCK, so an event reaches the streams at once.
- The embedded default: the LiveEvent table in the app's database, which every process shares (runserver,
  uvicorn, gunicorn workers); readers poll it every LIVE_POLL_SECONDS and prune it to the window.
"""

import json
import logging
import random
import re
import time
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.conf import settings
from django.utils import timezone

from config.cache import BreakerRedis

from .models import LiveEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    id: str
    record: dict


class DatabaseChannel:
    polls = True  # no way to wait for a row: readers ask again every LIVE_POLL_SECONDS

    def publish(self, records: list[dict]) -> None:
        LiveEvent.objects.bulk_create([LiveEvent(record=record) for record in records])
        if random.random() < 0.01:  # noqa: S311 - readers prune too; this keeps a table nobody reads small
            self.prune()

    def latest(self) -> str:
        return str(LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0)

    def read(self, after: str, *, until: str | None = None, block_seconds: float = 0, limit: int = 1000
             ) -> list[Entry]:
        rows = LiveEvent.objects.filter(id__gt=int(after))
        if until is not None:
            rows = rows.filter(id__lte=int(until))
        return [Entry(str(pk), record) for pk, record in rows.order_by("id").values_list("id", "record")[:limit]]

    def cart_order(self, cart_id: str) -> int | None:
        """The order placed from the guest's cart ``cart_id``, while its ``order.created`` is kept."""
        record = LiveEvent.objects.filter(record__type="order.created", record__cart=cart_id).values_list(
            "record", flat=True).first()
        return record.get("order") if record else None

    def resumable(self, after: str) -> bool:
        """Whether nothing after ``after`` was pruned: something at or before it is still kept (oldest go first)."""
        return LiveEvent.objects.filter(id__lte=int(after)).exists()

    def prune(self) -> int:
        cutoff = timezone.now() - timedelta(seconds=settings.LIVE_RESUME_SECONDS)
        return LiveEvent.objects.filter(created_at__lt=cutoff).delete()[0]

    @staticmethod
    def valid(event_id: str) -> bool:
        return event_id.isascii() and event_id.isdigit() and len(event_id) < 20

    @staticmethod
    def key(event_id: str) -> tuple[int, ...]:
        return (int(event_id),)


class RedisChannel:
    polls = False

    def __init__(self, url: str, key: str) -> None:
        self.name = key
        # publishing and short reads: a Redis that just failed is not asked again for a few seconds (config.cache)
        self.client = BreakerRedis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        # the reader's XREAD BLOCK outlasts the usual timeout
        self.reader = redis.Redis.from_url(url, socket_timeout=settings.LIVE_BLOCK_SECONDS + 10,
                                           socket_connect_timeout=2)

    def publish(self, records: list[dict]) -> None:
        # the ids are milliseconds: MINID keeps the resume window (approximately, in whole nodes: cheap)
        oldest = f"{int(time.time() * 1000) - settings.LIVE_RESUME_SECONDS * 1000}"
        pipe = self.client.pipeline(transaction=False)
        for record in records:
            pipe.xadd(self.name, {"r": json.dumps(record, separators=(",", ":"))}, minid=oldest, approximate=True)
        pipe.execute()

    def latest(self) -> str:
        last = self.client.xrevrange(self.name, count=1)
        return last[0][0].decode() if last else "0-0"

    def read(self, after: str, *, until: str | None = None, block_seconds: float = 0, limit: int = 1000
             ) -> list[Entry]:
        if block_seconds and until is None:
            answer = self.reader.xread({self.name: after}, count=limit, block=int(block_seconds * 1000))
            rows = answer[0][1] if answer else []
        else:
            rows = self.client.xrange(self.name, min=f"({after}", max=until or "+", count=limit)
        return [Entry(entry_id.decode(), json.loads(fields[b"r"])) for entry_id, fields in rows]

    def cart_order(self, cart_id: str) -> int | None:
        """The order placed from the guest's cart ``cart_id``, while its ``order.created`` is kept (a scan of the
        window, newest first: a reconnection right after the checkout finds it at once)."""
        needle, before = cart_id.encode(), "+"
        while True:
            rows = self.client.xrevrange(self.name, max=before, count=500)
            for _, fields in rows:
                if needle in fields[b"r"]:
                    record = json.loads(fields[b"r"])
                    if record.get("type") == "order.created" and record.get("cart") == cart_id:
                        return record.get("order")
            if len(rows) < 500:
                return None
            before = f"({rows[-1][0].decode()}"

    def resumable(self, after: str) -> bool:
        return bool(self.client.xrange(self.name, min="-", max=after, count=1))

    def prune(self) -> int:
        return 0  # XADD's MINID trims

    @staticmethod
    def valid(event_id: str) -> bool:
        return bool(re.fullmatch(r"\d{1,20}-\d{1,20}", event_id))

    @staticmethod
    def key(event_id: str) -> tuple[int, ...]:
        return tuple(int(part) for part in event_id.split("-"))


_channels: dict[tuple, DatabaseChannel | RedisChannel] = {}


def channel() -> DatabaseChannel | RedisChannel:
    """The configured channel: Redis with REDIS_URL, else the database (one instance per process and setting)."""
    url = settings.REDIS_URL if settings.LIVE_CHANNEL == "redis" else ""
    found = _channels.get((url, settings.LIVE_REDIS_KEY))
    if found is None:
        found = RedisChannel(url, settings.LIVE_REDIS_KEY) if url else DatabaseChannel()
        _channels[(url, settings.LIVE_REDIS_KEY)] = found
    return found


def channel_publish(records: list[dict]) -> None:
    """Publishes committed records (notifications' live listener): one INSERT, or one Redis round trip."""
    channel().publish(records)
