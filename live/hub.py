"""One reader of the channel per process (per event loop): it reads each new entry once and hands the batch to
every open stream of the process, which filters it for its caller (live.access). The reader runs while a stream
is open and stops with the last one."""

import asyncio
import logging
import time
import weakref

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from .channel import DatabaseChannel, Entry, RedisChannel, channel

logger = logging.getLogger(__name__)

QUEUE_BATCHES = 200  # a stream this far behind is closed; its client resumes from its Last-Event-ID


class ChannelUnavailable(Exception):
    pass


def database(function):
    """``function`` in a thread of the loop's pool (never the request's), its database connection tidied after, so
    a stream holds no connection between its reads."""

    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(run, thread_sensitive=False)


class Hub:
    def __init__(self, source: DatabaseChannel | RedisChannel) -> None:
        self.channel = source
        self.queues: set[asyncio.Queue] = set()
        self.position = ""
        self.task: asyncio.Task | None = None
        self.ready = asyncio.Event()

    async def subscribe(self) -> tuple[asyncio.Queue, str]:
        """A queue that receives every entry after the answered position, in order."""
        if self.task is None or self.task.done():
            self.ready, self.position = asyncio.Event(), ""
            self.task = asyncio.get_running_loop().create_task(self._run())
        await self.ready.wait()
        if not self.position:
            raise ChannelUnavailable("The live channel cannot be read.")
        queue: asyncio.Queue[list[Entry]] = asyncio.Queue(maxsize=QUEUE_BATCHES)
        self.queues.add(queue)  # no await between this and reading the position: nothing falls in between
        return queue, self.position

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.queues.discard(queue)

    def subscribed(self, queue: asyncio.Queue) -> bool:
        return queue in self.queues

    async def _run(self) -> None:
        read = database(self.channel.read)
        try:
            self.position = await database(self.channel.latest)()
        except Exception:  # noqa: BLE001 - answered 503 to the streams waiting (subscribe)
            logger.exception("live channel unavailable")
            return
        finally:
            self.ready.set()
        pruned = time.monotonic()
        while True:
            try:
                entries = await read(self.position, block_seconds=0 if self.channel.polls else
                                     settings.LIVE_BLOCK_SECONDS)
            except Exception:  # noqa: BLE001 - the channel is down for a moment: streams keep their heartbeats
                logger.exception("live channel read failed")
                entries = []
                await asyncio.sleep(settings.LIVE_POLL_SECONDS)
            if entries:
                self.position = entries[-1].id
                for queue in list(self.queues):
                    try:
                        queue.put_nowait(entries)
                    except asyncio.QueueFull:
                        self.queues.discard(queue)  # too slow: its stream ends, the client resumes
            elif self.channel.polls:
                await asyncio.sleep(settings.LIVE_POLL_SECONDS)
            if not self.queues:
                return  # the last stream closed (checked with no await before it: a new one starts a new reader)
            if self.channel.polls and time.monotonic() - pruned > 60:
                pruned = time.monotonic()
                await database(self.channel.prune)()


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub for the configured channel."""
    source = channel()
    hubs = _hubs.setdefault(asyncio.get_running_loop(), {})
    if id(source) not in hubs:
        hubs[id(source)] = Hub(source)
    return hubs[id(source)]
