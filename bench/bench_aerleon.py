"""The peer to beat: Aerleon 1.18.0 on the same NHN access list, timed the same way.

    python bench/bench_aerleon.py [--install] [--policies 1000] [--runs 7] [--json FILE]

Aerleon lives in its own venv (default /tmp/aerleon-venv, or $AERLEON_VENV)
so that it does not touch the project's environment; ``--install`` creates it:

    python3 -m venv /tmp/aerleon-venv && /tmp/aerleon-venv/bin/pip install aerleon==1.18.0

Measures (whole process, ``time.perf_counter`` around ``subprocess.run``):

1. ``aclgen --help``
2. one policy to six targets: ``bench/aerleon/policies/pol/nhn_legekontor.yaml``
   (nftables, iptables, speedway, cisco, juniper, arista) with the naming
   definitions in ``bench/aerleon/def/``; a fresh output directory per run.
   Ours for comparison: ``render -t nftables`` then ``render -t iptables``
   (our only two targets), two processes, both written to files.
3. N policies: the same N sites as ``bench_bulk.py`` (``sitegen``), each
   translated from our compiled policy into an Aerleon policy for nftables and
   iptables (IPv4 and IPv6 filters), networks named per catalogue endpoint
   (shared) and per site (LAN, resolvers, hosts, pinned names); one ``aclgen``
   run over the directory (its default: 10 renderer processes). Ours: one
   process that loads the same N site files and writes nftables + iptables
   for each, start-up included.
4. the chains, rules and set elements of Aerleon's nftables output for the
   default policy, counted as for ours (throwaway netns, ``nft -j``).

If Aerleon cannot be installed or run, the issue's figures are reported as the
reference and the script says so.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import sitegen  # noqa: E402

AER = C.BENCH / "aerleon"
POLICY = AER / "policies" / "pol" / "nhn_legekontor.yaml"
DEFS = AER / "def"


# -- environment --------------------------------------------------------------
def aerleon_bin(name: str) -> Path:
    return C.AERLEON_VENV / "bin" / name


def aerleon_status() -> str | None:
    """None when usable, else why not."""
    aclgen = aerleon_bin("aclgen")
    if not aclgen.exists():
        return f"{aclgen} not found (run with --install, or set AERLEON_VENV)"
    r = subprocess.run(
        [
            str(aerleon_bin("python")),
            "-c",
            "import importlib.metadata as m; print(m.version('aerleon'))",
        ],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        return f"aerleon does not import: {r.stderr.strip()[-300:]}"
    if r.stdout.strip() != C.AERLEON_VERSION:
        return f"aerleon {r.stdout.strip()} installed, {C.AERLEON_VERSION} wanted"
    return None


def install() -> None:
    venv = C.AERLEON_VENV
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", f"aerleon=={C.AERLEON_VERSION}"], check=True
    )


# -- timing with a fresh output directory per run ------------------------------
def time_runs(make_argv, runs: int, warmup: int = 1, cwd=None) -> dict:
    times = []
    for n in range(warmup + runs):
        out = Path(tempfile.mkdtemp(prefix="nhn-bench-out-"))
        argv = make_argv(out)
        try:
            t0 = time.perf_counter()
            proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
            dt = time.perf_counter() - t0
            if proc.returncode != 0 or (
                argv[0].endswith("aclgen") and b"error" in proc.stderr.lower()
            ):
                raise RuntimeError(
                    f"{argv[0]} failed ({proc.returncode}): "
                    f"{proc.stderr.decode(errors='replace')[-1500:]}"
                )
        finally:
            shutil.rmtree(out, ignore_errors=True)
        if n >= warmup:
            times.append(dt)
    return C.summary(times)


#: aclgen --max_renderers for the bulk run; None keeps Aerleon's default (10)
RENDERERS: int | None = None


def aclgen_argv(base: Path, defs: Path, out: Path, policy_file: Path | None = None) -> list[str]:
    argv = [
        str(aerleon_bin("aclgen")),
        "--base_directory",
        str(base),
        "--definitions_directory",
        str(defs),
        "--output_directory",
        str(out),
    ]
    if policy_file:
        argv += ["--policy_file", str(policy_file)]
    elif RENDERERS:
        argv += ["--max_renderers", str(RENDERERS)]
    return argv


# -- N policies: our sites translated to Aerleon --------------------------------
def _cidrs(family: int, first: int, last: int) -> list[str]:
    cls = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    return [str(n) for n in ipaddress.summarize_address_range(cls(first), cls(last))]


def _net(values: list[str]) -> dict:
    return {"values": [{"address": v} for v in values]}


def _aname(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text).upper()


class Translator:
    """Our compiled Policy of one site -> an Aerleon policy (nftables + iptables)."""

    def __init__(self, catalogue) -> None:
        self.cat = catalogue
        self.networks: dict[str, dict] = {}
        self.services: dict[str, list[dict]] = {}
        # endpoints whose destinations are the catalogue's own literal addresses
        self.literal = {}
        for svc in catalogue.services.values():
            eps = list(svc.endpoints) + [e for p in svc.profiles for e in p.endpoints]
            for ep in eps:
                if ep.addresses and not ep.names and not ep.site_addresses:
                    self.literal[(svc.name, ep.id)] = ep

    def _service(self, proto: str, ports) -> str:
        name = f"{proto.upper()}_" + "_".join(
            f"{p.lo}" if p.lo == p.hi else f"{p.lo}-{p.hi}" for p in ports
        ).replace("-", "TO")
        if name not in self.services:
            self.services[name] = [
                {"port": f"{p.lo}" if p.lo == p.hi else f"{p.lo}-{p.hi}", "protocol": proto}
                for p in ports
            ]
        return name

    def _dst_network(self, site_tag: str, rule) -> str:
        spans = [c for s in rule.dst for c in _cidrs(s.family, s.first, s.last)]
        ep = self.literal.get((rule.service, rule.endpoint))
        if ep is not None:
            name = f"EP_{_aname(rule.service)}_{_aname(rule.endpoint)}_V{rule.family}"
        else:
            name = f"{site_tag}_{_aname(rule.service)}_{_aname(rule.endpoint)}_V{rule.family}"
        self.networks.setdefault(name, _net(spans))
        return name

    def policy(self, idx: int, site, policy) -> dict:
        tag = f"S{idx:04d}"
        lan = f"{tag}_LAN"
        self.networks[lan] = _net([c for s in policy.lan_prefixes for c in _cidrs(*s)])
        families = sorted({s.family for s in policy.lan_prefixes})
        terms: list[dict] = []
        names: set[str] = set()

        def add(term: dict) -> None:
            base = "".join(ch if ch.isalnum() else "-" for ch in term["name"].lower())[:20]
            name, n = base, 1
            while name in names:
                n += 1
                name = f"{base}-{n}"
            names.add(name)
            term["name"] = name
            terms.append(term)

        for iface in policy.lan_interfaces:
            add(
                {
                    "name": f"lan-{iface}",
                    "destination-interface": iface,
                    "comment": "within the LAN",
                    "action": "accept",
                }
            )

        def rule_terms(rule, source: str) -> None:
            dst = self._dst_network(tag, rule)
            for iface in rule.interfaces:
                term = {
                    "name": f"{rule.endpoint[:8]}-{rule.proto}{rule.family}-{iface[:4]}",
                    "comment": f"{rule.id} {rule.source}"[:120],
                    "source-address": source,
                    "destination-address": dst,
                    "destination-interface": iface,
                    "action": "accept" if rule.action == "accept" else "deny",
                }
                if rule.proto != "any":
                    term["protocol"] = str(rule.proto)
                    term["destination-port"] = self._service(str(rule.proto), rule.ports)
                add(term)

        for binding in policy.profiles:
            src = f"{tag}_P_{_aname(binding.name)}"
            self.networks[src] = _net([c for s in binding.hosts for c in _cidrs(*s)])
            for rule in policy.scope_rules(binding.name):
                rule_terms(rule, src)
            add(
                {
                    "name": f"{binding.name[:12]}-ellers",
                    "source-address": src,
                    "comment": f"{binding.name}: everything else blocked",
                    "action": "deny",
                }
            )
        for rule in policy.scope_rules(""):
            rule_terms(rule, lan)
        add(
            {
                "name": "site-ellers",
                "source-address": lan,
                "comment": f"outbound {policy.outbound}",
                "action": "accept" if policy.default_action == "accept" else "deny",
            }
        )

        filters = [
            {
                "header": {
                    "comment": f"NHN site policy for {policy.site}",
                    "targets": {"nftables": "mixed forward"},
                },
                "terms": terms,
            }
        ]
        for fam in families:
            fterms = [t for t in terms if self._family_ok(t, fam)]
            filters.append(
                {
                    "header": {
                        "comment": f"NHN site policy for {policy.site}, IPv{fam}",
                        "targets": {
                            "iptables": "FORWARD DROP " + ("inet" if fam == 4 else "inet6")
                        },
                    },
                    "terms": fterms,
                }
            )
        return {"filters": filters}

    def _family_ok(self, term: dict, family: int) -> bool:
        """iptables filters are per family: keep terms that can match it."""
        for key in ("source-address", "destination-address"):
            name = term.get(key)
            if name:
                vals = [v["address"] for v in self.networks[name]["values"]]
                if not any(ipaddress.ip_network(v).version == family for v in vals):
                    return False
        return True

    def definitions(self) -> dict:
        return {"networks": self.networks, "services": self.services}


def build_policies(n: int, root: Path) -> tuple[Path, Path, Path, dict]:
    """Write N site files (for ours) and N Aerleon policies (same sites)."""
    from nhn_appliance.policy.catalogue import load_catalogue
    from nhn_appliance.policy.compile import compile_policy
    from nhn_appliance.policy.pins import read_pins, state_path_for
    from nhn_appliance.policy.site import load_site

    sys.path.insert(0, str(C.BENCH))
    from bench_bulk import NOW, catalogue_facts, write_sites

    cat = load_catalogue()
    services, profiles, names = catalogue_facts(cat)
    sites = sitegen.make_sites(n, services, profiles, names)
    site_dir, pol_base, def_dir = root / "sites", root / "policies", root / "def"
    for d in (site_dir, pol_base / "pol", def_dir):
        d.mkdir(parents=True)
    paths = write_sites(sites, site_dir)
    tr = Translator(cat)
    n_terms = 0
    for i, path in enumerate(paths):
        site = load_site(path, path.name, cat)
        policy = compile_policy(cat, site, read_pins(state_path_for(path, False)), now=NOW)
        doc = tr.policy(i, site, policy)
        n_terms += len(doc["filters"][0]["terms"])
        # JSON is YAML: Aerleon reads it with its YAML loader
        (pol_base / "pol" / f"{site.name}.yaml").write_text(json.dumps(doc, indent=1))
    (def_dir / "nhn-sites.yaml").write_text(json.dumps(tr.definitions(), indent=1))
    info = {
        "policies": n,
        "terms_nftables": n_terms,
        "networks": len(tr.networks),
        "services": len(tr.services),
    }
    return site_dir, pol_base, def_dir, info


OURS_BULK_CHILD = r"""
import sys
from pathlib import Path
from datetime import UTC, datetime
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.pins import read_pins, state_path_for
from nhn_appliance.policy.site import load_site
from nhn_appliance.render import get_renderer
src, out = Path(sys.argv[1]), Path(sys.argv[2])
now = datetime(2024, 6, 20, tzinfo=UTC)
cat = load_catalogue()
nft, ipt = get_renderer("nftables"), get_renderer("iptables")
for path in sorted(src.glob("*.toml")):
    site = load_site(path, path.name, cat)
    policy = compile_policy(cat, site, read_pins(state_path_for(path, False)), now=now)
    for art in nft.render(policy) + ipt.render(policy):
        (out / f"{path.stem}.{art.name}").write_text(art.text)
"""


# -- the measurements -------------------------------------------------------------
def measure(n_policies: int = 1000, runs: int = 7, bulk_runs: int = 1) -> dict:
    res: dict = {"load": C.load_note(), "runs": runs, "max_renderers": RENDERERS or 10}
    why = aerleon_status()
    res["aerleon_ok"] = why is None
    if why:
        res["aerleon_problem"] = why
    exe = C.entry_point()
    work = Path(tempfile.mkdtemp(prefix="nhn-bench-aer-"))
    try:
        # ours: one site, both targets, written to files (two processes)
        res["ours_one_site_all_targets"] = time_runs(
            lambda out: [
                "sh",
                "-c",
                f'"{exe}" render -t nftables -o "{out}/a.nft" 2>/dev/null && '
                f'"{exe}" render -t iptables -o "{out}/rules" 2>/dev/null',
            ],
            runs,
            cwd=str(work),
        )
        if not why:
            res["help"] = C.time_process(
                [str(aerleon_bin("aclgen")), "--help"], runs=runs, check=False
            )
            res["one_policy_six_targets"] = time_runs(
                lambda out: aclgen_argv(AER / "policies", DEFS, out, POLICY), runs
            )
            out = work / "aer-default"
            out.mkdir()
            subprocess.run(
                aclgen_argv(AER / "policies", DEFS, out, POLICY), check=True, capture_output=True
            )
            res["six_target_files"] = sorted(p.name for p in out.iterdir())
            nft_text = (out / "nhn_legekontor.nft").read_text()
            res["aerleon_nft"] = C.nft_counts(nft_text)
            res["aerleon_nft_bytes"] = len(nft_text.encode())
        if n_policies:
            t0 = time.perf_counter()
            site_dir, pol_base, def_dir, info = build_policies(n_policies, work / "bulk")
            info["build_seconds"] = time.perf_counter() - t0
            res["bulk_info"] = info
            res["ours_bulk"] = time_runs(
                lambda out: [sys.executable, "-c", OURS_BULK_CHILD, str(site_dir), str(out)],
                bulk_runs,
            )
            if not why:
                res["aerleon_bulk"] = time_runs(
                    lambda out: aclgen_argv(pol_base, def_dir, out), bulk_runs, warmup=0
                )
                out = work / "aer-bulk-check"
                out.mkdir()
                subprocess.run(
                    aclgen_argv(pol_base, def_dir, out, pol_base / "pol" / "site-0000.yaml"),
                    check=True,
                    capture_output=True,
                )
                res["aerleon_bulk_sample_files"] = sorted(p.name for p in out.iterdir())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return res


def report(res: dict) -> None:
    print(
        f"Aerleon {C.AERLEON_VERSION} ({C.AERLEON_VENV}); {res['runs']} runs each, best / median; "
        f"{res['load']}"
    )
    if not res["aerleon_ok"]:
        print(f"  AERLEON NOT RUN: {res['aerleon_problem']}; the issue's figures are shown instead")
    issue = C.ISSUE_AERLEON
    rows = [
        ("aclgen --help", C.fmt_times(res.get("help")), f"{issue['help']:.2f} s"),
        (
            "one policy -> six targets (aclgen)",
            C.fmt_times(res.get("one_policy_six_targets")),
            f"{issue['one_policy_six_targets']:.2f} s",
        ),
        (
            "ours: one site -> nftables + iptables (2 processes)",
            C.fmt_times(res.get("ours_one_site_all_targets")),
            "-",
        ),
    ]
    if "bulk_info" in res:
        n = res["bulk_info"]["policies"]
        rows += [
            (
                f"{n} policies -> nftables + iptables (aclgen, {res['max_renderers']} renderers)",
                C.fmt_times(res.get("aerleon_bulk")),
                f"{issue['thousand_policies']:.1f} s (1,000)",
            ),
            (
                f"ours: {n} sites -> nftables + iptables (1 process)",
                C.fmt_times(res.get("ours_bulk")),
                "-",
            ),
        ]
    C.print_table(rows, ("measure", "measured", "issue's figure"))
    if "six_target_files" in res:
        print(f"  six targets wrote: {', '.join(res['six_target_files'])}")
    if "bulk_info" in res:
        b = res["bulk_info"]
        print(
            f"  bulk: {b['policies']} Aerleon policies with {b['terms_nftables']} nftables terms, "
            f"{b['networks']} network and {b['services']} service definitions "
            f"(generated in {b['build_seconds']:.1f} s, untimed)"
        )
    if "aerleon_nft" in res:
        a = res["aerleon_nft"]
        print(
            f"  Aerleon nftables for the default policy ({res['aerleon_nft_bytes']} bytes), "
            f"counted by {a['method']}: chains {a['chains']}, rules {a['rules']}, "
            f"named sets {a['sets']} "
            f"({a['set_elements']} elements), "
            f"anonymous-set elements {a.get('anon_set_elements', '-')}, "
            f"rules matching IPv4 {a.get('rules_ipv4', '-')} / IPv6 {a.get('rules_ipv6', '-')}"
        )
    else:
        print(
            f"  Aerleon nftables (issue's figures): IPv4-only, {issue['nft_chains']} chains, "
            f"{issue['nft_rules']} rules"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--install", action="store_true", help="create the Aerleon venv first")
    ap.add_argument("--policies", type=int, default=1000, help="N for the bulk run (0: skip)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--bulk-runs", type=int, default=1)
    ap.add_argument(
        "--max-renderers",
        type=int,
        default=None,
        help="aclgen --max_renderers for the bulk run (default: Aerleon's, 10)",
    )
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    if args.install:
        install()
    global RENDERERS
    RENDERERS = args.max_renderers
    res = measure(args.policies, args.runs, args.bulk_runs)
    report(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
