"""JunOS: ``set`` commands to paste (``load set terminal``) and commit.

Two forms, chosen with ``-O form=``:

- ``srx`` (default), for branch firewalls in flow mode: security zones
  (``nhn-lan`` and one per uplink) bound to the units, one address book
  attached to them, custom applications per protocol and port range, and
  security policies from ``nhn-lan`` to each uplink zone in the policy's order
  (each profile's policies and its ``otherwise``, the LAN's, the site default,
  then a deny for anything else). SRX policies are looked up before source
  NAT and are stateful: replies of a session pass, and unsolicited inbound
  traffic meets the explicit inbound deny. IPv4 leaving by the internet
  uplink gets interface source NAT from a rule-set of our own.
- ``filter``, for routers without flow mode: one stateless input filter per
  family on the LAN units (it sees the LAN source before any NAT) with the
  whole decision, and an output filter on the LAN units that admits only
  replies (``tcp-established``) and what the LAN itself sends. No filter is
  put on an uplink, so the router's own traffic (routing, DHCP, neighbour
  discovery, management) is never discarded by us.

Class of service (both forms): a behaviour-aggregate classifier on the LAN
units that puts every host marking into best-effort (or, with
``keep_host_marking``, the class table's code points into their classes), a
multifield classifier in the LAN input filter that sets each class's
forwarding class and DSCP, rewrite rules for every forwarding class on the
uplinks (best-effort included), schedulers with a capped strict-high queue
and a shaping rate per uplink from the site's line rate.

Python builds view data only; every statement is spelt in the templates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.model import Action, Policy, Proto, Rule
from nhn_appliance.render import Artifact
from nhn_appliance.render.devices import interface_map, text
from nhn_appliance.render.junos_cos import classes, cos, forwarding_classes, qos_filter
from nhn_appliance.render.junos_views import (
    ACCEPT,
    DISCARD,
    FAMILY,
    App,
    Filter,
    Names,
    SecPolicy,
    Term,
    Unit,
    ZonePair,
    cidrs,
    port_range,
)
from nhn_appliance.render.templating import render_template

JUNOS_IFACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9/:_-]{0,31}(\.[0-9]{1,5})?$")
FORMS = ("srx", "filter")
SRX_THEN = {Action.ACCEPT: "permit", Action.REJECT: "reject", Action.DROP: "deny"}
#: filter form: "reject tcp-reset" answers TCP with a RST, anything else with ICMP
#: administratively prohibited (Juniper, "Firewall Filter Terminating Actions")
FILTER_THEN = {
    Action.ACCEPT: ("accept", ""),
    Action.REJECT: ("reject", "tcp-reset"),
    Action.DROP: ("discard", ""),
}
#: addresses a router never forwards: broadcast, link-scoped multicast, link-local (RFC 4291)
LINK_LOCAL = {4: ("255.255.255.255/32", "224.0.0.0/24"), 6: ("ff02::/16", "fe80::/10")}


class JunosRenderer:
    name = "junos"
    description = (
        "JunOS set commands: SRX zones and stateful policies (or stateless LAN filters with "
        "-O form=filter), class of service"
    )
    options: dict[str, str] = {
        "helsenett": "JunOS unit of the helsenett uplink, e.g. ge-0/0/1.0",
        "internett": "JunOS unit of the internett uplink, e.g. ge-0/0/2.0",
        "lan": "JunOS unit(s) of the LAN, comma-separated in the site's order, e.g. ge-0/0/0.0",
        "form": "srx (default: security zones and policies, flow mode) or filter (stateless "
        "filters on the LAN units, for routers without flow mode)",
    }
    limits: tuple[str, ...] = (
        "srx form: the units must be in no other security zone, and the LAN's IPv4 leaves the "
        "internet uplink by interface source NAT of its own rule-set; other NAT is left alone",
        "srx form: reject sends a TCP reset for TCP and ICMP port unreachable (not "
        "administratively prohibited) for UDP, and drops other protocols silently",
        "filter form: stateless; inbound TCP needs an established connection, but inbound UDP "
        "and ICMP cannot be told from replies and pass to the LAN",
        "filter form: a profile host's openings are checked on the LAN side whatever uplink the "
        "route picks; the site must route each destination as the header says",
        "the LAN units' input filter and classifier and the uplinks' rewrite rules and scheduler "
        "map replace any the units had; the forwarding-class table is redefined (the default "
        "expedited-forwarding and assured-forwarding classes are gone)",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        opts = dict(options or {})
        form = opts.pop("form", "srx")
        if form not in FORMS:
            raise UsageError(f"form = {form!r}: use srx or filter")
        units = self._units(policy, opts)
        names = Names()
        fcs = forwarding_classes(policy.qos)
        lan_families = sorted({p.family for p in policy.lan_prefixes})
        qos_terms = {f: classes(policy, f, fcs) for f in lan_families}
        pairs: list[ZonePair] = []
        filters: list[Filter] = []
        apps: dict[str, App] = {}
        if form == "srx":
            pairs = self._zone_pairs(policy, names, apps)
            filters = [qos_filter(f, qos_terms[f]) for f in lan_families]
        else:
            # a LAN without IPv6 still gets an inet6 filter: IPv6 from it is discarded
            for f in (4, 6):
                filters.append(self._lan_in(policy, f, names, qos_terms.get(f, [])))
                filters.append(self._lan_out(policy, f, names))
        lan4 = [p for p in policy.lan_prefixes if p.family == 4]
        text_ = render_template(
            "junos.j2",
            policy=policy,
            form=form,
            units=units,
            lan=[units[i] for i in policy.lan_interfaces],
            uplinks=[(u.zone.value, units[u.interface], u.rate_mbit) for u in policy.uplinks],
            sets=list(names.sets.values()),
            apps=list(apps.values()),
            pairs=pairs,
            filters=filters,
            nat=cidrs(tuple(lan4))
            if any(u.zone.value == "internett" for u in policy.uplinks)
            else [],
            cos=cos(policy, fcs, lan_families),
            comment=text,
        )
        return [Artifact("nhn-appliance.set", text_)]

    @staticmethod
    def _units(policy: Policy, options: Mapping[str, str]) -> dict[str, Unit]:
        """Site interface -> the device's unit (unit 0 unless the name ends in .N)."""
        out = {}
        for site_name, name in interface_map(
            policy, options, JUNOS_IFACE_RE, "ge-0/0/1.0", "junos"
        ).items():
            ifd, dot, unit = name.rpartition(".")
            out[site_name] = Unit(ifd, unit) if dot and unit.isdigit() else Unit(name, "0")
        return out

    # -- srx form ------------------------------------------------------------------------------
    def _zone_pairs(self, policy: Policy, names: Names, apps: dict[str, App]) -> list[ZonePair]:
        lan = names.get(policy.lan_prefixes, "nhn-lan") if policy.lan_prefixes else None
        pairs = [ZonePair("nhn-lan", "nhn-lan")]
        pairs[0].policies.append(
            SecPolicy(
                "nhn-within-lan", "within the LAN", ["any"], ["any"], ["any"], "permit", False
            )
        )
        for up in policy.uplinks:
            zone = f"nhn-{up.zone.value}"
            pair = ZonePair("nhn-lan", zone)
            pol = pair.policies
            for b in policy.profiles:
                if not b.hosts:
                    continue
                src = [names.get(b.hosts, f"nhn-hosts-{b.name}")]
                rules = [r for r in policy.scope_rules(b.name) if up.interface in r.interfaces]
                pol += self._policies(rules, src, f"{zone}-{b.name}", names, apps)
                note = text(f"{b.name}: everything else blocked ({b.source})")
                then = SRX_THEN[b.otherwise]
                pol.append(
                    SecPolicy(f"{zone}-{b.name}-otherwise", note, src, ["any"], ["any"], then, True)
                )
            if lan:
                rules = [r for r in policy.scope_rules("") if up.interface in r.interfaces]
                pol += self._policies(rules, [lan], f"{zone}-lan", names, apps)
                then = SRX_THEN[policy.default_action]
                note = text(policy.default_comment)
                pol.append(
                    SecPolicy(
                        f"{zone}-lan-default", note, [lan], ["any"], ["any"], then, then != "permit"
                    )
                )
            note = "source not in the LAN prefixes"
            pol.append(
                SecPolicy(f"{zone}-not-from-lan", note, ["any"], ["any"], ["any"], "deny", True)
            )
            pairs.append(pair)
            inbound = ZonePair(zone, "nhn-lan")
            note = "unsolicited inbound (replies pass by their session)"
            inbound.policies.append(
                SecPolicy(f"{zone}-inbound", note, ["any"], ["any"], ["any"], "deny", True)
            )
            pairs.append(inbound)
        return pairs

    @staticmethod
    def _policies(
        rules: list[Rule], src: list[str], prefix: str, names: Names, apps: dict[str, App]
    ) -> list[SecPolicy]:
        out = []
        for n, r in enumerate(rules, 1):
            dst = names.get(r.dst, "nhn-dst")
            used = ["any"]
            if r.proto != Proto.ANY:
                used = []
                for p in r.ports:
                    app = App(
                        f"nhn-{r.proto}-{port_range(p.lo, p.hi)}",
                        str(r.proto),
                        port_range(p.lo, p.hi),
                    )
                    apps.setdefault(app.name, app)
                    used.append(app.name)
            then = SRX_THEN[r.action]
            note = text(f"{r.id} {r.source}")
            out.append(SecPolicy(f"{prefix}-{n}", note, src, [dst], used, then, then != "permit"))
        return out

    # -- filter form ---------------------------------------------------------------------------
    def _lan_in(self, policy: Policy, family: int, names: Names, qos: list[Term]) -> Filter:
        flt = Filter(FAMILY[family], "nhn-from-lan")
        lan = tuple(p for p in policy.lan_prefixes if p.family == family)
        terms = flt.terms
        local = [("destination-address", c) for c in LINK_LOCAL[family]]
        terms.append(
            Term("link-local", "on the LAN segment (DHCP, ND, multicast)", local, [ACCEPT])
        )
        if family == 6:
            ll = [("source-address", "fe80::/10")]
            terms.append(Term("link-local-source", "from a link-local address", ll, [ACCEPT]))
        if not lan:
            terms.append(
                Term("no-lan-prefix", f"the LAN has no IPv{family} prefix", [], [DISCARD], True)
            )
            return flt
        lan_src = ("source-prefix-list", names.get(lan, "nhn-lan"))
        within = [("destination-prefix-list", lan_src[1])]
        terms.append(
            Term("within-lan", "within the LAN (and the router LAN address)", within, [ACCEPT])
        )
        # forwarding class and DSCP, then on to the decision ("next term")
        terms += [Term(t.name, t.note, t.conditions, [*t.actions, ("next", "term")]) for t in qos]
        for b in policy.profiles:
            hosts = tuple(h for h in b.hosts if h.family == family)
            if not hosts:
                continue
            src = ("source-prefix-list", names.get(hosts, f"nhn-hosts-{b.name}"))
            rules = [r for r in policy.scope_rules(b.name) if r.family == family]
            terms += self._terms(rules, src, f"p-{b.name}", names)
            note = text(f"{b.name}: everything else blocked ({b.source})")
            then = FILTER_THEN[b.otherwise]
            terms.append(Term(f"p-{b.name}-otherwise", note, [src], [then], True))
        rules = [r for r in policy.scope_rules("") if r.family == family]
        terms += self._terms(rules, lan_src, "lan", names)
        then = FILTER_THEN[policy.default_action]
        terms.append(
            Term("lan-default", text(policy.default_comment), [lan_src], [then], then != ACCEPT)
        )
        terms.append(Term("not-from-lan", "source not in the LAN prefixes", [], [DISCARD], True))
        return flt

    @staticmethod
    def _terms(rules: list[Rule], src: tuple[str, str], block: str, names: Names) -> list[Term]:
        out: list[Term] = []
        seen: set[tuple] = set()
        for r in rules:
            key = (r.dst, r.proto, r.ports, r.action)
            if key in seen:  # one opening on several uplinks: one term (the LAN sees no uplink)
                continue
            seen.add(key)
            cond = [src, ("destination-prefix-list", names.get(r.dst, "nhn-dst"))]
            if r.proto != Proto.ANY:
                cond.append(("protocol" if r.family == 4 else "next-header", str(r.proto)))
                cond += [("destination-port", port_range(p.lo, p.hi)) for p in r.ports]
            then = FILTER_THEN[r.action]
            out.append(
                Term(
                    f"{block}-{len(out) + 1}",
                    text(f"{r.id} {r.source}"),
                    cond,
                    [then],
                    then != ACCEPT,
                )
            )
        return out

    @staticmethod
    def _lan_out(policy: Policy, family: int, names: Names) -> Filter:
        """What may reach the LAN: its own and link-local sources (the router's own traffic
        among them), TCP replies, ICMP; UDP cannot be told from replies statelessly."""
        flt = Filter(FAMILY[family], "nhn-to-lan")
        lan = tuple(p for p in policy.lan_prefixes if p.family == family)
        if lan:
            src = [("source-prefix-list", names.get(lan, "nhn-lan"))]
            flt.terms.append(
                Term("from-lan", "from the LAN or the router LAN address", src, [ACCEPT])
            )
        src_ll = [("source-address", "fe80::/10" if family == 6 else "0.0.0.0/32")]
        flt.terms.append(Term("link-local", "link-local senders (ND, DHCP)", src_ll, [ACCEPT]))
        proto = "protocol" if family == 4 else "next-header"
        est = [(proto, "tcp"), ("tcp-established", "")]
        flt.terms.append(
            Term("tcp-replies", "TCP of connections started from the LAN", est, [ACCEPT])
        )
        for p in ("udp", "icmp" if family == 4 else "icmp6"):
            flt.terms.append(
                Term(
                    f"{p}-in",
                    f"{p}: replies cannot be told apart without state",
                    [(proto, p)],
                    [ACCEPT],
                )
            )
        flt.terms.append(
            Term("inbound", "new connections from outside the LAN", [], [DISCARD], True)
        )
        return flt


RENDERER = JunosRenderer()
