"""What every prober may use besides its check: :class:`ProbeContext`.

A run owns one :class:`CancelToken` and one thread pool, and hands both to
its probers here; nothing about a run lives in module globals, so two runs
(or a run and a test) never see each other's state. The runner gives each
check its own copy with a ``deadline``: the check's timeout counted from the
run's start (or from when it got a slot), so a prober that started late, or
spent part of its time loading a library, still ends by that deadline with
its own evidence instead of being cut off by the runner.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import TypeVar

T = TypeVar("T")

#: name -> its addresses ([] or an exception when there are none)
Resolver = Callable[[str], list[str]]

SLICE = 0.1  #: seconds a worker thread waits before it looks at the cancel token again


class CancelToken:
    """Set once when a run is cut short (Ctrl-C, its deadline); probers that wait in
    worker threads look at it between short waits (:data:`SLICE`), so they end at once."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class ProbeContext:
    timeout: float = 3.0  #: seconds per check
    resolvers: tuple[str, ...] = ()  #: the site's resolvers (the system's when empty)
    dns_port: int = 53
    cancel: CancelToken = field(default_factory=CancelToken)
    executor: Executor | None = None  #: the run's thread pool; the loop's default when None
    resolver: Resolver | None = None  #: answers names instead of the site's resolvers (tests)
    #: the names and addresses the plan lists (:func:`plan.bounds`): what a PAC file or its
    #: server points to beyond a check's own targets is contacted only when it is one of these
    plan_hosts: frozenset[str] = frozenset()
    follow_pac: bool = False  #: --follow-pac: contact what the PAC side points to anyway
    #: ``time.monotonic()`` by which this check must end (the runner sets it per check);
    #: None: ``timeout`` from whenever the prober asks (:meth:`left`)
    deadline: float | None = None

    def left(self) -> float:
        """Seconds this check has left: what a prober waits at most from now."""
        if self.deadline is None:
            return self.timeout
        return max(0.0, self.deadline - time.monotonic())

    def remaining(self) -> ProbeContext:
        """This context with ``timeout`` cut to :meth:`left`, for helpers that take their
        limit from ``timeout`` (:func:`names.resolver_for`: a name looked up late in a
        check gets only what the check has left)."""
        return replace(self, timeout=self.left())

    def in_plan(self, host: str, *own: str) -> bool:
        """Whether ``host`` may be contacted: the plan lists it, the check names it
        itself (``own``), or the technician asked to follow the PAC file (--follow-pac)."""
        key = host.lower().rstrip(".")
        return self.follow_pac or key in self.plan_hosts or key in {o.lower() for o in own}


async def in_thread(ctx: ProbeContext, func: Callable[..., T], *args: object) -> T:
    """``func(*args)`` in the run's thread pool, so the event loop stays free."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(ctx.executor, functools.partial(func, *args))
