"""The ``render`` command's work: pick targets, merge their options, refuse
what would mislead, render, and write every file or none.

Kept apart from cli.py so the command line module stays thin.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from nhn_appliance.errors import UsageError
from nhn_appliance.inputs import Inputs
from nhn_appliance.render import RENDERERS, Artifact, Renderer, get_renderer


def list_targets() -> None:
    for name, (_, text) in RENDERERS.items():
        click.echo(f"{name:<10} {text}")
        r = get_renderer(name)
        for key, help_text in r.options.items():
            click.echo(f"{'':<10}   option {key}: {help_text}")
        for limit in r.limits:
            click.echo(f"{'':<10}   cannot: {limit}")


def parse_options(items: Sequence[str], targets: Sequence[str]) -> dict[str, dict[str, str]]:
    """``-O KEY=VALUE`` for every chosen target that takes KEY; a key no target
    takes is a usage error."""
    out: dict[str, dict[str, str]] = {t: {} for t in targets}
    for item in items:
        key, sep, value = item.partition("=")
        takers = [t for t in targets if key in get_renderer(t).options]
        if not sep or not takers:
            known = sorted({k for t in targets for k in get_renderer(t).options}) or ["none"]
            raise click.BadParameter(
                f"{item!r}: {', '.join(targets)} take(s) options {', '.join(known)} (KEY=VALUE)",
                param_hint="-O/--option",
            )
        for t in takers:
            out[t][key] = value
    return out


def unpinned_refusal(inputs: Inputs, allow_unpinned: bool) -> str:
    """With outbound blocked, names without pins mean openings the site needs
    are missing: refuse (exit 1) unless the user accepts it."""
    policy = inputs.policy()
    if allow_unpinned or policy.outbound != "blocked" or not policy.unpinned:
        return ""
    return (
        f"{len(policy.unpinned)} name(s) the site's services need are not pinned, so their "
        f"openings would be missing while outbound is blocked: {', '.join(policy.unpinned)}. "
        f"Run 'nhn-appliance resolve' to pin them, or render with --allow-unpinned "
        f"to leave them out on purpose."
    )


def file_name(target: str, art: Artifact) -> str:
    """One file per output in a folder: named after the target and the use
    (``nftables.nft``, ``iptables-rules.v6``, ``windows-site-pc.ps1``)."""
    stem, dot, suffix = art.name.partition(".")
    if stem == "nhn-appliance":
        return f"{target}{dot}{suffix}"
    return f"{target}-{art.name}"


def render_all(
    inputs: Inputs,
    targets: Sequence[str],
    options: dict[str, dict[str, str]],
) -> list[tuple[str, Artifact]]:
    """Every target's artifacts, each renderer given the site's [render.<target>]
    options with -O on top."""
    policy = inputs.policy()
    out: list[tuple[str, Artifact]] = []
    for target in targets:
        renderer: Renderer = get_renderer(target)
        merged = {**inputs.site.render_options.get(target, {}), **options.get(target, {})}
        out += [(target, art) for art in renderer.render(policy, merged)]
    return out


def output_plan(
    rendered: list[tuple[str, Artifact]], output: str | None, several_targets: bool
) -> list[tuple[Path, str]] | None:
    """Where each artifact goes; None means stdout (one artifact only)."""
    from nhn_appliance.outputs import output_paths

    if several_targets:
        if output is None or not Path(output).is_dir():
            raise UsageError(
                "several targets write several files: give -o DIR, an existing folder"
                + (f" ({output} is not one)" if output else "")
            )
        return [(Path(output) / file_name(t, a), a.text) for t, a in rendered]
    if output is None:
        if len(rendered) > 1:
            names = ", ".join(a.name for _, a in rendered)
            raise UsageError(
                f"this target writes {len(rendered)} files ({names}); give -o FILE or -o DIR, "
                "never one stream on stdout"
            )
        return None
    artifacts = [a for _, a in rendered]
    if Path(output).is_dir():
        return [(Path(output) / file_name(t, a), a.text) for t, a in rendered]
    paths = output_paths(output, artifacts)
    return list(zip(paths, (a.text for a in artifacts), strict=True))
