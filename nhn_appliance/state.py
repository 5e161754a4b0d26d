"""The state directory of apply: what is loaded, whether it is confirmed, and
the history of applied rulesets, each with the kernel state it replaced.

Layout (default ``/var/lib/nhn-appliance``, ``--state-dir``)::

    lock                     flock(2): one apply, confirm, rollback or timer at a time
    current.json             the loaded entry, pending or confirmed, deadline, timer pid
    history/0007/meta.json   hash, when, site, catalogue and pins, outcome
    history/0007/ruleset.nft (or rules.v4 + rules.v6) the files as loaded
    history/0007/before.json the appliance's own kernel state it replaced
    history/0007/loaded.json that ruleset as the kernel listed it after the load

Every file is written whole to a temporary name and renamed
(:mod:`nhn_appliance.outputs`), so a crash leaves the old or the new file.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nhn_appliance.errors import UsageError
from nhn_appliance.outputs import write_all

DEFAULT_DIR = "/var/lib/nhn-appliance"
#: free space an apply needs beyond its own files, for the state writes after the load
#: (confirm, rollback): refused before the kernel is touched when it is not there
SPARE_BYTES = 1 << 20

PENDING, CONFIRMED, NONE = "pending", "confirmed", "none"


@dataclass
class Current:
    """What the appliance has loaded (``entry`` 0: nothing yet)."""

    entry: int = 0
    status: str = NONE
    target: str = ""
    deadline: float = 0.0  #: epoch seconds; pending only
    timer_pid: int = 0
    last_confirmed: int = 0
    since: float = 0.0  #: when this status began

    def seconds_left(self, now: float | None = None) -> float:
        return max(0.0, self.deadline - (now if now is not None else time.time()))


@dataclass
class Entry:
    """One applied ruleset."""

    id: int
    target: str
    hash: str
    applied_at: float
    site: str
    site_file: str
    catalogue: str
    pins: str
    software: str
    window_s: float
    previous: int  #: the entry loaded before this one (0: none)
    outcome: str = PENDING  #: pending, confirmed, rolled back (why), replaced
    outcome_at: float = 0.0
    files: list[str] = field(default_factory=list)


class StateDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # -- locking ---------------------------------------------------------------
    @contextmanager
    def locked(self, wait: bool = False, who: str = "") -> Iterator[None]:
        """Hold the state lock; without ``wait`` another holder is exit 2 naming it."""
        self._ensure()
        lock = self.path / "lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                raise UsageError(
                    f"{self.path} is locked by another nhn-appliance command "
                    f"({holder or 'unknown'}); wait for it to finish"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}: {who}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _ensure(self) -> None:
        try:
            (self.path / "history").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"state directory {self.path}: {exc.strerror} "
                "(give another with --state-dir; apply needs root)"
            ) from None

    # -- current ---------------------------------------------------------------
    def current(self) -> Current:
        data = self._read(self.path / "current.json")
        return Current(**data) if data else Current()

    def set_current(self, cur: Current) -> None:
        self._write({self.path / "current.json": asdict(cur)})

    # -- history ---------------------------------------------------------------
    def entry_dir(self, entry: int) -> Path:
        return self.path / "history" / f"{entry:04d}"

    def entries(self) -> list[int]:
        folder = self.path / "history"
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())

    def next_id(self) -> int:
        return (self.entries() or [0])[-1] + 1

    def entry(self, entry: int) -> Entry:
        data = self._read(self.entry_dir(entry) / "meta.json")
        if not data:
            known = ", ".join(str(e) for e in self.entries()) or "none"
            raise UsageError(f"no applied ruleset #{entry} in {self.path} (known: {known})")
        return Entry(**data)

    def save_entry(self, entry: Entry) -> None:
        self._write({self.entry_dir(entry.id) / "meta.json": asdict(entry)})

    def files(self, entry: int) -> dict[str, str]:
        meta = self.entry(entry)
        return {n: (self.entry_dir(entry) / n).read_text(encoding="utf-8") for n in meta.files}

    def blob(self, entry: int, name: str) -> Any:
        return self._read(self.entry_dir(entry) / name)

    def write_new_entry(
        self, entry: Entry, texts: dict[str, str], blobs: dict[str, Any], cur: Current
    ) -> None:
        """Everything an apply needs later, and the pending state, before the kernel
        is touched; a disk without room for it (and for what follows) refuses here."""
        folder = self.entry_dir(entry.id)
        size = sum(len(t.encode()) for t in texts.values())
        size += sum(len(json.dumps(b)) for b in blobs.values())
        free = shutil.disk_usage(self.path).free
        if free < size + SPARE_BYTES:
            raise UsageError(
                f"state directory {self.path}: {free} bytes free, an apply needs "
                f"{size + SPARE_BYTES}; nothing was loaded"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{folder}: {exc.strerror}; nothing was loaded") from None
        files: dict[Path, Any] = {folder / n: t for n, t in texts.items()}
        files.update({folder / n: b for n, b in blobs.items()})
        files[folder / "meta.json"] = asdict(entry)
        try:
            self._write(files)
            self.set_current(cur)
        except UsageError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise UsageError(f"{exc}; nothing was loaded") from None

    # -- files -----------------------------------------------------------------
    def _write(self, files: dict[Path, Any]) -> None:
        write_all(
            [
                (p, v if isinstance(v, str) else json.dumps(v, indent=1, ensure_ascii=False))
                for p, v in files.items()
            ]
        )

    def _read(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: unreadable state file ({exc})") from None
