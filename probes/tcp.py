"""TCP: can a connection be opened to (address, port), and if not, who said no?

A plain connect() with IP_RECVERR: open, refused (RST or port unreachable),
rejected by a firewall (ICMP administratively prohibited, with its sender),
or silence until the timeout. Runs in a worker thread of the run so the
event loop stays free; the runner bounds the number of threads.
"""

from __future__ import annotations

import errno
import select
import socket
import time
from typing import Any

from nhn_appliance.probes.context import SLICE, CancelToken, ProbeContext, in_thread
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.netio import open_socket, read_icmp_error
from nhn_appliance.probes.params import TcpParams
from nhn_appliance.probes.reasons import AnyReason, Reason, say


def _errno_reason(err: int) -> AnyReason:
    return classify(OSError(err, errno.errorcode.get(err, "")))


def connect(
    address: str, port: int, timeout: float, cancel: CancelToken
) -> tuple[AnyReason, dict[str, Any], list[Event]]:
    """(reason, evidence, events) for one connection attempt."""
    start = time.monotonic()
    events: list[Event] = []
    evidence: dict[str, Any] = {"address": address, "port": port}

    def event(failure: AnyReason | None) -> None:
        events.append(Event("connect", time.monotonic() - start, address, "tcp", failure))

    with open_socket(address, udp=False) as sock:
        err = sock.connect_ex((address, port))
        if err not in (0, errno.EINPROGRESS):
            reason = _errno_reason(err)
            event(reason)
            return reason, evidence | {"errno": errno.errorcode.get(err, str(err))}, events
        poller = select.poll()
        poller.register(sock, select.POLLOUT | select.POLLERR)
        deadline = start + timeout
        while True:
            left = deadline - time.monotonic()
            if cancel.cancelled:
                return Reason.CANCELLED, evidence, events
            if left <= 0:
                event(Reason.TIMEOUT)
                return Reason.TIMEOUT, evidence, events
            if not poller.poll(max(1, int(min(left, SLICE) * 1000))):
                continue
            icmp = read_icmp_error(sock)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if icmp is not None:
                evidence |= icmp.as_dict()
                reason = icmp.reason
            elif err:
                reason = _errno_reason(err)
                evidence["errno"] = errno.errorcode.get(err, str(err))
            else:
                event(None)
                return Reason.OPEN, evidence, events
            if reason == Reason.TIMEOUT:  # ICMP time exceeded: keep waiting for the deadline
                continue
            event(reason)
            return reason, evidence, events


async def run(check: Check[TcpParams], ctx: ProbeContext) -> Result:
    p = check.params
    reason, evidence, events = await in_thread(
        ctx, connect, p.address, p.port, ctx.left(), ctx.cancel
    )
    if reason == Reason.OPEN:
        detail = f"tcp {check.target} accepts connections"
        return Result.of(check, Status.OK, reason, detail, events=events, **evidence)
    detail = say("tcp", check.target, reason)
    return Result.of(check, Status.FAIL, reason, detail, events=events, **evidence)
