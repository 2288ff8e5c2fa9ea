"""Group commit: deliveries that arrive while the database is busy are stored together, in one
transaction, and each request is answered once that transaction has committed
(docs/webhooks.md#group-commit).

A commit costs the same for one row as for a hundred (SQLite's fsync, PostgreSQL's WAL flush and
round trips), so under load the receiver's throughput grows with the size of the groups instead
of being one commit per delivery. With no load a group is one delivery, stored at once: nothing
waits for a timer.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import anyio

from jrn_dagster.webhooks.deliveries import Delivery

# A group's statement holds every payload of the group at once: bounded by count and by bytes.
DEFAULT_MAX_GROUP_DELIVERIES = 100
DEFAULT_MAX_GROUP_BYTES = 8 * 1024 * 1024

StoreGroup = Callable[[Sequence[Delivery]], Sequence[object]]


@dataclass(eq=False)
class _Waiting:
    delivery: Delivery
    size: int
    outcome: asyncio.Future[object]
    taken: asyncio.Event = field(default_factory=asyncio.Event)


class GroupCommitter:
    """Hands deliveries to ``store_group`` (a synchronous function run in a worker thread) in
    groups, at most ``groups_in_flight`` groups at once. Belongs to one event loop, which is the
    only place it is used from (no locking needed).

    ``store_group`` gets a list of deliveries and returns one outcome per delivery, in order (a
    stored delivery or the exception that refused it); it must not raise.
    """

    def __init__(
        self,
        store_group: StoreGroup,
        *,
        groups_in_flight: int,
        max_group_deliveries: int = DEFAULT_MAX_GROUP_DELIVERIES,
        max_group_bytes: int = DEFAULT_MAX_GROUP_BYTES,
    ) -> None:
        if groups_in_flight <= 0 or max_group_deliveries <= 0 or max_group_bytes <= 0:
            raise ValueError("group commit limits must be positive")
        self._store_group = store_group
        self._groups_in_flight = groups_in_flight
        self._max_group_deliveries = max_group_deliveries
        self._max_group_bytes = max_group_bytes
        self._waiting: list[_Waiting] = []
        self._in_flight: set[asyncio.Task[None]] = set()

    async def store(self, delivery: Delivery, *, size: int, queue_timeout: float) -> object:
        """The outcome of storing ``delivery`` (``size``: its body's bytes), once the group
        holding it has committed. Raises ``TimeoutError`` when no group took it within
        ``queue_timeout`` seconds (it is then not stored)."""
        waiting = _Waiting(delivery, size, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        self._start_groups()
        try:
            await asyncio.wait_for(waiting.taken.wait(), queue_timeout)
        except TimeoutError:
            # Taken just now: its group is committing, its outcome is awaited below.
            if not waiting.taken.is_set():
                self._waiting.remove(waiting)
                raise
        except asyncio.CancelledError:
            if not waiting.taken.is_set():  # a request that went away is not stored later
                self._waiting.remove(waiting)
            raise
        # Shielded: a cancelled request must not cancel the outcome its group will set.
        return await asyncio.shield(waiting.outcome)

    def _start_groups(self) -> None:
        while self._waiting and len(self._in_flight) < self._groups_in_flight:
            group = self._next_group()
            task = asyncio.get_running_loop().create_task(self._commit(group))
            self._in_flight.add(task)

    def _next_group(self) -> list[_Waiting]:
        """The oldest waiting deliveries, within the bounds; a GitHub App lifecycle delivery
        goes alone (it changes other tables, store_group stores it on its own)."""
        group: list[_Waiting] = []
        size = 0
        for waiting in self._waiting:
            lifecycle = waiting.delivery.installation is not None
            if group and (
                lifecycle
                or len(group) >= self._max_group_deliveries
                or size + waiting.size > self._max_group_bytes
            ):
                break
            group.append(waiting)
            size += waiting.size
            if lifecycle:
                break
        del self._waiting[: len(group)]
        for waiting in group:
            waiting.taken.set()
        return group

    async def _commit(self, group: list[_Waiting]) -> None:
        task = asyncio.current_task()
        try:
            try:
                outcomes = list(
                    await anyio.to_thread.run_sync(
                        self._store_group, [waiting.delivery for waiting in group]
                    )
                )
            except Exception as error:  # store_group does not raise: a bug, told to each
                outcomes = [error] * len(group)
            for waiting, outcome in zip(group, outcomes, strict=True):
                if not waiting.outcome.done():
                    waiting.outcome.set_result(outcome)
        finally:
            for waiting in group:  # cancelled (the loop is closing): nobody is answered 2xx
                if not waiting.outcome.done():
                    waiting.outcome.cancel()
            if task is not None:
                self._in_flight.discard(task)
        self._start_groups()
