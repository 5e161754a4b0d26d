"""Diagnosis: a finding for every failing check, causes first, the ICMP sender in words,
sources in words, and no catalogue fact typed into a text.

Runs over every result document under tests/cases/reports/ (crafted ones and
the ones the lab made by real runs, tests/test_report_lab.py), in both
languages.
"""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from pathlib import Path

import pytest

from nhn_appliance.errors import CatalogueError
from nhn_appliance.policy.addresses import parse_address
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.report.data import LANGS, rules_file
from nhn_appliance.report.diagnose import diagnose, load_rules
from nhn_appliance.report.model import read_results
from nhn_appliance.report.sources import in_words, load_sources
from nhn_appliance.report.wording import texts

CASES = Path(__file__).parent / "cases" / "reports"
DOCS = sorted(CASES.glob("*.json")) + sorted(CASES.glob("compare/*.json"))
FAILING = ("fail", "error")
RULES_DIR = Path(__file__).parent.parent / "rules"


def _found(path: Path, lang: str) -> tuple[dict, list[dict]]:
    doc = read_results(path)
    return doc, diagnose(doc["results"], lang, host=doc.get("host"))


def test_the_lab_documents_are_there() -> None:
    names = {p.name for p in DOCS}
    for scenario in ("router-rejects", "beyond-rejects", "uplink-silent", "resolver-stopped"):
        assert f"lab-{scenario}.json" in names
    assert {"lab-clock-off.json", "lab-all-silent.json", "before.json", "after.json"} <= names


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.stem)
def test_every_failing_check_is_in_a_finding(path: Path, lang: str) -> None:
    doc, found = _found(path, lang)
    cited = {c for f in found for c in f["checks"]}
    failing = [r for r in doc["results"] if r["status"] in FAILING]
    assert [r["id"] for r in failing if r["id"] not in cited] == []
    # and each failing service has a finding of its own (not only a cause naming it)
    own = {f["service"] for f in found if f["role"] != "cause"} | {
        r["service"] for f in found for r in doc["results"] if r["id"] in f["checks"]
    }
    assert {r["service"] for r in failing} <= own


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.stem)
def test_causes_first_and_each_consequence_names_its_cause(path: Path) -> None:
    _, found = _found(path, "nb")
    roles = [f["role"] for f in found]
    assert roles == sorted(roles, key=["cause", "consequence", "finding"].index)
    ids = [f["id"] for f in found]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids)
    causes = {f["id"] for f in found if f["role"] == "cause"}
    for f in found:
        assert set(f) >= {"id", "service", "severity", "title", "explanation", "remediation"}
        assert f["checks"] and f["source"]
        if f["role"] == "consequence":
            assert f["because_of"] and set(f["because_of"]) <= causes
        else:
            assert f["because_of"] == []


def test_join_all_rejected_gets_a_join_finding_with_the_sender() -> None:
    """The review's H5 case: every Join check rejected by the site's gateway."""
    doc = json.loads((CASES / "media-blocked.json").read_text())
    for r in doc["results"]:
        if r["service"] == "join" and r["kind"] in ("tcp", "sip"):
            r.update(status="fail", reason="icmp-admin-prohibited")
            r["evidence"]["from"] = "198.51.100.1"
    found = diagnose(doc["results"], "en", host=doc["host"])
    join = [f for f in found if f["service"] == "join" and f["role"] != "cause"]
    assert join and join[0]["role"] == "consequence"
    assert join[0]["because_of"] == ["cause-site-firewall"]
    assert "7 of 9 checks fail" in join[0]["title"]
    assert "198.51.100.1, the site's own router" in join[0]["explanation"]
    assert "TCP 40000-49999 to 91.186.92.28-91.186.92.32" in join[0]["remediation"]
    cause = found[0]
    assert cause["id"] == "cause-site-firewall" and "not NHN" in cause["explanation"]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.stem)
def test_the_icmp_sender_is_in_the_finding_itself(path: Path) -> None:
    doc, found = _found(path, "nb")
    by_id = {r["id"]: r for r in doc["results"]}
    for f in found:
        for c in f["checks"]:
            sender = (by_id[c].get("evidence") or {}).get("from")
            if sender and by_id[c]["status"] in FAILING:
                assert sender in f["explanation"], (f["id"], sender)


# -- sources in words ---------------------------------------------------------------
def test_sources_name_document_and_section() -> None:
    nb = in_words("002:377-393; 001:25; RFC 1035", "nb")
    assert nb.startswith("NHN, «FAQ»") and "«Join» (002:377-393)" in nb
    assert "tjenestesiden «Fjernhjelp»: «Forutsetninger» (001:25)" in nb and nb.endswith("RFC 1035")
    en = in_words("002:195, 451", "en")
    assert '"HelseID" (002:195)' in en and '"Om HelseID (about HelseID)" (002:451)' in en
    assert in_words("brief: 'What is not in the sources'; 002:265", "en").count("brief") == 0


def test_every_seed_reference_of_the_rules_has_a_document() -> None:
    docs = load_sources()
    refs: list[tuple[str, str]] = []
    for file in [*RULES_DIR.glob("*.toml"), *RULES_DIR.glob("report/*.toml")]:
        refs += re.findall(r"\b(\d{3}):(\d+)", file.read_text(encoding="utf-8"))
    assert refs
    assert {n for n, _ in refs} <= set(docs)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.stem)
def test_no_internal_strings_reach_a_user(path: Path, lang: str) -> None:
    _, found = _found(path, lang)
    for f in found:
        text = " ".join(f[k] for k in ("title", "explanation", "remediation", "source"))
        for internal in ("brief", "pins (", "rules/", "{", "}"):
            assert internal not in text, (f["id"], internal)
        for ref in re.findall(r"\b(00[0-4]):\d+", f["source"]):
            assert load_sources()[ref][lang] in f["source"]


def test_bokmal_findings_have_no_english_words() -> None:
    english = re.compile(r"\b(the|and|not|from|timeout|rejected|refused|checks|fail)\b")
    for path in DOCS:
        _, found = _found(path, "nb")
        for f in found:
            for key in ("title", "explanation", "remediation"):
                assert not english.search(f[key]), (path.name, f["id"], key, f[key])


# -- facts come from the catalogue ------------------------------------------------------
def _catalogue_facts() -> tuple[list, set[int], str]:
    cat = load_catalogue()
    spans = [a for s in cat.services.values() for e in s.endpoints for a in e.addresses]
    ports = {
        p
        for s in cat.services.values()
        for e in s.endpoints
        for _, ranges in e.flows
        for r in ranges
        for p in (r.lo, r.hi)
    }
    raw = "\n".join(p.read_text(encoding="utf-8") for p in RULES_DIR.rglob("*.toml"))
    return spans, ports, raw


def _all_texts() -> list[tuple[str, str]]:
    """(where, text) for every text of diagnosis.toml and causes.toml, filled in."""
    out = []
    for rule in load_rules()["rule"]:
        for lang in LANGS:
            for key, value in rule[lang].items():
                out.append((f"{rule['id']}.{lang}.{key}", value))
    words = texts()
    for name, cause in [*words["cause"].items(), ("general", words["general"])]:
        for lang in LANGS:
            for key, value in cause[lang].items():
                out.append((f"{name}.{lang}.{key}", value))
    for name, pair in [*words["reason"].items(), *words["sender"].items()]:
        out += [(f"{name}.{lang}", pair[lang]) for lang in LANGS]
    return out


ADDRESS = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2}|-\d{1,3}(?:\.\d{1,3}){3})?\b")
PORT = re.compile(
    r"\b(?:TCP|UDP|port|porten|ports)\s+((?:\d+(?:-\d+)?(?:,\s*| og | and | samt )?)+)"
)
NUMBER = re.compile(r"\b\d[\d ]{4,}\d\b")


def test_every_address_port_and_number_in_a_text_is_the_catalogues() -> None:
    from nhn_appliance.report.facts import fill

    spans, ports, raw = _catalogue_facts()
    checked = 0
    for where, template in _all_texts():
        lang = "en" if ".en." in where or where.endswith(".en") else "nb"
        text = fill(template, lang)
        for address in ADDRESS.findall(text):
            a = parse_address(address)
            assert any(s.first <= a.first and a.last <= s.last for s in spans), (where, address)
            checked += 1
        for group in PORT.findall(text):
            for port in re.findall(r"\d+", group):
                assert int(port) in ports, (where, port)
                checked += 1
        for number in NUMBER.findall(text):
            digits = number.replace(" ", "")
            if len(digits) >= 5 and not ADDRESS.search(number):
                assert number in raw or digits in raw, (where, number)
                checked += 1
    assert checked > 40


def test_no_address_is_typed_into_a_text() -> None:
    """Addresses come from placeholders, never written out in the rule files."""
    for file in ("diagnosis.toml", "causes.toml"):
        data = tomllib.loads(rules_file(file).read_text(encoding="utf-8"))
        blob = json.dumps(
            [r.get(lang) for r in data.get("rule", []) for lang in LANGS]
            + [data.get("cause"), data.get("general")]
        )
        assert ADDRESS.findall(blob) == [], file


def test_selectors_name_only_catalogue_addresses_and_ports() -> None:
    spans, ports, _ = _catalogue_facts()
    for rule in load_rules()["rule"]:
        for sel in rule["require"] + rule["absent"] + rule["explains"]:
            for address in sel.get("addresses", []):
                value = int(ipaddress.ip_address(address))
                assert any(s.first <= value <= s.last for s in spans), (rule["id"], address)
            for lo, hi in sel.get("ports", []):
                assert lo in ports and hi in ports, (rule["id"], lo, hi)


def test_join_remediation_names_every_join_address() -> None:
    """Facts audit D1: 83.118.128.0/28 was missing."""
    rule = next(r for r in load_rules()["rule"] if r["id"] == "join-media-blocked")
    from nhn_appliance.report.facts import fill

    text = fill(rule["nb"]["remediation"], "nb")
    for address in ("91.186.92.28-91.186.92.32", "83.118.128.0/28", "83.118.185.0/27"):
        assert address in text


def test_clock_reasons_from_helseid_not_from_remote_support_codes() -> None:
    """Facts audit D2: the site's clock matters to HelseID (002:265); TOTP codes do not
    come from it (001:25)."""
    for rule in load_rules()["rule"]:
        if rule["id"].startswith("clock-"):
            assert "002:265" in rule["source"] and "001:25" not in rule["source"]
            for lang in LANGS:
                words = json.dumps(rule[lang])
                assert "HelseID" in words and "TOTP" not in words and "fjernhjelp" not in words


def test_a_placeholder_that_does_not_resolve_names_file_and_key(tmp_path: Path) -> None:
    text = rules_file("diagnosis.toml").read_text(encoding="utf-8")
    bad = tmp_path / "diagnosis.toml"
    old = "over Helsenett-linjen {addresses:join@helsenett}"
    bad.write_text(text.replace(old, old.replace("join", "jion"), 1))
    with pytest.raises(CatalogueError) as err:
        load_rules(bad)
    assert str(bad) in str(err.value) and "rule[0].nb.remediation" in str(err.value)
    assert "jion" in str(err.value)


def test_resolver_and_internet_path_findings_are_not_filed_under_join() -> None:
    """Review M10: a silent resolver is a DNS finding, the direct internet path a proxy one."""
    for name, rule, service in (
        ("dns.json", "dns-resolver-silent", "dns"),
        ("proxy.json", "direct-internet-timeout", "proxy"),
        ("clock-terminal.json", "clock-offset-fail", "ntp"),
    ):
        _, found = _found(CASES / name, "nb")
        assert next(f for f in found if f["id"] == rule)["service"] == service
