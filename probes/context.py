"""What every prober may use besides its check: :class:`ProbeContext`.

A run owns one :class:`CancelToken` and one thread pool, and hands both to
its probers here; nothing about a run lives in module globals, so two runs
(or a run and a test) never see each other's state.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
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

    def in_plan(self, host: str, *own: str) -> bool:
        """Whether ``host`` may be contacted: the plan lists it, the check names it
        itself (``own``), or the technician asked to follow the PAC file (--follow-pac)."""
        key = host.lower().rstrip(".")
        return self.follow_pac or key in self.plan_hosts or key in {o.lower() for o in own}


async def in_thread(ctx: ProbeContext, func: Callable[..., T], *args: object) -> T:
    """``func(*args)`` in the run's thread pool, so the event loop stays free."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(ctx.executor, functools.partial(func, *args))
