"""A fault-injecting HTTP proxy for testing served-model adapters against a real server.

It listens on 127.0.0.1 and forwards every request to an upstream server (``transformers serve``,
vLLM, ...), except where its *plan* says to fail instead. The plan is a function of the request's
prompt and of how many times that prompt was seen before, so a test's faults do not depend on the
order in which concurrent requests arrive::

    def plan(path, prompt, attempt):
        if prompt == "Q: What is 7 × 8? A:":
            return Fault.status(500)          # every attempt: the item ends as an error
        if attempt == 0:
            return Fault.status(429, retry_after=0.2)  # first attempt only: retried, then answered
        return None                           # forward

    with FaultProxy(upstream="http://127.0.0.1:8000", plan=plan) as proxy:
        ... point the adapter at proxy.url ...
        proxy.attempts[prompt], proxy.forwarded[prompt]

Faults: ``status`` (an HTTP error, optionally with ``Retry-After`` and a body built from the request
headers), ``drop`` (close the connection without answering), ``slow`` (wait, then forward).
``kill()`` dies as a crashed server does (open connections dropped, new ones refused); a new
``FaultProxy`` on the same ``port`` brings the server back. ``stop()`` shuts it down cleanly.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Callable
from urllib.parse import urlsplit

from oraclebench.testing.loopback import LoopbackServer


@dataclass(frozen=True)
class Fault:
    """What the proxy does instead of (or before) forwarding one request."""

    kind: str  # "status" | "drop" | "slow"
    code: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    body: Callable[[dict], str] | None = None  # request headers (lower-case keys) -> response body

    @classmethod
    def status(cls, code: int, retry_after: float | None = None, body: Callable[[dict], str] | None = None) -> "Fault":
        return cls("status", code=code, retry_after=retry_after, body=body)

    @classmethod
    def drop(cls) -> "Fault":
        return cls("drop")

    @classmethod
    def slow(cls, delay: float) -> "Fault":
        return cls("slow", delay=delay)


Plan = Callable[[str, str, int], "Fault | None"]  # (path, prompt, attempt) -> fault or None to forward


def _prompt_of(body: bytes) -> str:
    """The prompt of a completions or chat request ("" for anything else)."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return ""
    if isinstance(data.get("prompt"), str):
        return data["prompt"]
    messages = data.get("messages") or []
    return "".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))


class FaultProxy:
    """A threaded proxy on 127.0.0.1 with counters; use as a context manager (stops on exit)."""

    def __init__(self, upstream: str, plan: Plan | None = None, port: int = 0, upstream_timeout: float = 120.0):
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.plan: Plan = plan or (lambda path, prompt, attempt: None)
        self.upstream_timeout = upstream_timeout
        self.lock = threading.Lock()
        self.attempts: Counter[str] = Counter()  # prompt -> requests received (POST)
        self.forwarded: Counter[str] = Counter()  # prompt -> requests answered by the upstream
        self.faults: Counter[str] = Counter()  # fault kind -> times injected
        self.in_flight = 0
        self.dead = False
        self.max_in_flight = 0
        self._server = LoopbackServer(("127.0.0.1", port), self._handler_class())
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"faultproxy:{self.port}", daemon=True)
        self._thread.start()

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def kill(self) -> None:
        """Die as a crashed server does: open connections are dropped and new ones refused."""
        self.dead = True
        threading.Thread(target=self.stop, daemon=True).start()  # a handler may call this: don't block it

    def stop(self) -> None:
        """Stop listening: from now on connections to ``port`` are refused."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------------------------ serving
    def _decide(self, path: str, prompt: str) -> Fault | None:
        with self.lock:
            attempt = self.attempts[prompt]
            self.attempts[prompt] += 1
        fault = self.plan(path, prompt, attempt)
        if fault is not None:
            with self.lock:
                self.faults[fault.kind] += 1
        return fault

    def _forward(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=self.upstream_timeout)
        try:
            keep = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection", "content-length")}
            conn.request(method, path, body=body if method == "POST" else None, headers=keep)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders()
                   if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server")]
            return resp.status, out, data
        finally:
            conn.close()

    def _handler_class(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
            disable_nagle_algorithm = True  # headers and body are two writes: see scripted.py

            def log_message(self, *args) -> None:  # quiet: tests read the counters instead
                pass

            def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                prompt = _prompt_of(body) if method == "POST" else ""
                fault = proxy._decide(self.path, prompt) if method == "POST" and not proxy.dead else None
                if proxy.dead or (fault is not None and fault.kind == "drop"):
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if fault is not None and fault.kind == "status":
                    text = fault.body(headers) if fault.body else json.dumps(
                        {"error": {"message": f"injected HTTP {fault.code}", "type": "fault"}})
                    extra = [("Content-Type", "application/json")]
                    if fault.retry_after is not None:
                        extra.append(("Retry-After", f"{fault.retry_after:g}"))
                    self._send(fault.code, extra, text.encode())
                    return
                if fault is not None and fault.kind == "slow":
                    time.sleep(fault.delay)
                with proxy.lock:
                    proxy.in_flight += 1
                    proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
                try:
                    status, out_headers, data = proxy._forward(method, self.path, dict(self.headers.items()), body)
                except OSError as exc:  # upstream gone: answer as a gateway would
                    status, out_headers, data = 502, [("Content-Type", "text/plain")], f"upstream: {exc}".encode()
                finally:
                    with proxy.lock:
                        proxy.in_flight -= 1
                if method == "POST" and status == 200:
                    with proxy.lock:
                        proxy.forwarded[prompt] += 1
                try:
                    self._send(status, out_headers, data)
                except OSError:  # the client gave up (its timeout) while we waited
                    self.close_connection = True

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        return Handler
