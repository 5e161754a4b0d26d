"""The command line: a thin layer over policy, render and probes.

Exit codes: 0 success, 1 a finding (a denied flow under --strict, lint
findings under --strict, names that could not be pinned), 2 bad input or
usage. Heavy modules are imported inside the commands so that --help is fast.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from nhn_appliance import __version__, cli_apply, cli_serve
from nhn_appliance.errors import ApplianceError
from nhn_appliance.probes.kinds import KINDS as PROBE_KINDS
from nhn_appliance.report import FORMATS

if TYPE_CHECKING:
    from nhn_appliance.inputs import Inputs

EPILOG_MAIN = """\b
Examples:
  nhn-appliance render --target nftables -o /etc/nftables.d/nhn.nft
  nhn-appliance explain tcp 91.186.66.22 8041
  nhn-appliance --site kontor.toml resolve
  nhn-appliance rules show join

Exit codes: 0 success, 1 a finding, 2 bad input or usage.
70 an internal error (a bug; --debug shows the traceback), 130 interrupted.
"""


class Ctx:
    def __init__(self, site: str | None, rules: str | None, pins: str | None) -> None:
        self.site_arg, self.rules_arg, self.pins_arg = site, rules, pins
        self._inputs: Inputs | None = None

    def _not_empty(self) -> None:
        """An empty --site or --rules is an unset variable, never "the packaged default"."""
        import os

        from nhn_appliance.errors import UsageError

        for option, value, var in (
            ("--site", self.site_arg, "NHN_APPLIANCE_SITE"),
            ("--rules", self.rules_arg, "NHN_APPLIANCE_RULES"),
            ("--pins", self.pins_arg, ""),
        ):
            if value is None and var:  # click reads a variable set to "" as not set
                value = os.environ.get(var)
            if value is not None and not value.strip():
                also = f" (or ${var})" if var else ""
                raise UsageError(
                    f"{option}{also} is empty: give a path, or leave it out for the default"
                )

    def inputs(self, writes_pins: bool = False) -> Inputs:
        from nhn_appliance.inputs import load_inputs

        self._not_empty()
        if self._inputs is None:
            self._inputs = load_inputs(
                self.site_arg, self.rules_arg, self.pins_arg, pins_must_exist=not writes_pins
            )
        return self._inputs

    def catalogue(self):
        from nhn_appliance.inputs import load_catalogue_only

        self._not_empty()
        return load_catalogue_only(self.rules_arg)


def _warn(lines) -> None:
    from nhn_appliance.terminal import warn

    warn(lines)


@click.group(epilog=EPILOG_MAIN, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--site",
    metavar="PATH",
    envvar="NHN_APPLIANCE_SITE",
    help="Site file. Default: ./appliance.toml, else the packaged default site.",
)
@click.option(
    "--rules",
    metavar="DIR",
    envvar="NHN_APPLIANCE_RULES",
    help="Catalogue directory. Default: the packaged rules/.",
)
@click.option(
    "--pins",
    metavar="FILE",
    help="Pinned-names state file. Default: SITE.pins.json beside the site file.",
)
@click.option(
    "--debug", is_flag=True, help="On an internal error (exit 70), print the traceback too."
)
@click.version_option(__version__, prog_name="nhn-appliance")
@click.pass_context
def cli(
    ctx: click.Context, site: str | None, rules: str | None, pins: str | None, debug: bool
) -> None:
    """Firewall policy and diagnostics for Norsk Helsenett customer sites.

    Holds NHN's published openings as data (rules/), compiles them for one
    site (appliance.toml), renders firewall configs and explains verdicts.
    """
    ctx.obj = Ctx(site, rules, pins)


# -- rules ----------------------------------------------------------------
@cli.group()
def rules() -> None:
    """Look at and check the rules catalogue.

    \b
    Examples:
      nhn-appliance rules list
      nhn-appliance rules show join --json
      nhn-appliance --rules ./my-rules rules check --strict
    """


@rules.command("list")
@click.pass_obj
def rules_list(obj: Ctx) -> None:
    """List the catalogue's services.

    \b
    Example:
      nhn-appliance rules list
    """
    cat = obj.catalogue()
    width = max(len(n) for n in cat.services)
    for name, svc in sorted(cat.services.items()):
        profiles = f", {len(svc.profiles)} profile(s)" if svc.profiles else ""
        click.echo(f"{name:<{width}}  {len(svc.endpoints):>2} endpoint(s){profiles}  {svc.title}")
    click.echo(f"QoS classes: {', '.join(cat.qos)}")


@rules.command("show")
@click.argument("service")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def rules_show(obj: Ctx, service: str, as_json: bool) -> None:
    """Show one service: every endpoint with its zone, ports, QoS and source.

    \b
    Example:
      nhn-appliance rules show fjernhjelp
    """
    from nhn_appliance.cli_format import service_dict, service_text

    cat = obj.catalogue()
    svc = cat.services.get(service)
    if svc is None:
        raise click.BadParameter(
            f"unknown service {service!r}; known: {', '.join(sorted(cat.services))}",
            param_hint="SERVICE",
        )
    click.echo(
        json.dumps(service_dict(svc), indent=2, ensure_ascii=False)
        if as_json
        else service_text(svc)
    )


@rules.command("check")
@click.option(
    "--strict", is_flag=True, help="Exit 1 when lint finds shadowed or overlapping rules."
)
@click.pass_obj
def rules_check(obj: Ctx, strict: bool) -> None:
    """Validate the catalogue and the site, and lint the compiled policy.

    \b
    Example:
      nhn-appliance --site kontor.toml rules check --strict
    """
    from nhn_appliance.policy.lint import lint

    inputs = obj.inputs()
    cat = inputs.catalogue
    n_ep = sum(
        len(s.endpoints) + sum(len(p.endpoints) for p in s.profiles) for s in cat.services.values()
    )
    click.echo(
        f"catalogue {cat.directory}: {len(cat.services)} services, {n_ep} endpoints, "
        f"{len(cat.qos)} QoS classes: ok"
    )
    policy = inputs.policy()
    click.echo(
        f"site {inputs.site.file}: {len(inputs.site.services)} services, "
        f"{len(policy.rules)} rules: ok"
    )
    _warn(policy.warnings)
    findings = [f for f in lint(policy) if f.kind != "empty"]
    for f in findings:
        click.echo(f"lint {f.kind}: {f.text}")
    if strict and findings:
        sys.exit(1)


# -- resolve --------------------------------------------------------------
@cli.command()
@click.option(
    "--resolver",
    "resolvers",
    multiple=True,
    metavar="ADDR",
    help="Ask this resolver instead of the site's [dns] resolvers (repeatable).",
)
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Resolver port (default: the site's, 53)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 30),
    default=2.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@click.pass_obj
def resolve(obj: Ctx, resolvers: tuple[str, ...], port: int | None, timeout: float) -> None:
    """Pin the catalogue's DNS names to addresses for render.

    Asks the site's resolvers for every name the site's services use and
    writes the answers, with their TTL and time, to the state file beside the
    site file. A name that does not resolve keeps its previous pin, if any.

    \b
    Example:
      nhn-appliance --site kontor.toml resolve
    """
    from nhn_appliance.outputs import write_pins
    from nhn_appliance.probes.resolve import names_for, resolve_names

    inputs = obj.inputs(writes_pins=True)
    names = names_for(inputs.catalogue, inputs.site)
    servers = list(resolvers) or list(inputs.site.resolvers)
    outcome = resolve_names(
        names, servers, port or inputs.site.dns_port, timeout, lan=inputs.site.lan_prefixes
    )
    _warn(outcome.refused)
    pins = {**inputs.pins, **outcome.pins}
    write_pins(inputs.pins_path, inputs.site.name, pins)
    for name, pin in outcome.pins.items():
        click.echo(f"{name}: {', '.join(pin.addresses)} (ttl {pin.ttl}, from {pin.resolver})")
    for name, why in outcome.failures.items():
        kept = " (previous pin kept)" if name in inputs.pins else ""
        click.echo(f"warning: {name}: {why}{kept}", err=True)
    click.echo(f"pinned {len(outcome.pins)} of {len(names)} names in {inputs.pins_path}")
    if outcome.failures:
        sys.exit(1)


# -- policy -----------------------------------------------------------------
@cli.group()
def policy() -> None:
    """Look at the compiled policy of the site.

    \b
    Examples:
      nhn-appliance policy show
      nhn-appliance --site kontor.toml policy lint --strict
    """


@policy.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def policy_show(obj: Ctx, as_json: bool) -> None:
    """Show the site's compiled, normalized rules in evaluation order.

    \b
    Example:
      nhn-appliance policy show
    """
    from nhn_appliance.cli_format import policy_dict, policy_text

    compiled = obj.inputs().policy()
    if as_json:
        click.echo(json.dumps(policy_dict(compiled), indent=2, ensure_ascii=False))
    else:
        click.echo(policy_text(compiled))
        _warn(compiled.warnings)


@policy.command("lint")
@click.option("--strict", is_flag=True, help="Exit 1 when there are findings.")
@click.pass_obj
def policy_lint(obj: Ctx, strict: bool) -> None:
    """Report shadowed, overlapping and empty rules.

    \b
    Example:
      nhn-appliance policy lint
    """
    from nhn_appliance.policy.lint import lint

    findings = lint(obj.inputs().policy())
    for f in findings:
        click.echo(f"{f.kind}: {f.text}")
    if not findings:
        click.echo("no findings")
    if strict and findings:
        sys.exit(1)


# -- explain ----------------------------------------------------------------
@cli.command()
@click.argument("proto", type=click.Choice(["tcp", "udp", "icmp"], case_sensitive=False))
@click.argument("dst")
@click.argument("port", type=int, required=False)
@click.option("--src", metavar="ADDR", help="Source address on the LAN (selects a host profile).")
@click.option(
    "--uplink",
    type=click.Choice(["helsenett", "internett"]),
    help="Only this uplink (default: the one that lets the flow out, if any).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--strict", is_flag=True, help="Exit 1 unless the verdict is accept.")
@click.pass_obj
def explain(
    obj: Ctx,
    proto: str,
    dst: str,
    port: int | None,
    src: str | None,
    uplink: str | None,
    as_json: bool,
    strict: bool,
) -> None:
    """Is this flow allowed at the site, by which rule, and on whose word?

    \b
    Examples:
      nhn-appliance explain tcp 91.186.66.22 8041
      nhn-appliance explain udp 91.186.92.30 50000 --json
      nhn-appliance explain tcp 8.8.8.8 53 --src 192.168.10.50
    """
    from dataclasses import replace

    from nhn_appliance.policy.allow import what_would_allow
    from nhn_appliance.policy.explain import Flow
    from nhn_appliance.policy.explain import explain as run_explain

    try:
        flow = Flow.parse(proto, dst, port, src, uplink)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    inputs = obj.inputs()
    policy = inputs.policy()
    verdict = run_explain(policy, flow)
    if verdict.verdict.value != "accept":
        hints = what_would_allow(
            policy, inputs.catalogue, inputs.site, inputs.pins, flow, verdict.profile
        )
        verdict = replace(verdict, would_allow=tuple(hints))
    if as_json:
        click.echo(json.dumps(verdict.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(verdict.text())
    if strict and verdict.verdict.value != "accept":
        sys.exit(1)


# -- render -------------------------------------------------------------------
@cli.command()
@click.option(
    "--target",
    "-t",
    "targets",
    multiple=True,
    metavar="TARGET",
    help="A target from --list-targets, repeatable (default: the site's first [render] target).",
)
@click.option(
    "--all",
    "all_targets",
    is_flag=True,
    help="Every target of the site's [render] targets (or of the --target options), into -o DIR.",
)
@click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A target option (see --list-targets), repeatable; over the site's [render.TARGET].",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE|DIR",
    help="Write to FILE (iptables: FILE gets IPv4, FILE with .v6 IPv6), or one file per "
    "output into the folder DIR.",
)
@click.option(
    "--allow-unpinned",
    is_flag=True,
    help="Render even though names the site needs are not pinned (their openings are left out).",
)
@click.option("--list-targets", is_flag=True, help="List the targets and what each covers.")
@click.pass_obj
def render(
    obj: Ctx,
    targets: tuple[str, ...],
    all_targets: bool,
    options: tuple[str, ...],
    output: str | None,
    allow_unpinned: bool,
    list_targets: bool,
) -> None:
    """Render the site's firewall configuration.

    With outbound blocked, names the site's services need must be pinned
    first (nhn-appliance resolve): otherwise render exits 1 naming them,
    unless --allow-unpinned. A target that writes several files (iptables per
    family, windows per use) needs -o; --all writes every target into -o DIR,
    all files or none.

    \b
    Examples:
      nhn-appliance render --target nftables -o nhn.nft && nft -c -f nhn.nft
      nhn-appliance render --target iptables -o rules.v4   (also writes rules.v6)
      nhn-appliance render --all -o /etc/nhn-appliance/
      nhn-appliance render --list-targets
    """
    from nhn_appliance import render_cli

    if list_targets:
        render_cli.list_targets()
        return
    from nhn_appliance.outputs import template_cache, write_all
    from nhn_appliance.render import get_renderer
    from nhn_appliance.render.templating import use_bytecode_cache

    use_bytecode_cache(template_cache())
    inputs = obj.inputs()
    chosen = list(dict.fromkeys(targets)) or (
        list(inputs.site.targets) if all_targets else [inputs.site.targets[0]]
    )
    for target in chosen:
        get_renderer(target)  # an unknown target is a usage error before anything else
    opts = render_cli.parse_options(options, chosen)
    refusal = render_cli.unpinned_refusal(inputs, allow_unpinned)
    if refusal:
        click.echo(f"error: {refusal}", err=True)
        sys.exit(1)
    rendered = render_cli.render_all(inputs, chosen, opts)
    _warn(inputs.policy().warnings)
    plan = render_cli.output_plan(rendered, output, several_targets=all_targets or len(chosen) > 1)
    if plan is None:
        click.echo(rendered[0][1].text, nl=False)
        return
    write_all(plan)
    for path, _ in plan:
        click.echo(f"wrote {path}", err=True)


# -- probe ------------------------------------------------------------------------
@cli.command()
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Result document (default: nhn-probe-SITE-TIME.json in the current folder).",
)
@click.option(
    "--service",
    "services",
    multiple=True,
    metavar="NAME",
    help="Only checks for this service (repeatable).",
)
@click.option(
    "--only",
    metavar="KINDS",
    help=f"Only these kinds, comma-separated: {','.join(PROBE_KINDS)}.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 60),
    help="Seconds per check (default: the site's [probe] timeout).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Stream each result as one JSON line on stdout."
)
@click.option(
    "--follow-pac",
    is_flag=True,
    help="Also contact what the PAC file or its server points to outside the plan "
    "(redirects, proxies, names); without it they are recorded, not contacted.",
)
@click.pass_obj
def probe(
    obj: Ctx,
    output: str | None,
    services: tuple[str, ...],
    only: str | None,
    timeout: float | None,
    as_json: bool,
    follow_pac: bool,
) -> None:
    """Check from the site that what its services need actually works.

    Plans the checks of the site's services (only catalogue and site targets),
    runs them concurrently within the per-check timeout and the site's
    deadline, shows progress on a terminal, prints a verdict per service and
    writes the result document atomically. Ctrl-C stops and still writes what
    was measured. Exit 1 when a check fails.

    \b
    Examples:
      nhn-appliance probe
      nhn-appliance probe --service join --timeout 2 -o join.json
      nhn-appliance probe --only dns,ntp --json
    """
    from nhn_appliance.probe_cli import run_probe

    sys.exit(run_probe(obj.inputs(), output, services, only, timeout, as_json, follow_pac))


# -- report -----------------------------------------------------------------------
REPORT_FORMATS = tuple(FORMATS)


@cli.command()
@click.argument("results", metavar="RESULTS.json", required=False)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(REPORT_FORMATS),
    default="text",
    show_default=True,
    help="html: one self-contained page; text: for an e-mail to kundesenter@nhn.no; json: the "
    "report model (report.schema.json); nagios: plugin output and exit code; "
    "prometheus: textfile-collector format.",
)
@click.option(
    "--lang",
    type=click.Choice(["nb", "en"]),
    default="nb",
    show_default=True,
    help="Language of the report: nb (bokmål) or en (English).",
)
@click.option(
    "--max-age",
    "max_age",
    metavar="DURATION",
    help="A document older than this (e.g. 30m, 2h, 1d) is a warning: the run is stale.",
)
@click.option(
    "--compare",
    "compare_docs",
    nargs=2,
    metavar="BEFORE.json AFTER.json",
    help="Compare two runs: per service and check, what was fixed, what broke, what stayed.",
)
@click.option(
    "-o", "--output", metavar="FILE", help="Write to FILE (atomically) instead of stdout."
)
def report(
    results: str | None,
    fmt: str,
    lang: str,
    max_age: str | None,
    compare_docs: tuple[str, str] | None,
    output: str | None,
) -> None:
    """Turn a probe result document into a report NHN support can act on.

    Diagnoses the results (rules/report/diagnosis.toml): what is wrong, for which
    service, the causes first, with what to do and on whose word. Every format
    shows the document's age; a run that was interrupted, or in which most
    checks did not run, is "incomplete", never OK. Secrets and captured
    payloads are left out. Exit 0, or 2 for a bad or unsupported document;
    --format nagios exits with the plugin code (0 OK, 1 WARNING, 2 CRITICAL,
    3 UNKNOWN: also for an incomplete run or a document it cannot read).

    \b
    Examples:
      nhn-appliance report nhn-probe-kontor.json
      nhn-appliance report run.json --format html -o rapport.html
      nhn-appliance report run.json --format text --lang en | mail kundesenter@nhn.no
      nhn-appliance report run.json --format nagios --max-age 2h
      nhn-appliance report run.json --format prometheus -o /var/lib/node_exporter/nhn.prom
      nhn-appliance report --compare before.json after.json --format html -o etter.html
    """
    from nhn_appliance.errors import InputError, UsageError
    from nhn_appliance.report import get_format
    from nhn_appliance.report.age import parse_duration
    from nhn_appliance.report.model import report_from_file

    if bool(results) == bool(compare_docs):
        raise UsageError("give one RESULTS.json, or --compare BEFORE.json AFTER.json")
    module = get_format(fmt)
    if fmt == "html":
        from nhn_appliance.outputs import template_cache
        from nhn_appliance.report.html import use_bytecode_cache

        use_bytecode_cache(template_cache())
    max_age_s = parse_duration(max_age) if max_age else None
    try:
        reports = [
            report_from_file(path, lang, max_age_s=max_age_s)
            for path in (compare_docs or (results or "",))
        ]
    except InputError as exc:
        if fmt != "nagios":
            raise
        from nhn_appliance.report.data import labels

        click.echo(module.unreadable(str(exc), labels(lang)), nl=False)
        sys.exit(module.CODES["UNKNOWN"])
    if compare_docs:
        from nhn_appliance.report import compare_formats
        from nhn_appliance.report.compare import compare

        comparison = compare(reports[0], reports[1])
        text = compare_formats.render(comparison, fmt)
        code = compare_formats.exit_code(comparison)
    else:
        text = module.render(reports[0])
        code = module.exit_code(reports[0]) if fmt == "nagios" else 0
    if output:
        from pathlib import Path

        from nhn_appliance.outputs import write_all

        write_all([(Path(output), text)])  # temporary file, then rename
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
    if fmt == "nagios":
        sys.exit(code)


# -- the appliance's own kernel and the watching service: modules of their own ------
for _command in (*cli_apply.COMMANDS, *cli_serve.COMMANDS):
    cli.add_command(_command)


def main() -> None:
    import os

    from nhn_appliance import terminal

    terminal.tolerant_streams()
    argv = sys.argv[1:]
    as_json, debug = "--json" in argv, "--debug" in argv or bool(os.environ.get("NHN_DEBUG"))
    try:
        cli.main(prog_name="nhn-appliance", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        code = 2 if exc.exit_code not in (0, 1) else exc.exit_code
        if as_json:
            click.echo(terminal.error_json(exc, code))
        exc.show()
        sys.exit(code)
    except ApplianceError as exc:
        terminal.show_error(exc, exc.exit_code, as_json)
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:  # a bug, not a finding: never exit 1 (see terminal.internal_error)
        named = terminal.named_inputs(argv, dict(os.environ))
        sys.exit(terminal.internal_error(exc, named, debug, as_json))
    sys.exit(0)


if __name__ == "__main__":
    main()
