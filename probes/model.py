"""What a probe is asked (:class:`Check`) and what it answers (:class:`Result`).

One uniform result for every prober (the blackbox_exporter lesson), with the
evidence of what was sent and what came back (the OONI lesson). A prober
never raises for a network failure: it classifies it into ``reason`` from
the closed vocabulary in :mod:`nhn_appliance.probes.failures`. A check's
parameters are typed per kind (:mod:`nhn_appliance.probes.params`); its kind
is the kind of its parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from nhn_appliance.probes.params import Params
from nhn_appliance.probes.reasons import AnyReason

P = TypeVar("P", bound=Params, covariant=True)


class Status(StrEnum):
    OK = "ok"  #: the check saw what the site needs
    WARN = "warn"  #: works, but something is off (a differing DNS answer, a clock 1-30 s off)
    FAIL = "fail"  #: the site's need is not met (blocked, refused, wrong answer)
    ERROR = "error"  #: the check could not be carried out (bad input, local failure)
    SKIPPED = "skipped"  #: not run (needs root, no such uplink, cancelled)

    @property
    def severity(self) -> int:
        """How bad, for "the worst status wins": error (the check could not
        run) > fail > warn > ok > skipped (not run says nothing)."""
        return SEVERITY[self]


#: the one status order of the product (probe summary, report verdicts, Nagios, Prometheus)
SEVERITY = {Status.SKIPPED: -1, Status.OK: 0, Status.WARN: 1, Status.FAIL: 2, Status.ERROR: 3}

#: the result document's format name and version (readers refuse others)
RESULTS_SCHEMA = "nhn-appliance/probe-results/1"


def worst(statuses: Iterable[Status | str]) -> Status:
    """The worst of ``statuses``; an unknown status string counts as an error;
    no status at all is "skipped"."""
    found = Status.SKIPPED
    for s in statuses:
        status = Status(s) if s in Status.__members__.values() else Status.ERROR
        if status.severity > found.severity:
            found = status
    return found


@dataclass(frozen=True)
class Check(Generic[P]):
    """One planned check; ``params`` are its prober's own typed inputs."""

    id: str
    target: str  #: what is probed, as a person reads it ("91.186.66.22:8041", "ntp.nhn.no")
    service: str
    source: str  #: the catalogue source the check serves
    expect: str  #: what "ok" means, in words ("open", "resolves", "answers", ...)
    params: P
    zone: str = ""  #: the uplink zone the plan sends it by ("" when no rule says)

    @property
    def kind(self) -> str:
        """dns, tcp, syn, stun, sip, tls, pac, proxy, ntp, path, sniff or note."""
        return self.params.KIND


@dataclass
class Event:
    """One thing a prober did or saw, relative to the check's start (OONI netevents)."""

    op: str  #: connect, send, recv, query, answer, handshake, close, ...
    t: float  #: seconds since the check started
    address: str = ""
    proto: str = ""
    failure: AnyReason | None = None  #: a reason, or None when it went well
    num_bytes: int = 0
    detail: str = ""


@dataclass
class Result:
    id: str
    kind: str
    target: str
    service: str
    source: str
    status: Status
    reason: AnyReason
    detail: str = ""  #: one sentence for a person
    evidence: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    duration_s: float = 0.0
    zone: str = ""  #: the check's uplink zone, so a report can tell one silent line

    @classmethod
    def of(
        cls,
        check: Check[Params],
        status: Status,
        reason: AnyReason,
        detail: str = "",
        *,
        events: list[Event] | None = None,
        **evidence: Any,
    ) -> Result:
        return cls(
            check.id,
            check.kind,
            check.target,
            check.service,
            check.source,
            status,
            reason,
            detail,
            dict(evidence),
            events if events is not None else [],
            zone=check.zone,
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        out["reason"] = str(self.reason)
        out["duration_s"] = round(self.duration_s, 4)
        for e in out["events"]:
            e["t"] = round(e["t"], 4)
            e["failure"] = None if e["failure"] is None else str(e["failure"])
        return out
