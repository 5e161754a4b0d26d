"""One exception tree for the whole appliance (the dnspython way).

Every error a user can cause carries enough to be acted on: the file, the key
path inside it, the bad value and what is allowed. The command line turns an
:class:`InputError` into exit code 2 and a one-paragraph message, never a
traceback.
"""

from __future__ import annotations


class ApplianceError(Exception):
    """Root of every error raised on purpose by the appliance."""

    exit_code = 2


class InputError(ApplianceError):
    """A file the user gave (site, catalogue, state) is wrong.

    ``file`` is the path as the user would recognise it, ``key`` a dotted key
    path such as ``endpoint[2].ports[0]`` (empty for whole-file problems).
    """

    def __init__(self, file: str, key: str, message: str, allowed: str = "") -> None:
        self.file = file
        self.key = key
        self.message = message
        self.allowed = allowed
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        text = f"{where}: {self.message}"
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text


class CatalogueError(InputError):
    """A rules catalogue file (``rules/*.toml``) is wrong."""


class SiteError(InputError):
    """The site file (``appliance.toml``) is wrong or names what the catalogue lacks."""


class StateError(InputError):
    """The pinned-names state file written by ``resolve`` is unreadable."""


class UsageError(ApplianceError):
    """A command was asked for something that cannot be done with these inputs."""


class ResolveError(ApplianceError):
    """Names could not be pinned (no resolver answered at all)."""

    exit_code = 1
