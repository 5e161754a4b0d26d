"""Loading the rules catalogue: the real one, and one broken catalogue per rule.

Each directory tests/cases/invalid/catalogue_*/ is a whole catalogue with
exactly one flaw. Its test asserts the file, the key path and the gist of the
message, and that the command line prints the same error on stderr and exits
with code 2.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import INVALID, UNIT

from nhn_appliance.errors import CatalogueError, InputError
from nhn_appliance.policy.addresses import parse_address
from nhn_appliance.policy.catalogue import default_rules_dir, load_catalogue, parse_dscp
from nhn_appliance.policy.model import Action, PortRange, Proto, Zone

SERVICES = {
    "betalingsterminal",
    "cma",
    "dns",
    "fjernhjelp",
    "helseid",
    "join",
    "ntp",
    "proxy",
    "videokonferanse",
}


# -- the real catalogue ----------------------------------------------------------
@pytest.fixture(scope="module")
def real():
    return load_catalogue()


def test_real_catalogue_loads_every_service(real) -> None:
    assert set(real.services) >= SERVICES
    assert Path(real.directory) == default_rules_dir().resolve()


def test_real_catalogue_has_its_qos_classes(real) -> None:
    assert set(real.qos) >= {"standard", "signalering", "interaktiv-video", "forretningskritisk"}
    assert real.qos["sanntid"].dscp == 46 and real.qos["sanntid"].priority
    assert real.qos["interaktiv-video"].dscp == 34  # AF41
    assert sum(c.share for c in real.qos.values()) <= 100


def test_real_catalogue_every_endpoint_cites_a_source_and_a_known_class(real) -> None:
    for svc in real.services.values():
        assert svc.source.strip(), svc.name
        assert svc.file.endswith(f"{svc.name}.toml")
        eps = list(svc.endpoints) + [e for p in svc.profiles for e in p.endpoints]
        for ep in eps:
            assert ep.source.strip(), f"{svc.name}/{ep.id}"
            assert ep.qos in real.qos, f"{svc.name}/{ep.id}"


def test_real_catalogue_join_media_reads_the_en_dash(real) -> None:
    media = next(e for e in real.services["join"].endpoints if e.id == "helsenett-media")
    flows = dict(media.flows)
    # "40000–49999" (en dash) + "50000-54999" merge into one range
    assert flows[Proto.UDP] == (PortRange(40000, 54999),)
    assert flows[Proto.TCP] == (PortRange(40000, 49999),)
    assert media.addresses == (parse_address("91.186.92.28-91.186.92.32"),)


def test_real_catalogue_fjernhjelp(real) -> None:
    svc = real.services["fjernhjelp"]
    internett = next(e for e in svc.endpoints if e.id == "internett")
    assert internett.zones == (Zone.INTERNETT,)
    assert internett.addresses == (parse_address("91.186.66.22"),)
    assert internett.flows == ((Proto.TCP, (PortRange(443, 443), PortRange(8041, 8041))),)
    assert "002:88" in internett.source
    (profile,) = svc.profiles
    assert profile.name == "fjernhjelp-leverandor"
    assert profile.otherwise == Action.REJECT
    assert set(real.profiles) == {"fjernhjelp-leverandor", "videoutstyr"}


def test_real_catalogue_explicit_reject_and_site_addresses(real) -> None:
    feil = next(
        e for e in real.services["betalingsterminal"].endpoints if e.id == "secure-access-feil"
    )
    assert feil.action == Action.REJECT
    assert feil.flows == ((Proto.ANY, ()),)
    (dns,) = real.services["dns"].endpoints
    assert dns.site_addresses == "resolvers" and dns.addresses == ()


def test_unit_catalogue_loads() -> None:
    cat = load_catalogue(UNIT / "catalogue")
    assert set(cat.services) == {"alpha", "beta"}
    assert set(cat.profiles) == {"kiosk"}


def test_en_dash_in_a_catalogue_file(tmp_path: Path) -> None:
    (tmp_path / "qos.toml").write_text((UNIT / "catalogue" / "qos.toml").read_text())
    (tmp_path / "svc.toml").write_text(
        '[service]\nname = "svc"\nsource = "t"\n\n[[endpoint]]\nid = "m"\nzone = "helsenett"\n'
        'addresses = ["91.186.92.28\u201391.186.92.32"]\n'
        'udp = ["40000\u201349999"]\nsource = "t"\n',
        encoding="utf-8",
    )
    (ep,) = load_catalogue(tmp_path).services["svc"].endpoints
    assert ep.flows == ((Proto.UDP, (PortRange(40000, 49999),)),)
    assert ep.addresses == (parse_address("91.186.92.28-91.186.92.32"),)


# -- one broken catalogue per rule ---------------------------------------------------
# (case directory, file in it, key path, gist of the message)
INVALID_CATALOGUES = [
    (
        "catalogue_bad_cidr",
        "svc.toml",
        "endpoint[0].addresses[1]",
        "'83.118.128.0/33' has prefix length /33",
    ),
    (
        "catalogue_host_bits",
        "svc.toml",
        "endpoint[0].addresses[0]",
        "'10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?",
    ),
    ("catalogue_port_out_of_range", "svc.toml", "endpoint[0].tcp[1]", "port 70000 is out of range"),
    (
        "catalogue_port_range_backwards",
        "svc.toml",
        "endpoint[0].udp[0]",
        "'49999-40000' is written backwards; write 40000-49999",
    ),
    (
        "catalogue_address_range_backwards",
        "svc.toml",
        "endpoint[0].addresses[0]",
        "is written backwards; write 91.186.92.28-91.186.92.32",
    ),
    (
        "catalogue_address_range_mixed",
        "svc.toml",
        "endpoint[0].addresses[0]",
        "mixes IPv4 and IPv6",
    ),
    ("catalogue_duplicate_key", "svc.toml", "line 11", "duplicate key 'ports'"),
    ("catalogue_bad_toml", "svc.toml", "line 9", "not valid TOML"),
    ("catalogue_unknown_zone", "svc.toml", "endpoint[0].zone", "'helsnett' is not known"),
    ("catalogue_unknown_key", "svc.toml", "endpoint[0].adresses", "unknown key"),
    ("catalogue_missing_source", "svc.toml", "endpoint[0].source", "is required but missing"),
    (
        "catalogue_empty_source",
        "svc.toml",
        "endpoint[0].source",
        "must cite where the fact comes from",
    ),
    (
        "catalogue_unknown_qos",
        "svc.toml",
        "endpoint(web).qos",
        "QoS class 'gull' is not in qos.toml",
    ),
    (
        "catalogue_any_with_ports",
        "svc.toml",
        "endpoint[0].ports",
        "protocol 'any' matches every port",
    ),
    ("catalogue_tcp_without_ports", "svc.toml", "endpoint[0].ports", "protocol tcp needs ports"),
    (
        "catalogue_name_mismatch",
        "fjernhjelp.toml",
        "service.name",
        "service 'fjernhjelp2' must live in a file named fjernhjelp2.toml",
    ),
    ("catalogue_no_destination", "svc.toml", "endpoint[0]", "has no destination"),
    (
        "catalogue_duplicate_endpoint_id",
        "svc.toml",
        "endpoint[1].id",
        "endpoint id 'web' is used twice",
    ),
    ("catalogue_protocol_and_tcp", "svc.toml", "endpoint[0].protocol", "not both"),
    ("catalogue_unknown_protocol", "svc.toml", "endpoint[0].protocol", "'sctp' is not known"),
    ("catalogue_bad_dns_name", "svc.toml", "endpoint[0].names[0]", "is not a DNS name"),
    ("catalogue_bad_action", "svc.toml", "endpoint[0].action", "'allow' is not known"),
    ("catalogue_empty_service", "svc.toml", "", "has neither [[endpoint]] nor [[profile]] entries"),
    (
        "catalogue_profile_bad_port",
        "svc.toml",
        "profile[0].endpoint[0].ports[1]",
        "port 65536 is out of range",
    ),
    ("catalogue_duplicate_profile", "b.toml", "profile", "profile 'kiosk' is also defined in"),
    ("catalogue_missing_qos", "qos.toml", "", "is missing: the catalogue needs its QoS classes"),
    ("catalogue_qos_shares", "qos.toml", "class", "QoS shares add up to 110%"),
    ("catalogue_bad_dscp", "qos.toml", "class[0].dscp", "'AF99' is not a DSCP value"),
    (
        "catalogue_qos_defined_twice",
        "qos.toml",
        "class[1].name",
        "QoS class 'standard' is defined twice",
    ),
]


@pytest.mark.parametrize(
    ("case", "file", "key", "gist"), INVALID_CATALOGUES, ids=[c[0] for c in INVALID_CATALOGUES]
)
def test_invalid_catalogue(case: str, file: str, key: str, gist: str, run_main) -> None:
    directory = INVALID / case
    with pytest.raises(CatalogueError) as info:
        load_catalogue(directory)
    err = info.value
    assert err.file == str((directory / file).resolve())
    assert err.key == key
    assert gist in err.message

    code, out, stderr = run_main("--rules", str(directory), "rules", "list")
    assert code == 2
    assert out == ""
    where = f"{err.file}: {key}" if key else err.file
    assert stderr.startswith(f"error: {where}: ")
    assert gist in stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr


def test_every_invalid_catalogue_case_has_a_test() -> None:
    on_disk = {p.name for p in INVALID.iterdir() if p.is_dir() and p.name.startswith("catalogue_")}
    assert on_disk == {c[0] for c in INVALID_CATALOGUES}


def test_allowed_values_are_named() -> None:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(INVALID / "catalogue_unknown_zone")
    assert info.value.allowed == "helsenett, internett, lokal"
    assert str(info.value).endswith("(allowed: helsenett, internett, lokal)")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(INVALID / "catalogue_unknown_key")
    assert "addresses" in info.value.allowed.split(", ")


def test_duplicate_key_names_the_key_and_its_line() -> None:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(INVALID / "catalogue_duplicate_key")
    assert info.value.key == "line 11"
    assert "duplicate key 'ports'" in info.value.message
    lines = (INVALID / "catalogue_duplicate_key" / "svc.toml").read_text().splitlines()
    assert lines[10].startswith("ports")  # line 11, as reported


def test_missing_catalogue_directory(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="is not a directory"):
        load_catalogue(tmp_path / "nope")


def test_empty_catalogue_directory(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="holds no .toml files") as info:
        load_catalogue(tmp_path)
    assert info.value.file == str(tmp_path.resolve())


def test_catalogue_file_that_is_not_utf8(tmp_path: Path) -> None:
    shutil.copy(UNIT / "catalogue" / "qos.toml", tmp_path / "qos.toml")
    (tmp_path / "svc.toml").write_bytes(b'[service]\nname = "svc\xff"\n')
    with pytest.raises(CatalogueError, match="is not UTF-8 text") as info:
        load_catalogue(tmp_path)
    assert info.value.file.endswith("svc.toml")


def test_catalogue_error_is_an_input_error() -> None:
    assert issubclass(CatalogueError, InputError)
    assert CatalogueError.exit_code == 2


@pytest.mark.parametrize(
    ("value", "dscp"),
    [("EF", 46), ("ef", 46), ("AF41", 34), ("CS3", 24), ("DF", 0), ("LE", 1), (0, 0), (63, 63)],
)
def test_parse_dscp(value: object, dscp: int) -> None:
    assert parse_dscp(value) == dscp


@pytest.mark.parametrize("value", [64, -1, True, "AF99", "", 4.5])
def test_parse_dscp_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_dscp(value)
