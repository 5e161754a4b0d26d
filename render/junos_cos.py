"""JunOS class of service: forwarding classes and queues for the catalogue's QoS
classes, the multifield classifier terms of the LAN input filter, and the
BA classifier, rewrite rules and schedulers (the trust boundary: host
markings land in best-effort unless the site keeps them)."""

from __future__ import annotations

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.model import Policy, Proto, QosClass, Span
from nhn_appliance.render.devices import ANY_PORTS, mark_pieces, text
from nhn_appliance.render.junos_views import (
    ACCEPT,
    FAMILY,
    Cos,
    Filter,
    Term,
    cidrs,
    dscp_alias,
    ident,
    port_range,
)

FREE_QUEUES = (1, 2, 4, 5, 6, 7)  #: best-effort keeps queue 0, network-control queue 3


def forwarding_classes(qos: dict[str, QosClass]) -> dict[str, tuple[str, int]]:
    """QoS class name -> (forwarding class, queue)."""
    out: dict[str, tuple[str, int]] = {}
    free = list(FREE_QUEUES)
    for name, cls in qos.items():
        if cls.dscp == 0:
            out[name] = ("best-effort", 0)
        elif cls.dscp == 48:
            out[name] = ("network-control", 3)
        elif name in ("best-effort", "network-control"):
            raise UsageError(
                f"QoS class {name}: the name of a JunOS forwarding class, with another DSCP"
            )
        elif not free:
            raise UsageError(
                f"QoS class {name}: JunOS has 8 queues and the other classes use them all"
            )
        else:
            out[name] = (f"nhn-{name}", free.pop(0))
    return out


def classes(policy: Policy, family: int, fcs: dict[str, tuple[str, int]]) -> list[Term]:
    """Multifield classifier terms: forwarding class and DSCP by destination, protocol, port."""
    pieces = mark_pieces(policy)
    set_dscp = "dscp" if family == 4 else "traffic-class"
    out = []
    for name, cls in policy.qos.items():
        by_dst: dict[tuple, list[tuple[int, int]]] = {}  # (proto, cidrs) -> port ranges
        for m in pieces.get(name, {}).get(family, []):
            blocks = tuple(cidrs((Span(family, m.first, m.last),)))
            by_dst.setdefault((m.proto, blocks), []).append((m.plo, m.phi))
        note = text(f"QoS class {name}" + (f": {cls.title}" if cls.title else ""))
        for n, ((proto, blocks), ports) in enumerate(by_dst.items(), 1):
            cond = [("destination-address", c) for c in blocks]
            if proto != Proto.ANY:
                cond.append(("protocol" if family == 4 else "next-header", str(proto)))
                if ANY_PORTS not in ports:
                    cond += [("destination-port", port_range(lo, hi)) for lo, hi in ports]
            acts = [("forwarding-class", fcs[name][0]), (set_dscp, dscp_alias(cls.dscp))]
            out.append(Term(f"q-{ident(name)}-{n}", note, cond, acts))
    return out


def qos_filter(family: int, qos: list[Term]) -> Filter:
    flt = Filter(FAMILY[family], "nhn-qos")
    flt.terms += [Term(t.name, t.note, t.conditions, [*t.actions, ACCEPT]) for t in qos]
    flt.terms.append(Term("other", "unclassified: its BA class", [], [ACCEPT]))
    return flt


def cos(policy: Policy, fcs: dict[str, tuple[str, int]], families: list[int]) -> Cos:
    chosen: dict[str, QosClass | None] = {}
    for name, cls in policy.qos.items():
        chosen.setdefault(fcs[name][0], cls)  # the first class of a forwarding class queues it
    chosen.setdefault("best-effort", None)
    classes = sorted({fc_q for fc_q in fcs.values()} | {("best-effort", 0)}, key=lambda x: x[1])
    rewrite = [(fc, dscp_alias(c.dscp) if c else "be") for fc, c in chosen.items()]
    if policy.keep_host_marking:  # trust the class table's code points, nothing else
        classify = [(fc, dscp_alias(c.dscp)) for fc, c in chosen.items() if c]
        classifier = "nhn"
    else:  # every host marking lands in best-effort (rewritten to DSCP 0 on the uplink)
        classify = [("best-effort", " ".join(format(v, "06b") for v in range(64)))]
        classifier = "nhn-untrusted"
    scheds = [
        (
            fc,
            fc if fc.startswith("nhn-") else f"nhn-{fc}",
            c.share if c else 0,
            bool(c and c.priority),
        )
        for fc, c in chosen.items()
    ]
    kinds = ["dscp"] + (["dscp-ipv6"] if 6 in families else [])
    return Cos(classes, classifier, classify, rewrite, scheds, kinds)
