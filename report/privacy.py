"""Privacy: credentials and captured payloads out of a result document before a report.

Addresses, ports, timings and status codes stay; what a proxy or a server
said (payload bytes, headers, banners) and anything that looks like a
secret (URL user:pass@, Authorization values, password=...) does not.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
OMITTED = "[omitted: payload]"
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|authori[sz]ation|credential|cookie|api[_-]?key"
    r"|^auth$|private[_-]?key",
    re.I,
)
#: evidence keys that hold captured payload bytes or text (beyond addresses, ports, timings)
PAYLOAD_KEYS = {
    "body",
    "payload",
    "raw",
    "data",
    "content",
    "head",
    "text",
    "response",
    "reply",
    "reply_head",
    "status_line",
    "headers",
    "attributes",
    "software",
    "server",
    "via",
    "sample",
    "banner",
    "html",
    "pac_text",
    "script",
}
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization\s*[:=]\s*)(?:(basic|bearer|digest|negotiate|ntlm)\s+)?"
    r"[^\s,;\"']+"
)
_KV_SECRET = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key)(\s*[=:]\s*)[^\s,;&\"']+"
)
#: "user:secret@host" in free text; not our check ids ("dns:NAME@RESOLVER") nor SIP/mail URIs
_BARE_USERINFO = re.compile(
    r"(?<![\w/])(?!(?:dns|sips?|sip-udp|sip-tcp|tel|mailto|tcp|syn|tls|stun|ntp|pac|proxy"
    r"|path|sniff|note):)([\w.%-]+):([^\s@/]+)@(?=[\w.-]+(?::\d+)?\b)"
)


def scrub(text: str) -> str:
    """Credentials out of one string: URL user:pass@, Authorization values, password=..."""
    if not text or not isinstance(text, str):
        return text
    if "@" not in text and ":" not in text and "=" not in text:
        return text  # every pattern below needs one of these: most strings skip the regexes
    text = _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    text = _BARE_USERINFO.sub(REDACTED + "@", text)
    text = _AUTH_HEADER.sub(
        lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + REDACTED, text
    )
    return _KV_SECRET.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)


def redact(value: Any, in_evidence: bool = False) -> Any:
    """A deep copy with secrets redacted and, inside evidence, payload keys omitted."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = str(k)
            if _SECRET_KEY.search(key) and not isinstance(v, bool):
                out[key] = REDACTED
            elif in_evidence and key.lower() in PAYLOAD_KEYS:
                out[key] = OMITTED
            else:
                out[key] = redact(v, in_evidence or key in ("evidence", "fetch"))
        return out
    if isinstance(value, list):
        return [redact(v, in_evidence) for v in value]
    if isinstance(value, str):
        return scrub(value)
    return value
