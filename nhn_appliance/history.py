"""The history of ``serve``: every probe result document with its diagnosis, in SQLite.

One file (default ``STATE_DIR/serve/history.sqlite3``), bounded by age and by
size: after each run the oldest runs go until both bounds hold. The schema is
versioned with SQLite's ``user_version``; :data:`MIGRATIONS` takes a file of
any older version to the newest in one transaction each (tests open a file of
every version). A file that is deleted or unreadable while serving is moved
aside and replaced by a new, empty one with one log line: the history is a
convenience, never a reason to stop watching the site.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("nhn_appliance.serve")

#: each entry takes a file from version i to i + 1; never edit one that has shipped
MIGRATIONS: tuple[str, ...] = (
    # 1: one row per probe run: the result document and the verdict per service
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started REAL NOT NULL,
        ended REAL NOT NULL,
        verdict TEXT NOT NULL,
        services TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    """,
    # 2: the diagnosis' findings beside the verdicts, and a lookup by time
    """
    ALTER TABLE runs ADD COLUMN findings TEXT NOT NULL DEFAULT '[]';
    CREATE INDEX runs_started ON runs (started);
    """,
)
VERSION = len(MIGRATIONS)


#: the share of history_max_mb the kept runs may fill: the file on disk also holds
#: the next run's write-ahead log until the trim after it folds the log back in
DATA_SHARE = 0.9


@dataclass(frozen=True)
class Run:
    """One run as the history holds it (``doc`` only when asked for)."""

    id: int
    started: float
    ended: float
    verdict: str
    services: dict[str, str]  #: service -> verdict
    findings: list[dict[str, Any]]  #: id, service, severity, title, source
    doc: dict[str, Any] | None = None


def migrate(db: sqlite3.Connection) -> int:
    """Bring ``db`` to :data:`VERSION`; returns the version it had."""
    had = int(db.execute("PRAGMA user_version").fetchone()[0])
    if had > VERSION:
        raise sqlite3.DatabaseError(f"schema version {had} is newer than this software's {VERSION}")
    if had == 0:
        # must precede the first table: lets a trimmed file give its pages back
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    for version in range(had, VERSION):
        with db:  # one transaction per step: a crash leaves the old or the new version
            db.executescript(f"BEGIN; {MIGRATIONS[version]} PRAGMA user_version = {version + 1};")
    return had


class History:
    """Thread-safe: the probe loop writes, the HTTP threads read."""

    def __init__(
        self,
        path: Path,
        max_age_s: float,
        max_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path, self.max_age_s, self.max_bytes, self.clock = path, max_age_s, max_bytes, clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._ino = 0
        self.replaced = 0  #: how many times a lost or broken file was replaced
        with self._lock:
            try:
                self._open()
            except sqlite3.DatabaseError as exc:  # a broken file must not stop serve
                self._fresh(f"is unreadable ({exc})")

    # -- the file ------------------------------------------------------------------
    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            migrate(db)
            db.execute("SELECT count(*) FROM runs").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        self._db, self._ino = db, os.stat(self.path).st_ino

    def _fresh(self, why: str) -> None:
        """Move the file aside (when there is one) and start an empty history."""
        if self._db is not None:
            self._db.close()
            self._db = None
        aside = ""
        if self.path.exists():
            aside = f"{self.path}.broken-{time.strftime('%Y%m%dT%H%M%S')}"
            os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        log.error(
            "history %s %s; %sstarting a new, empty history",
            self.path,
            why,
            f"moved it to {aside}; " if aside else "",
        )
        self.replaced += 1
        self._open()

    def _conn(self) -> sqlite3.Connection:
        """The connection, reopened when the file was deleted or replaced behind us."""
        try:
            same = os.stat(self.path).st_ino == self._ino
        except FileNotFoundError:
            same = False
        if self._db is None or not same:
            self._fresh("was deleted or replaced while serving")
        assert self._db is not None
        return self._db

    def _do(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock:
            try:
                return work(self._conn())
            except sqlite3.DatabaseError as exc:
                self._fresh(f"is unreadable ({exc})")
                return work(self._conn())

    # -- writing ---------------------------------------------------------------------
    def add(self, doc: dict[str, Any], report: dict[str, Any]) -> int:
        """Keep one run (its document and its report's verdicts and findings), then trim."""
        services = {s["service"]: s["verdict"] for s in report["services"]}
        findings = [
            {k: f.get(k, "") for k in ("id", "service", "severity", "title", "source")}
            for f in report["findings"]
        ]
        started, ended = _epoch(doc.get("started_at")), _epoch(doc.get("ended_at"))
        row = (
            started,
            ended,
            report["verdict"],
            json.dumps(services, ensure_ascii=False),
            json.dumps(findings, ensure_ascii=False),
            json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
        )

        def work(db: sqlite3.Connection) -> int:
            with db:
                cur = db.execute(
                    "INSERT INTO runs (started, ended, verdict, services, findings, doc) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    row,
                )
            self._trim(db)
            return int(cur.lastrowid or 0)

        result: int = self._do(work)
        return result

    def _trim(self, db: sqlite3.Connection) -> None:
        with db:
            db.execute("DELETE FROM runs WHERE started < ?", (self.clock() - self.max_age_s,))
        # keep the newest run whatever its size; drop the oldest tenth until the data is
        # under DATA_SHARE of the bound (the rest is room for the next run's log)
        for _ in range(64):  # bounded: each pass removes a tenth of what is left
            if self.size(db) <= self.max_bytes * DATA_SHARE:
                break
            count = db.execute("SELECT count(*) FROM runs").fetchone()[0]
            if count <= 1:
                break
            with db:
                db.execute(
                    "DELETE FROM runs WHERE id IN (SELECT id FROM runs ORDER BY id LIMIT ?)",
                    (max(1, count // 10),),
                )
            db.execute("PRAGMA incremental_vacuum")
        # the bound is on the file: fold the write-ahead log back in and empty it, and
        # give free pages back, so data + log + free pages stay within max_bytes
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA incremental_vacuum")

    @staticmethod
    def size(db: sqlite3.Connection) -> int:
        """Bytes the history's pages hold (the free pages not counted)."""
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        page: int = db.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * page)

    # -- reading ---------------------------------------------------------------------
    def recent(self, limit: int, with_docs: int = 0) -> list[Run]:
        """The newest ``limit`` runs, newest first; the newest ``with_docs`` with documents."""

        def work(db: sqlite3.Connection) -> list[Run]:
            rows = db.execute(
                "SELECT id, started, ended, verdict, services, findings, "
                "CASE WHEN rank <= ? THEN doc END FROM "
                "(SELECT *, row_number() OVER (ORDER BY id DESC) AS rank FROM runs "
                "ORDER BY id DESC LIMIT ?)",
                (with_docs, limit),
            ).fetchall()
            return [
                Run(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    json.loads(r[4]),
                    json.loads(r[5]),
                    json.loads(r[6]) if r[6] is not None else None,
                )
                for r in rows
            ]

        runs: list[Run] = self._do(work)
        return runs

    def count(self) -> int:
        n: int = self._do(lambda db: db.execute("SELECT count(*) FROM runs").fetchone()[0])
        return n

    def bytes(self) -> int:
        n: int = self._do(self.size)
        return n

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _epoch(stamp: Any) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time()
