"""The edge where the command line reads its inputs: catalogue, site and pins.

Kept apart from the click module so that the command line knows no policy
and tests and benchmarks can load the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nhn_appliance import __version__
from nhn_appliance.errors import StateError
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.model import Catalogue, Pin, Policy, Site
from nhn_appliance.policy.pins import read_pins, state_path_for
from nhn_appliance.policy.site import find_site, load_site


@dataclass
class Inputs:
    catalogue: Catalogue
    site: Site
    site_path: Path
    pins_path: Path
    pins: dict[str, Pin]
    _policy: Policy | None = field(default=None, repr=False)

    def policy(self) -> Policy:
        """The compiled policy, compiled once (render, its checks and warnings share it)."""
        if self._policy is None:
            self._policy = compile_policy(
                self.catalogue,
                self.site,
                self.pins,
                now=datetime.now(UTC),
                software=f"nhn-appliance {__version__}",
            )
        return self._policy


def load_catalogue_only(rules: str | None) -> Catalogue:
    return load_catalogue(Path(rules) if rules else None)


def load_inputs(
    site: str | None, rules: str | None, pins: str | None, pins_must_exist: bool = True
) -> Inputs:
    """Catalogue, site and pins. An explicit ``--pins FILE`` that does not exist
    is a mistake (a typo would silently render without pins), except for
    ``resolve``, which writes it."""
    catalogue = load_catalogue_only(rules)
    path, display = find_site(site)
    loaded = load_site(path, display, catalogue)
    packaged = site is None and display.endswith("(packaged default)")
    pins_path = Path(pins) if pins else state_path_for(path, packaged)
    if pins and pins_must_exist and not pins_path.is_file():
        raise StateError(
            pins,
            "",
            "file not found (given with --pins); 'nhn-appliance resolve --pins FILE' writes it",
        )
    return Inputs(catalogue, loaded, path, pins_path, read_pins(pins_path))
