"""``serve``'s HTTP endpoints, on the standard library's threading HTTP server.

``/metrics`` and ``/healthz`` answer from what the last run left; ``/`` and
``/report.json`` from the last run and the history; ``/probe?service=S`` asks
the probe loop (on its asyncio loop) to run one service. Work that sends
packets (``/probe``) needs the configured token (``Authorization: Bearer``)
when one is configured, and is refused outright on an address beyond
loopback without one.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from nhn_appliance.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from nhn_appliance.serve import Appliance

log = logging.getLogger("nhn_appliance.serve")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: Appliance


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "nhn-appliance"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass  # requests are not worth a journal line each; errors are logged where they happen

    def _send(self, code: int, body: str, ctype: str = "text/plain; charset=utf-8") -> None:
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if ctype.startswith("text/html"):
            # the page is whole in itself: nothing may load from elsewhere
            self.send_header(
                "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            )
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        app = self.server.app
        url = urlsplit(self.path)
        try:
            if url.path == "/metrics":
                self._send(200, app.metrics_text, CONTENT_TYPE)
            elif url.path == "/healthz":
                self._healthz()
            elif url.path == "/report.json":
                if app.latest is None:
                    self._send(503, "no probe run yet\n")
                else:
                    from nhn_appliance.report.json_report import render

                    self._send(200, render(app.latest.report), "application/json")
            elif url.path == "/probe":
                self._probe(parse_qs(url.query).get("service", [""])[0])
            elif url.path == "/":
                from nhn_appliance.status_page import page

                self._send(200, page(app), "text/html; charset=utf-8")
            else:
                self._send(
                    404, "not found: /, /metrics, /probe?service=S, /report.json, /healthz\n"
                )
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:
            log.exception("GET %s failed", url.path)
            self._send(500, "internal error (see the journal)\n")

    def _healthz(self) -> None:
        app = self.server.app
        body = {
            "status": "ok",
            "site": app.snapshot.site,
            "runs": app.snapshot.runs_total,
            "last_run_ended": app.snapshot.run_ended or None,
            "interval_s": app.config.interval_s,
        }
        self._send(200, json.dumps(body) + "\n", "application/json")

    def _probe(self, service: str) -> None:
        app = self.server.app
        token = app.config.token
        if not token and not app.config.loopback:
            self._send(
                403, "/probe needs a token when serve listens beyond loopback (token_file)\n"
            )
            return
        if token:
            given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                self._send(401, "/probe needs 'Authorization: Bearer TOKEN'\n")
                return
        if not service:
            self._send(400, "give ?service=NAME\n")
            return
        assert app.loop is not None
        future = asyncio.run_coroutine_threadsafe(app.probe(service), app.loop)
        deadline = app.inputs.site.probe.deadline + 10
        try:
            code, body = future.result(timeout=deadline)
        except Exception as exc:  # stopped meanwhile, or the run failed
            future.cancel()
            self._send(503, f"the probe did not finish: {type(exc).__name__}\n")
            return
        retry = {"Retry-After": "10"} if code in (429, 503) else {}
        if retry:
            self.send_response(code)
            data = body.encode()
            self.send_header("Retry-After", retry["Retry-After"])
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._send(code, body, CONTENT_TYPE if code == 200 else "text/plain; charset=utf-8")


class HttpServer:
    """The server on a socket bound beforehand (a port in use was already exit 2)."""

    def __init__(self, sock: socket.socket, app: Appliance) -> None:
        self.httpd = _Server(sock.getsockname()[:2], _Handler, bind_and_activate=False)
        self.httpd.socket.close()  # a socket of the default family, never bound
        self.httpd.socket = sock
        self.httpd.app = app
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        began = time.monotonic()
        if self.thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=1)
        log.info("http stopped in %.2f s", time.monotonic() - began)
