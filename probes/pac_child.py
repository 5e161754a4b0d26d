"""The PAC sandbox's own process: evaluate untrusted PAC code where it can be killed.

QuickJS polls its time limit in the bytecode loop but not while a regular
expression backtracks, and a thread cannot be stopped; so the probe runs
:func:`pac_engine.evaluate` in a child process (``python -I -m`` this module)
with resource limits of its own (CPU seconds, address space, no files, no
core) and kills it at the check's deadline, on Ctrl-C or when the run is cut
short. The child has no network of its own to use: a name the PAC code wants
resolved goes to the parent as a request, and the parent decides (the plan's
names only, unless --follow-pac) and resolves it with the site's resolvers.

One JSON object a line. Parent to child: the job ``{source, urls, my_ip,
seconds}``, then one answer per request (``{"addresses": [...]}``, or
``{"refused": why}``). Child to parent: ``{"resolve": name}``, ``{"row": row}``
for each URL as it is done, ``{"done": out}`` at the end.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.reasons import Reason

MEMORY_BYTES = 768 << 20  #: address space of the child (interpreter, QuickJS heap, 1 MiB source)
LINE_LIMIT = 8 << 20  #: the longest line the parent reads from the child

#: name -> addresses; raises (LookupRefused or any failure) when there are none to give
Lookup = Callable[[str], Awaitable[list[str]]]


def _limit_self(seconds: float) -> None:
    import resource

    cpu = math.ceil(seconds) + 1  # SIGXCPU ends the child even if nobody kills it
    for what, value in (
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_AS, MEMORY_BYTES),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, 16),
    ):
        resource.setrlimit(what, (value, value))


def main() -> int:
    """The child: read the job, evaluate, stream rows; EOF on stdin ends it."""
    job = json.loads(sys.stdin.readline())
    _limit_self(float(job["seconds"]))
    from nhn_appliance.probes.pac_engine import LookupRefused, evaluate

    def send(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def resolve(name: str) -> list[str]:
        send({"resolve": name})
        line = sys.stdin.readline()
        if not line:
            raise SystemExit(0)  # the parent is gone
        answer = json.loads(line)
        if "refused" in answer:
            raise LookupRefused(str(answer["refused"]))
        return [str(a) for a in answer.get("addresses", [])]

    deadline = time.monotonic() + float(job["seconds"])
    out = evaluate(
        job["source"],
        job["urls"],
        resolve,
        job["my_ip"],
        deadline,
        emit=lambda row: send({"row": row}),
    )
    send({"done": out})
    return 0


async def evaluate_in_child(
    source: str, urls: list[str], my_ip: str, seconds: float, lookup: Lookup
) -> dict[str, Any]:
    """Evaluate in a child process, killed after ``seconds`` (wall clock) or when the
    calling task is cancelled; the URLs it did not finish get ``pac-timeout``."""
    end = time.monotonic() + seconds
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        "-m",
        __name__,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches the parent, which kills the child
        limit=LINE_LIMIT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    rows: list[dict[str, Any]] = []
    out: dict[str, Any] = {"error": None, "message": "", "urls": rows, "dns": {}}
    why = ""
    try:
        job = {"source": source, "urls": urls, "my_ip": my_ip, "seconds": max(0.05, seconds - 0.1)}
        proc.stdin.write((json.dumps(job) + "\n").encode())
        await proc.stdin.drain()
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError
            line = await asyncio.wait_for(proc.stdout.readline(), left)
            if not line:
                code = await proc.wait()
                why = f"the sandbox process ended by itself (exit {code})"
                break
            msg = json.loads(line)
            if "row" in msg:
                rows.append(msg["row"])
            elif "done" in msg:
                return dict(msg["done"])
            elif "resolve" in msg:
                name = str(msg["resolve"])[:253]
                try:
                    answer: dict[str, Any] = {"addresses": await lookup(name)}
                except LookupError as exc:  # refused: outside the plan
                    answer = {"refused": str(exc)}
                except Exception as exc:  # noqa: BLE001 - to the PAC code: "unresolvable"
                    answer = {"refused": str(classify(exc))}
                proc.stdin.write((json.dumps(answer) + "\n").encode())
                await proc.stdin.drain()
    except TimeoutError:
        why = f"ran past the check's time ({seconds:.3g} s): the sandbox process was killed"
    except (OSError, ValueError) as exc:  # a broken pipe, a line that is not JSON
        why = f"the sandbox process failed: {exc}"
    finally:
        if proc.returncode is None:
            proc.kill()
            await asyncio.shield(proc.wait())
    done = {r.get("url") for r in rows}
    for n, url in enumerate(u for u in urls if u not in done):
        error = Reason.PAC_TIMEOUT if "killed" in why or "exit -" in why else Reason.PAC_ERROR
        message = why if n == 0 else "not evaluated: an earlier call did not end"
        host = urlsplit(url).hostname or ""
        rows.append(
            {"url": url, "host": host, "answer": None, "proxies": [], "error": error}
            | {"message": message}
        )
    if not urls:
        out["error"], out["message"] = Reason.PAC_TIMEOUT, why
    return out


if __name__ == "__main__":
    sys.exit(main())
