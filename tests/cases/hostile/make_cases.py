"""Writes the hostile case files of issue 11 (review: hostile-input-review.md).

One folder per defect class whose input is a file; each file is named after
the review's case. Run from the repository root to regenerate:
``.venv/bin/python tests/cases/hostile/make_cases.py``. Every address in them
is the example site's or a documentation address.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).parent
CASES = HERE.parent
SITE = (CASES.parent.parent / "appliance.toml").read_text(encoding="utf-8")
PINS = json.loads((CASES / "pins" / "default.pins.json").read_text(encoding="utf-8"))
REPORT = json.loads((CASES / "reports" / "media-blocked.json").read_text(encoding="utf-8"))
ESCAPES = "kontor\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b[32mALL OK\x1b[0m\x9b31m\u202e"


def put(rel: str, data: str | bytes) -> None:
    path = HERE / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")


def pins(**change) -> dict:
    doc = json.loads(json.dumps(PINS))
    doc["names"]["ntp.nhn.no"].update(change)
    return doc


def report(change) -> str:
    doc = json.loads(json.dumps(REPORT))
    change(doc)
    return json.dumps(doc, ensure_ascii=True, indent=1)  # ensure_ascii: "\ud800" stays text


def main() -> None:
    deep = "[" * 5000 + "]" * 5000
    # D8: inputs that crashed with a traceback and exit 1
    put("d8/S57-deep.toml", SITE + f"\n[x]\ny = {deep}\n")
    put("d8/P12-ttl-infinity.pins.json", json.dumps(pins(ttl=float("inf"))))
    put("d8/P13-not-utf8.pins.json", b'{"schema":"nhn-appliance/pins/1","names":{"\xff":1}}')
    put("d8/P14-deep.pins.json", deep)
    put("d8/R06-deep.json", deep)
    put("d8/R07-not-utf8.json", report(lambda d: None).encode().replace(b"nhn-box", b"\xff\xfe"))
    put("d8/R10-host-addresses-number.json", report(lambda d: d["host"].update(addresses=5)))
    put("d8/R11-evidence-list.json", report(lambda d: d["results"][0].update(evidence=["x"])))
    put("d8/R16-lone-surrogate.json", report(lambda d: d["site"].update(name="site\ud800x")))
    put(
        "d8/PR05-proxy-no-port.toml",
        re.sub(r"(?m)^proxy = .*$", 'proxy = "proxy.example:http"', SITE),
    )
    # D7: escape sequences that must reach no terminal raw
    put(
        "d7/R27-escapes.json",
        report(lambda d: (d["site"].update(name=ESCAPES), d["results"][0].update(detail=ESCAPES))),
    )
    put("d7/P16-escapes.pins.json", json.dumps(pins(resolved_at="2020-01-01T00:00:00Z" + ESCAPES)))
    # D12: line breaks and '|' that would split the Nagios status line
    put("d12/R26-nagios.json", report(lambda d: d["site"].update(name="kontor\nSECOND|x=1\r")))
    # D14: numbers JSON has no word for, or the schema forbids
    put("d14/R14-runtime-infinity.json", report(lambda d: d.update(runtime_s=float("inf"))))
    put("d14/R15-runtime-negative.json", report(lambda d: d.update(runtime_s=-5)))
    # D17: lenient parsing that changed what was written
    put("d17/S25-lan-zone.toml", SITE.replace('"2001:db8:10::/64"', '"fe80::%lan0/64"'))
    put("d17/P19-ttl-negative.pins.json", json.dumps(pins(ttl=-5)))
    # D19: a target far wider than any screen
    put("d19/R23-long-target.json", report(lambda d: d["results"][0].update(target="a" * 10000)))


if __name__ == "__main__":
    main()
