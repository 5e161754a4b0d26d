"""Text and JSON views of catalogue services and compiled policies for the CLI."""

from __future__ import annotations

from nhn_appliance.policy.addresses import format_ports, format_span
from nhn_appliance.policy.explain import describe_rule
from nhn_appliance.policy.model import Endpoint, Policy, Rule, Service

PAST = {"accept": "accepted", "drop": "dropped", "reject": "rejected"}


def _flows(ep: Endpoint) -> str:
    return "; ".join(p if not ports else f"{p} {format_ports(ports)}" for p, ports in ep.flows)


def _dest(ep: Endpoint) -> list[str]:
    out = [format_span(a) for a in ep.addresses] + list(ep.names)
    if ep.site_addresses:
        out.append(f"(site {ep.site_addresses})")
    return out


def endpoint_dict(ep: Endpoint) -> dict:
    return {
        "id": ep.id,
        "title": ep.title,
        "zones": [z.value for z in ep.zones],
        "addresses": [format_span(a) for a in ep.addresses],
        "names": list(ep.names),
        "site_addresses": ep.site_addresses or None,
        "flows": [
            {"protocol": p.value, "ports": format_ports(ports) or None} for p, ports in ep.flows
        ],
        "qos": ep.qos,
        "action": ep.action.value,
        "source": ep.source,
        "note": ep.note or None,
    }


def service_dict(svc: Service) -> dict:
    return {
        "name": svc.name,
        "title": svc.title,
        "file": svc.file,
        "source": svc.source,
        "note": svc.note or None,
        "endpoints": [endpoint_dict(e) for e in svc.endpoints],
        "profiles": [
            {
                "name": p.name,
                "title": p.title,
                "otherwise": p.otherwise.value,
                "source": p.source,
                "note": p.note or None,
                "endpoints": [endpoint_dict(e) for e in p.endpoints],
            }
            for p in svc.profiles
        ],
    }


def _endpoint_lines(ep: Endpoint, indent: str) -> list[str]:
    action = "" if ep.action.value == "accept" else f" [{ep.action.value}]"
    lines = [
        f"{indent}{ep.id}{action}: {ep.title}",
        f"{indent}  zone {'/'.join(ep.zones)}; to {', '.join(_dest(ep))}",
        f"{indent}  {_flows(ep)}; QoS {ep.qos}; source {ep.source}",
    ]
    if ep.note:
        lines.append(f"{indent}  note: {ep.note}")
    return lines


def service_text(svc: Service) -> str:
    lines = [f"{svc.name}: {svc.title}", f"  file {svc.file}; source {svc.source}"]
    if svc.note:
        lines.append(f"  note: {svc.note}")
    if svc.endpoints:
        lines.append("  endpoints:")
        for ep in svc.endpoints:
            lines.extend(_endpoint_lines(ep, "    "))
    for p in svc.profiles:
        lines.append(
            f"  profile {p.name}: {p.title} (everything else: {p.otherwise}; source {p.source})"
        )
        if p.note:
            lines.append(f"    note: {p.note}")
        for ep in p.endpoints:
            lines.extend(_endpoint_lines(ep, "    "))
    return "\n".join(lines)


def rule_dict(r: Rule) -> dict:
    return {
        "id": r.id,
        "profile": r.profile or None,
        "service": r.service,
        "zone": r.zone.value,
        "interfaces": list(r.interfaces),
        "action": r.action.value,
        "family": r.family,
        "proto": r.proto.value,
        "dst": [format_span(s) for s in r.dst],
        "ports": format_ports(r.ports) or None,
        "qos": r.qos,
        "source": r.source,
    }


def policy_dict(p: Policy) -> dict:
    return {
        "site": p.site,
        "site_file": p.site_file,
        "outbound": p.outbound,
        "default_action": p.default_action.value,
        "lan_interfaces": list(p.lan_interfaces),
        "lan_prefixes": [format_span(s) for s in p.lan_prefixes],
        "uplinks": [{"zone": u.zone.value, "interface": u.interface} for u in p.uplinks],
        "profiles": [
            {
                "name": b.name,
                "hosts": [format_span(h) for h in b.hosts],
                "host_names": list(b.host_names),
                "otherwise": b.otherwise.value,
                "source": b.source,
            }
            for b in p.profiles
        ],
        "rules": [rule_dict(r) for r in p.rules],
        "warnings": list(p.warnings),
        "omitted": list(p.omitted),
    }


def policy_text(p: Policy) -> str:
    ups = ", ".join(f"{u.zone} ({u.interface})" for u in p.uplinks)
    lines = [
        f"site {p.site} ({p.site_file})",
        f"  LAN {', '.join(p.lan_interfaces)}: {', '.join(format_span(s) for s in p.lan_prefixes)}",
        f"  uplinks: {ups}",
        f"  outbound {p.outbound}: anything not listed is {PAST[p.default_action.value]}",
    ]
    scopes = [
        (b.name, f"profile {b.name} for {', '.join(b.host_names)} (else {b.otherwise})")
        for b in p.profiles
    ] + [("", "LAN")]
    for scope, title in scopes:
        lines.append(f"{title}:")
        for i, r in enumerate(p.scope_rules(scope), 1):
            lines.append(f"  {i:>3}. IPv{r.family} {describe_rule(r)}  [{r.source}]")
    for o in p.omitted:
        lines.append(f"left out: {o}")
    return "\n".join(lines)
