"""``serve``'s settings: the site file's ``[serve]`` table, then the command line.

Everything is checked before anything starts (no socket bound, no probe
sent): a bad interval or address, a state directory that cannot be written,
a port already in use are exit 2 naming the file, the key and what is allowed.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from nhn_appliance.errors import SiteError, UsageError
from nhn_appliance.policy.schema import Node, read_toml
from nhn_appliance.report.age import parse_duration

DEFAULT_LISTEN = "127.0.0.1:9733"
DEFAULT_INTERVAL_S = 300.0
DEFAULT_MAX_AGE_S = 30 * 86400.0
DEFAULT_MAX_MB = 256
#: /probe runs at most once per this many seconds (as blackbox_exporter, it is for a person)
PROBE_MIN_GAP_S = 10.0
SERVE_KEYS = {"interval", "listen", "history_max_age", "history_max_mb", "token_file"}
DURATION_FORM = "a positive number with s, m, h or d, e.g. 30s, 5m, 1h"


@dataclass(frozen=True)
class ServeConfig:
    host: str
    port: int
    interval_s: float
    state_dir: Path
    history_max_age_s: float
    history_max_bytes: int
    token: str  #: empty: none configured
    lang: str = "nb"
    once: bool = False

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.host).is_loopback

    @property
    def history_path(self) -> Path:
        return self.state_dir / "serve" / "history.sqlite3"


def _duration(node: Node, value: object, default: float) -> float:
    if not node_has(value):
        return default
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    try:
        return parse_duration(str(value), "")
    except UsageError:
        raise node.fail(f"{value!r} is not a duration", DURATION_FORM) from None


def node_has(value: object) -> bool:
    return value is not None


def split_listen(text: str, where: str) -> tuple[str, int]:
    """``ADDR:PORT`` (``[v6]:PORT`` for IPv6) into an address and a port."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
        if not sep or not 1 <= number <= 65535:
            raise ValueError
    except ValueError:
        raise UsageError(
            f"{where} {text!r} is not ADDR:PORT (allowed: an IP address and a port 1-65535, "
            "e.g. 127.0.0.1:9733 or [::1]:9733)"
        ) from None
    return host, number


def load(
    site_path: Path,
    site_display: str,
    listen: str | None,
    interval: str | None,
    state_dir: str,
    lang: str,
    once: bool,
) -> ServeConfig:
    root = Node(read_toml(site_path, site_display, SiteError), site_display, "", SiteError)
    table = root.get("serve").table(SERVE_KEYS) if root.has("serve") else root.get("serve")
    raw = table.value if isinstance(table.value, dict) else {}
    if interval is not None:
        interval_s = parse_duration(interval, "--interval")
    else:
        interval_s = _duration(table.get("interval"), raw.get("interval"), DEFAULT_INTERVAL_S)
    if listen is not None:
        host, port = split_listen(listen, "--listen")
    else:
        text = table.get("listen").text(DEFAULT_LISTEN)
        try:
            host, port = split_listen(text, "")
        except UsageError:
            raise table.get("listen").fail(
                f"{text!r} is not ADDR:PORT", "an IP address and a port 1-65535"
            ) from None
    max_age = _duration(table.get("history_max_age"), raw.get("history_max_age"), DEFAULT_MAX_AGE_S)
    max_mb = table.get("history_max_mb").integer(1, 1 << 20, DEFAULT_MAX_MB)
    token = ""
    if raw.get("token_file") is not None:
        token_path = Path(table.get("token_file").text())
        try:
            token = token_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise table.get("token_file").fail(
                f"cannot read {token_path}: {exc.strerror}"
            ) from None
    token = os.environ.get("NHN_APPLIANCE_SERVE_TOKEN", token)
    return ServeConfig(
        host, port, interval_s, Path(state_dir), max_age, max_mb << 20, token, lang, once
    )


def check_writable(config: ServeConfig) -> None:
    """The history's folder exists (or can be made) and takes a file."""
    folder = config.history_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"state directory {config.state_dir}: cannot write {folder} ({exc.strerror}); "
            "give a writable one with --state-dir or NHN_APPLIANCE_STATE_DIR"
        ) from None


def bind(config: ServeConfig) -> socket.socket:
    """The listening socket, bound now so a port in use is exit 2 before any probe."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror} "
            "(is another serve running? choose another with --listen ADDR:PORT)"
        ) from None
    return sock
