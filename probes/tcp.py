"""TCP: can a connection be opened to (address, port), and if not, who said no?

A plain connect() with IP_RECVERR: open, refused (RST or port unreachable),
rejected by a firewall (ICMP administratively prohibited, with its sender),
or silence until the timeout. Runs in a worker thread so the event loop
stays free; the runner bounds the number of threads.
"""

from __future__ import annotations

import asyncio
import errno
import select
import socket
import time

from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.netio import CANCEL, SLICE, enable_recverr, family_of, read_icmp_error


def connect(address: str, port: int, timeout: float) -> tuple[str, dict, list[Event]]:
    """(reason, evidence, events) for one connection attempt."""
    family = family_of(address)
    start = time.monotonic()
    events: list[Event] = []
    evidence: dict = {"address": address, "port": port}
    sock = socket.socket(socket.AF_INET6 if family == 6 else socket.AF_INET, socket.SOCK_STREAM)
    try:
        enable_recverr(sock, family)
        sock.setblocking(False)
        err = sock.connect_ex((address, port))
        if err not in (0, errno.EINPROGRESS):
            reason = classify(OSError(err, errno.errorcode.get(err, "")))
            events.append(Event("connect", time.monotonic() - start, address, "tcp", reason))
            return reason, evidence | {"errno": errno.errorcode.get(err, str(err))}, events
        poller = select.poll()
        poller.register(sock, select.POLLOUT | select.POLLERR)
        deadline = start + timeout
        while True:
            left = deadline - time.monotonic()
            if CANCEL.is_set():
                return "cancelled", evidence, events
            if left <= 0:
                events.append(Event("connect", time.monotonic() - start, address, "tcp", "timeout"))
                return "timeout", evidence, events
            if not poller.poll(max(1, int(min(left, SLICE) * 1000))):
                continue
            icmp = read_icmp_error(sock)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if icmp is not None:
                evidence |= icmp.as_dict()
                reason = icmp.reason
            elif err:
                reason = classify(OSError(err, errno.errorcode.get(err, "")))
                evidence["errno"] = errno.errorcode.get(err, str(err))
            else:
                events.append(Event("connect", time.monotonic() - start, address, "tcp", None))
                return "open", evidence, events
            if reason == "timeout":  # ICMP time exceeded: keep waiting for the deadline
                continue
            events.append(Event("connect", time.monotonic() - start, address, "tcp", reason))
            return reason, evidence, events
    finally:
        sock.close()


async def run(check: Check, ctx) -> Result:
    address, port = check.params["address"], int(check.params["port"])
    reason, evidence, events = await asyncio.to_thread(connect, address, port, ctx.timeout)
    if reason == "open":
        result = Result.of(
            check, Status.OK, "open", f"tcp {check.target} accepts connections", **evidence
        )
    else:
        result = Result.of(check, Status.FAIL, reason, _say(reason, check.target), **evidence)
    result.events = events
    return result


def _say(reason: str, target: str) -> str:
    return {
        "refused": f"tcp {target}: connection refused (TCP reset or port unreachable)",
        "timeout": f"tcp {target}: no answer (dropped, or nothing there)",
        "icmp-admin-prohibited": f"tcp {target}: rejected by a firewall (ICMP administratively prohibited)",
        "network-unreachable": f"tcp {target}: no route to that network",
        "icmp-host-unreachable": f"tcp {target}: host unreachable",
    }.get(reason, f"tcp {target}: {reason}")
