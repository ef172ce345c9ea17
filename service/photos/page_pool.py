"""The threads that fetch search pages, shared by every search and served in turns.

Each lane is one user's Immich server, in a group of every lane on that server. A lane runs
at most `per_lane` pages at once, and so does a group; lanes with pages waiting take turns
for free threads. A slow server therefore holds at most `per_lane` threads, however many
searches wait on it, and every other user's pages start at once.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

from service.request_log import ContextExecutor

LaneKey = tuple[Hashable, Hashable]  # (group: the Immich server, member: the user)


@dataclass
class _Task:
    future: Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class PagePool(Executor):
    """Fair among lanes; `submit` without a lane uses one shared default lane."""

    def __init__(self, *, workers: int, per_lane: int, name: str = "immich-pages") -> None:
        self.workers = workers
        self.per_lane = per_lane
        self._name = name
        self._cond = threading.Condition()
        self._queues: dict[LaneKey, deque[_Task]] = {}
        self._turns: deque[LaneKey] = deque()  # lanes with pages waiting, next turn first
        self._running: Counter[Hashable] = Counter()  # by lane key and by group
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._shut = False

    def lane(self, group: Hashable, member: Hashable) -> Executor:
        """An executor whose tasks run in this lane, in the submitter's context (request id)."""
        return ContextExecutor(_Lane(self, (group, member)))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._submit((None, None), fn, args, kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cond:
            self._shut = True
            if cancel_futures:
                for queue in self._queues.values():
                    for task in queue:
                        task.future.cancel()
                self._queues.clear()
                self._turns.clear()
            self._cond.notify_all()
        if wait:
            for thread in list(self._threads):
                thread.join()

    # ------------------------------------------------------------------ internals

    def _submit(self, key: LaneKey, fn: Callable[..., Any], args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._cond:
            if self._shut:
                raise RuntimeError("cannot schedule new pages after shutdown")
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
                self._turns.append(key)
            queue.append(_Task(future, fn, args, kwargs))
            if self._idle == 0 and len(self._threads) < self.workers:
                thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}",
                                          daemon=True)
                self._threads.append(thread)
                thread.start()
            self._cond.notify_all()
        return future

    def _next(self) -> tuple[LaneKey, _Task] | None:
        """The first waiting page, in turn order, whose lane and group are under their cap."""
        for _ in range(len(self._turns)):
            key = self._turns[0]
            self._turns.rotate(-1)  # its turn is used, or passed while it is at its cap
            if self._running[key] >= self.per_lane or self._running[key[0]] >= self.per_lane:
                continue
            queue = self._queues[key]
            task = queue.popleft()
            if not queue:
                del self._queues[key]
                self._turns.pop()  # the key rotated to the end
            self._running[key] += 1
            self._running[key[0]] += 1
            return key, task
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                self._idle += 1
                while (picked := self._next()) is None:
                    if self._shut:
                        self._idle -= 1
                        return
                    self._cond.wait()
                self._idle -= 1
            key, task = picked
            if task.future.set_running_or_notify_cancel():
                try:
                    result = task.fn(*task.args, **task.kwargs)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                    task.future.set_exception(exc)
                else:
                    task.future.set_result(result)
            with self._cond:
                for counted in (key, key[0]):
                    self._running[counted] -= 1
                    if not self._running[counted]:
                        del self._running[counted]
                self._cond.notify_all()  # a lane at its cap may go again


class _Lane(Executor):
    def __init__(self, pool: PagePool, key: LaneKey) -> None:
        self._pool = pool
        self._key = key

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._pool._submit(self._key, fn, args, kwargs)
