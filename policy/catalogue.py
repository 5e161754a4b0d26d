"""Load the rules catalogue: one TOML file per NHN service, plus the QoS classes.

A service file has a ``[service]`` table, ``[[endpoint]]`` openings and
optionally ``[[profile]]`` host isolation lists; ``qos.toml`` has
``[[class]]`` entries. See ``docs/catalogue.md`` for every key.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from nhn_appliance.errors import CatalogueError
from nhn_appliance.policy.addresses import PORT_FORMS, merge_ports, parse_address, parse_port
from nhn_appliance.policy.defaults import defaults_file, load_defaults
from nhn_appliance.policy.model import (
    Action,
    Catalogue,
    Endpoint,
    PortRange,
    Profile,
    Proto,
    QosClass,
    Service,
    Zone,
)
from nhn_appliance.policy.schema import Node, read_toml

ZONES = tuple(z.value for z in Zone)
PROTOCOLS = tuple(p.value for p in Proto)
SITE_ADDRESS_KEYS = ("resolvers",)
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

ENDPOINT_KEYS = {
    "id",
    "title",
    "zone",
    "addresses",
    "names",
    "site_addresses",
    "protocol",
    "ports",
    "tcp",
    "udp",
    "qos",
    "action",
    "source",
    "note",
    "sni",
    "system_proxy",
}
SERVICE_KEYS = {"name", "title", "description", "source", "note"}
PROFILE_KEYS = {"name", "title", "otherwise", "source", "note", "endpoint"}
QOS_KEYS = {"name", "title", "dscp", "share", "priority", "source", "note"}

#: DSCP code points by name (RFC 2474, 2597, 3246, 5865, 8622)
DSCP_NAMES = {
    "DF": 0,
    "BE": 0,
    "LE": 1,
    "EF": 46,
    "VOICE-ADMIT": 44,
    **{f"CS{i}": i * 8 for i in range(8)},
    **{f"AF{c}{d}": c * 8 + d * 2 for c in range(1, 5) for d in range(1, 4)},
}


def default_rules_dir() -> Path:
    """The catalogue shipped with the package (``rules/`` in the repository)."""
    return Path(str(resources.files("nhn_appliance.rules")))


def parse_dscp(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a DSCP value")
    if isinstance(value, int):
        if not 0 <= value <= 63:
            raise ValueError(f"DSCP {value} is out of range 0-63")
        return value
    if isinstance(value, str) and value.upper() in DSCP_NAMES:
        return DSCP_NAMES[value.upper()]
    raise ValueError(f"{value!r} is not a DSCP value; write 0-63 or a name such as EF, AF41, CS3")


def hostname(value: object) -> str:
    if not isinstance(value, str) or not HOSTNAME_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS name (lower-case, such as proxy.example.no)")
    return value


def _ports(node: Node, proto: str) -> tuple[PortRange, ...]:
    ports = merge_ports(p.parsed(parse_port) for p in node.list(single_ok=True))
    if not ports:
        raise node.fail(f"protocol {proto} needs ports", PORT_FORMS)
    return ports


def _flows(node: Node) -> tuple[tuple[Proto, tuple[PortRange, ...]], ...]:
    """Either ``protocol`` + ``ports``, or per-protocol ``tcp = [...]`` / ``udp = [...]``."""
    split = [k for k in ("tcp", "udp") if node.has(k)]
    if split:
        for k in ("protocol", "ports"):
            if node.has(k):
                raise node.get(k).fail(
                    f"give either '{k}' or per-protocol 'tcp'/'udp' lists, not both"
                )
        return tuple((Proto(k), _ports(node.get(k), k)) for k in split)
    if not node.has("protocol"):
        raise node.get("protocol").fail(
            "is required (or per-protocol 'tcp'/'udp' port lists)", ", ".join(PROTOCOLS)
        )
    protos = [Proto(p.choice(PROTOCOLS)) for p in node.get("protocol").list(single_ok=True)]
    if not protos:
        raise node.get("protocol").fail("must name a protocol", ", ".join(PROTOCOLS))
    if Proto.ANY in protos:
        if len(protos) > 1:
            raise node.get("protocol").fail("'any' already covers every protocol; write it alone")
        ports = merge_ports(p.parsed(parse_port) for p in node.get("ports").list(single_ok=True))
        if ports and ports != ((0, 65535),):
            raise node.get("ports").fail("protocol 'any' matches every port; leave 'ports' out")
        return ((Proto.ANY, ()),)
    if len(set(protos)) != len(protos):
        raise node.get("protocol").fail("names a protocol twice")
    ports = _ports(node.get("ports"), "/".join(protos))
    return tuple((p, ports) for p in protos)


def load_endpoint(node: Node) -> Endpoint:
    node.table(ENDPOINT_KEYS, required=("id", "zone", "source"))
    zones = tuple(Zone(z.choice(ZONES)) for z in node.get("zone").list(single_ok=True))
    if not zones:
        raise node.get("zone").fail("must name at least one zone", ", ".join(ZONES))
    if len(set(zones)) != len(zones):
        raise node.get("zone").fail("names a zone twice")
    flows = _flows(node)
    addresses = tuple(a.parsed(parse_address) for a in node.get("addresses").list(single_ok=True))
    names = tuple(n.parsed(hostname) for n in node.get("names").list(single_ok=True))
    site_addresses = ""
    if node.has("site_addresses"):
        site_addresses = node.get("site_addresses").choice(SITE_ADDRESS_KEYS)
    if not (addresses or names or site_addresses):
        raise node.fail("has no destination: give 'addresses', 'names' or 'site_addresses'")
    return Endpoint(
        id=node.get("id").name(),
        title=node.get("title").text(""),
        zones=zones,
        flows=flows,
        addresses=addresses,
        names=names,
        site_addresses=site_addresses,
        qos=node.get("qos").name("standard"),
        action=Action(node.get("action").choice(("accept", "reject"), "accept")),
        source=cited_source(node.get("source")),
        note=node.get("note").text(""),
        sni=node.get("sni").parsed(hostname) if node.has("sni") else "",
        system_proxy=node.get("system_proxy").boolean(False),
    )


def cited_source(node: Node) -> str:
    """A non-empty citation: where a fact comes from (seed file and line, or a public page)."""
    value = node.text()
    if not value.strip():
        raise node.fail(
            "must cite where the fact comes from (seed file and line, or a public page)"
        )
    return value


def _endpoints(nodes: list[Node]) -> tuple[Endpoint, ...]:
    seen: set[str] = set()
    out = []
    for n in nodes:
        ep = load_endpoint(n)
        if ep.id in seen:
            raise n.get("id").fail(f"endpoint id {ep.id!r} is used twice in this file")
        seen.add(ep.id)
        out.append(ep)
    return tuple(out)


def load_service(path: Path, display: str) -> Service:
    root = Node(read_toml(path, display, CatalogueError), display, "", CatalogueError)
    root.table({"service", "endpoint", "profile"}, required=("service",))
    head = root.get("service").table(SERVICE_KEYS, required=("name", "source"))
    name = head.get("name").name()
    if name != path.stem:
        raise head.get("name").fail(f"service {name!r} must live in a file named {name}.toml")
    profiles = []
    for pnode in root.get("profile").list():
        pnode.table(PROFILE_KEYS, required=("name", "source", "endpoint"))
        profiles.append(
            Profile(
                name=pnode.get("name").name(),
                service=name,
                title=pnode.get("title").text(""),
                otherwise=Action(pnode.get("otherwise").choice(("drop", "reject"), "reject")),
                endpoints=_endpoints(pnode.get("endpoint").list()),
                source=cited_source(pnode.get("source")),
                note=pnode.get("note").text(""),
            )
        )
    endpoints = _endpoints(root.get("endpoint").list())
    if not endpoints and not profiles:
        raise root.fail("has neither [[endpoint]] nor [[profile]] entries")
    return Service(
        name=name,
        title=head.get("title").text(name),
        description=head.get("description").text(""),
        file=display,
        endpoints=endpoints,
        profiles=tuple(profiles),
        source=cited_source(head.get("source")),
        note=head.get("note").text(""),
    )


def load_qos_classes(root: Node) -> dict[str, QosClass]:
    classes: dict[str, QosClass] = {}
    for node in root.get("class").list():
        node.table(QOS_KEYS, required=("name", "dscp", "source"))
        cls = QosClass(
            name=node.get("name").name(),
            title=node.get("title").text(""),
            dscp=node.get("dscp").parsed(parse_dscp),
            share=node.get("share").integer(0, 100, 0),
            priority=node.get("priority").boolean(False),
            source=cited_source(node.get("source")),
            note=node.get("note").text(""),
        )
        if cls.name in classes:
            raise node.get("name").fail(f"QoS class {cls.name!r} is defined twice")
        classes[cls.name] = cls
    return classes


def check_shares(classes: dict[str, QosClass], node: Node) -> None:
    total = sum(c.share for c in classes.values())
    if total > 100:
        raise node.fail(f"QoS shares add up to {total}%, more than 100%")


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Load and cross-check every file of a catalogue directory."""
    directory = Path(directory) if directory else default_rules_dir()
    return _load_catalogue(str(directory.resolve()) if directory.exists() else str(directory))


@lru_cache(maxsize=8)
def _load_catalogue(directory: str) -> Catalogue:
    base = Path(directory)
    if not base.is_dir():
        raise CatalogueError(directory, "", "is not a directory with rules/*.toml files")
    files = sorted(base.glob("*.toml"))
    if not files:
        raise CatalogueError(directory, "", "holds no .toml files")
    services: dict[str, Service] = {}
    qos: dict[str, QosClass] = {}
    for path in files:
        display = str(path)
        if path.name == "qos.toml":
            root = Node(read_toml(path, display, CatalogueError), display, "", CatalogueError)
            root.table({"class"}, required=("class",))
            qos = load_qos_classes(root)
            check_shares(qos, root.get("class"))
            continue
        svc = load_service(path, display)
        services[svc.name] = svc
    if not qos:
        raise CatalogueError(
            str(base / "qos.toml"), "", "is missing: the catalogue needs its QoS classes"
        )
    _cross_check(services, qos)
    defaults = load_defaults(defaults_file(base))
    return Catalogue(
        directory=directory,
        services=services,
        qos=qos,
        defaults=defaults,
        revision=_revision(base),
    )


def _revision(base: Path) -> str:
    """A digest of every TOML file of the catalogue (name and bytes): which
    catalogue a rendered file came from, whatever its folder. ``report/`` (the
    report's finding rules and wording) shapes no rendered file, so it is left
    out: a reworded report does not make every router's rules look changed."""
    digest = hashlib.sha256()
    for path in sorted(base.rglob("*.toml")):
        if path.relative_to(base).parts[0] == "report":
            continue
        digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _cross_check(services: dict[str, Service], qos: dict[str, QosClass]) -> None:
    profile_owner: dict[str, str] = {}
    for svc in services.values():
        for p in svc.profiles:
            if p.name in profile_owner:
                raise CatalogueError(
                    svc.file,
                    "profile",
                    f"profile {p.name!r} is also defined in {profile_owner[p.name]}",
                )
            profile_owner[p.name] = svc.file
        groups = [("endpoint", svc.endpoints)] + [
            (f"profile({p.name}).endpoint", p.endpoints) for p in svc.profiles
        ]
        for where, endpoints in groups:
            for ep in endpoints:
                if ep.qos not in qos:
                    raise CatalogueError(
                        svc.file,
                        f"{where}({ep.id}).qos",
                        f"QoS class {ep.qos!r} is not in qos.toml",
                        ", ".join(sorted(qos)),
                    )
