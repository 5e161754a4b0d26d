"""Write rendered files so that a failure never leaves half a configuration behind."""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


def _encode(text: str) -> bytes:
    # a lone surrogate (JSON's "\ud800" in a result document) is written as the
    # text \ud800, never a crash half-way through the files
    return text.encode("utf-8", "backslashreplace")


def where_to_write(path: Path) -> tuple[Path, bool]:
    """The file to write for ``-o PATH`` and whether it is replaced by rename.

    A regular file or a missing name is replaced atomically (a temporary file,
    then rename). A symbolic link is followed: its target is replaced, the link
    stays. A character device (``/dev/null``, a terminal) or a FIFO is written
    in place: renaming over it would replace the system's device with a file.
    A socket, a directory or a link to nothing is refused (exit 2).
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path, True
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(path)
        except OSError:
            raise UsageError(
                f"{path} is a symbolic link to {os.readlink(path)}, which does not exist; "
                "give the file itself"
            ) from None
        if stat.S_ISREG(st.st_mode):
            return Path(os.path.realpath(path)), True
    if stat.S_ISREG(st.st_mode):
        return path, True
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path} is a directory; give a file name")
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return path, False
    raise UsageError(f"{path} is not a regular file, device or pipe; give a file name")


def check_writable(path: Path) -> None:
    """Fail now (exit 2) if ``path`` could not be written later: ``probe -o`` checks
    before its first packet, so a typo never throws a finished run away."""
    target, atomic = where_to_write(path)
    folder = target.parent
    if not folder.is_dir():
        raise UsageError(f"folder {folder} does not exist (for {path})")
    if atomic:
        try:  # a temporary file proves the rename will work (read-only, full, no right)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        os.close(fd)
        os.unlink(tmp)
    elif not os.access(target, os.W_OK):
        raise UsageError(f"cannot write {path}: permission denied")


def write_all(files: list[tuple[Path, str]]) -> None:
    """Write every file to a temporary name first, then rename them all.

    Files written together (the iptables IPv4 and IPv6 pair) are renamed while
    their folders are locked, so concurrent writers never leave a mixed pair.
    A replaced file keeps its mode and owner; a new one is 0644.
    """
    plan = [(path, *where_to_write(path), _encode(text)) for path, text in files]
    for _given, target, _, _ in plan:
        if not target.parent.exists():
            raise UsageError(f"folder {target.parent} does not exist")
    temps: list[tuple[str, Path]] = []
    current = plan[0][0]
    try:
        for given, target, atomic, data in plan:
            current = given
            if not atomic:
                continue
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            temps.append((tmp, target))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            _keep_mode(tmp, target)
        with _locked({t.parent for _, t in temps} if len(temps) > 1 else set()):
            for tmp, target in temps:
                os.replace(tmp, target)
        temps.clear()
        for given, target, atomic, data in plan:
            current = given
            if not atomic:
                with open(target, "wb") as fh:  # a device or a pipe: in place
                    fh.write(data)
    except OSError as exc:
        raise UsageError(f"cannot write {current}: {exc.strerror or exc}") from None
    finally:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)


def _keep_mode(tmp: str, target: Path) -> None:
    """The old file's mode and owner (a 0600 file stays 0600), else 0644."""
    try:
        old = os.stat(target)
    except FileNotFoundError:
        os.chmod(tmp, 0o644)
        return
    os.chmod(tmp, stat.S_IMODE(old.st_mode))
    try:
        os.chown(tmp, old.st_uid, old.st_gid)
    except PermissionError:  # not root: the file becomes ours, with the old mode
        pass


@contextmanager
def _locked(folders: set[Path]) -> Iterator[None]:
    """An exclusive lock on each folder (flock on the folder itself: no lock file left)."""
    fds = []
    try:
        for folder in sorted(folders):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            fds.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in fds:
            os.close(fd)  # closing releases the lock


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
