"""Write rendered files so that a failure never leaves half a configuration behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.model import Pin
from nhn_appliance.policy.pins import dumps_pins, now_iso

if TYPE_CHECKING:
    import jinja2


def output_paths(output: str, artifacts) -> list[Path]:
    """One path per artifact, all named after ``FILE``.

    The first artifact goes to FILE; an IPv6 twin to FILE with ``.v4``
    replaced by ``.v6`` (or ``.v6`` added); any other to ``STEM-NAME.SUFFIX``
    (``nhn.ps1`` and ``nhn-fjernhjelp-leverandor.ps1``).
    """
    base = Path(output)
    paths = []
    for i, art in enumerate(artifacts):
        if i == 0:
            paths.append(base)
        elif art.family == 6:
            name = base.name[:-3] + ".v6" if base.name.endswith(".v4") else base.name + ".v6"
            paths.append(base.with_name(name))
        else:
            paths.append(base.with_name(f"{base.stem}-{Path(art.name).stem}{base.suffix}"))
    return paths


def write_text(path: Path, text: str) -> None:
    """One file, atomically, creating its folder if needed (state files, documents)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_all([(path, text)])


def write_all(files: list[tuple[Path, str]]) -> None:
    """Write every file to a temporary name first, then rename them all."""
    temps: list[tuple[str, Path]] = []
    try:
        for path, text in files:
            if path.is_dir():
                raise UsageError(f"{path} is a directory; give a file name")
            if not path.parent.exists():
                raise UsageError(f"folder {path.parent} does not exist")
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            temps.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
        for tmp, path in temps:
            os.replace(tmp, path)
        temps.clear()
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or ''}: {exc.strerror}") from None
    finally:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)


def write_pins(path: Path, site: str, pins: dict[str, Pin]) -> None:
    """The pinned-names state file, atomically."""
    write_text(path, dumps_pins(site, pins, now_iso()))


def template_cache() -> jinja2.BytecodeCache | None:
    """Where compiled templates are kept between runs: ``$NHN_APPLIANCE_CACHE_DIR``
    (empty: no cache), else ``$XDG_CACHE_HOME/nhn-appliance/jinja`` (``~/.cache``).
    Jinja checks each template's source before it uses a cached copy; a folder
    that cannot be made or written means no cache, never an error."""
    import jinja2

    folder = os.environ.get("NHN_APPLIANCE_CACHE_DIR")
    if folder is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "nhn-appliance", "jinja")
    if not folder:
        return None
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    return jinja2.FileSystemBytecodeCache(folder)
