"""``-o`` never replaces what is not a regular file, keeps a file's mode, writes
pairs together, and ``probe -o`` is checked before the first packet (issue 11,
review D1, D11, D13).

Devices are made with mknod inside a private mount namespace on a tmpfs: the
host's /dev/null and /dev/full are never the ones written to.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import REPO

from nhn_appliance.errors import UsageError
from nhn_appliance.outputs import write_all

NHN = [sys.executable, "-m", "nhn_appliance.cli"]
SITE = str(REPO / "appliance.toml")
RENDER = ["--site", SITE, "render", "-t", "nftables", "--allow-unpinned"]


def test_fifo_is_written_in_place_not_replaced(run_main, tmp_path) -> None:
    """O12: whoever reads the pipe gets the ruleset; the pipe stays a pipe."""
    fifo = tmp_path / "pipe.nft"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code, _, err = run_main(*RENDER, "-o", str(fifo))
    reader.join(timeout=10)
    assert code == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and b"table inet nhn_appliance" in got[0]


def test_symlink_is_followed_and_kept(run_main, tmp_path) -> None:
    """O04: the link stays a link; the file it names gets the new text, atomically."""
    real = tmp_path / "real.nft"
    real.write_text("old\n")
    link = tmp_path / "link.nft"
    link.symlink_to(real.name)
    code, _, err = run_main(*RENDER, "-o", str(link))
    assert code == 0, err
    assert link.is_symlink() and "table inet nhn_appliance" in real.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.nft", "real.nft"]


def test_dangling_symlink_and_socket_are_refused(run_main, tmp_path) -> None:
    dangling = tmp_path / "dangling.nft"
    dangling.symlink_to("nowhere.nft")
    code, _, err = run_main(*RENDER, "-o", str(dangling))
    assert code == 2 and "dangling.nft is a symbolic link to nowhere.nft" in err
    assert dangling.is_symlink() and not (tmp_path / "nowhere.nft").exists()
    import socket

    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        code, _, err = run_main(*RENDER, "-o", str(sock_path))
    assert code == 2 and "s.sock is not a regular file" in err
    assert stat.S_ISSOCK(os.lstat(sock_path).st_mode)


def test_a_replaced_file_keeps_its_mode(run_main, tmp_path) -> None:
    """O11: a 0600 report stays 0600; a new file is 0644."""
    secret = tmp_path / "s.prom"
    secret.write_text("x\n")
    secret.chmod(0o600)
    doc = str(REPO / "tests/cases/reports/dns.json")
    code, _, err = run_main("report", doc, "-f", "prometheus", "-o", str(secret))
    assert code == 0, err
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and "nhn_" in secret.read_text()
    fresh = tmp_path / "new.prom"
    run_main("report", doc, "-f", "prometheus", "-o", str(fresh))
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644


def test_pair_is_written_together_under_concurrent_writers(tmp_path) -> None:
    """O09: twelve writers of two different pairs; every round ends with a matching pair."""
    v4, v6 = tmp_path / "pair.v4", tmp_path / "pair.v6"
    for _ in range(15):  # bounded rounds
        barrier = threading.Barrier(12)

        def writer(tag: str, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            write_all([(v4, f"{tag} v4\n" * 2000), (v6, f"{tag} v6\n" * 2000)])

        threads = [threading.Thread(target=writer, args=(f"w{i % 2}",)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert v4.read_text().split()[0] == v6.read_text().split()[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair.v4", "pair.v6"]


def test_write_error_names_the_file_and_keeps_the_old_one(tmp_path) -> None:
    """O07-like: a folder that cannot take the file; the message names it."""
    with pytest.raises(UsageError, match="does not exist"):
        write_all([(tmp_path / "no" / "x.nft", "x")])
    target = tmp_path / "d"
    target.mkdir()
    with pytest.raises(UsageError, match="is a directory"):
        write_all([(target, "x")])


needs_mount_ns = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("mknod"),
    reason="needs root, unshare and mknod for a private /dev",
)


@needs_mount_ns
def test_devices_are_written_in_place_in_a_private_dev(tmp_path) -> None:
    """O06: /dev/full is ENOSPC (exit 2, the file named), /dev/null stays a device,
    report -o /dev/stdout prints. All on a tmpfs /dev in a private mount namespace."""
    script = f"""
set -u
mount -t tmpfs tmpfs /dev
mknod -m 666 /dev/full c 1 7 && mknod -m 666 /dev/null c 1 3
ln -s /proc/self/fd/1 /dev/stdout
{" ".join(NHN)} {" ".join(RENDER)} -o /dev/full 2>&1; echo "full_rc=$?"
stat -c "full=%F" /dev/full
{" ".join(NHN)} {" ".join(RENDER)} -o /dev/null >null.log 2>&1; echo "null_rc=$?"
stat -c "null=%F" /dev/null
{" ".join(NHN)} report {REPO}/tests/cases/reports/dns.json -o /dev/stdout 2>/dev/null | head -1
stat -c "stdout=%F" /dev/stdout
"""
    env = {**os.environ, "NHN_APPLIANCE_CACHE_DIR": ""}
    out = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    ).stdout
    assert "error: cannot write /dev/full: No space left on device" in out, out
    assert "full_rc=2" in out and "full=character special file" in out
    assert "null_rc=0" in out and "null=character special file" in out
    assert "NHN-diagnoserapport" in out and "stdout=symbolic link" in out
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # the host's, untouched


def test_probe_output_is_checked_before_the_first_packet(run_main, tmp_path, monkeypatch):
    """PR06: -o naming a folder, or a folder that does not exist, is exit 2 before
    any check runs (the runner is replaced by one that records being called)."""
    from nhn_appliance import probe_cli

    called: list[int] = []

    async def no_run(*args, **kwargs):
        called.append(1)
        return []

    monkeypatch.setattr(probe_cli, "run_all", no_run)
    for bad, says in ((tmp_path, "is a directory"), (tmp_path / "no" / "r.json", "does not")):
        code, _, err = run_main("--site", SITE, "probe", "--only", "dns", "-o", str(bad))
        assert code == 2 and says in err, err
    assert called == []
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o500)
    if os.geteuid() != 0:  # root writes anyway
        code, _, err = run_main(
            "--site", SITE, "probe", "--only", "dns", "-o", str(readonly / "r.json")
        )
        assert code == 2 and "cannot write" in err
    assert called == []
    assert Path(tmp_path).exists()
