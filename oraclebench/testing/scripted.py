"""A scripted OpenAI-compatible server on 127.0.0.1: answers chosen by the test, at the pace the test sets.

Where ``transformers serve`` answers what a real model says, this server answers what a test needs
to see: slow answers, a trickle of one byte at a time, or a server that stops answering after N
requests (to kill a client mid-run at a known point)::

    with ScriptedServer(answer=lambda prompt: " 42", delay=0.05, answer_limit=30) as server:
        load_model(f"vllm:m@{server.url}/v1") ...
        server.wait_answered(30)          # the 31st request hangs until release() or stop()
        server.asked[prompt], server.answered

It speaks ``GET /v1/models``, ``GET /health``, ``POST /v1/completions`` and
``POST /v1/chat/completions`` (non-streaming), enough for the ``vllm:`` and ``openai:`` adapters.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from oraclebench.testing.faultproxy import _prompt_of


class ScriptedServer:
    """A threaded OpenAI-compatible server; use as a context manager (stops on exit).

    Args:
        answer: prompt -> completion text.
        delay: seconds to wait before answering each request.
        trickle: seconds between bytes of the response body (the headers go out at once), so that
            a client timeout that resets on every byte never fires.
        answer_limit: answer this many requests, then hold every later one until ``release()``.
        model: the one model id ``/v1/models`` lists.
    """

    def __init__(self, answer: Callable[[str], str] = lambda prompt: " 1", delay: float = 0.0,
                 trickle: float = 0.0, answer_limit: int | None = None, model: str = "scripted"):
        self.answer, self.delay, self.trickle, self.model = answer, delay, trickle, model
        self.answer_limit = answer_limit
        self.lock = threading.Lock()
        self.asked: Counter[str] = Counter()  # prompt -> requests received
        self.answered = 0  # responses sent in full
        self._released = threading.Event()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"scripted:{self.port}", daemon=True)
        self._thread.start()

    def __enter__(self) -> "ScriptedServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def release(self) -> None:
        """Answer the held requests and every later one."""
        self._released.set()

    def stop(self) -> None:
        self._stopping.set()
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait_answered(self, n: int, timeout: float = 60.0) -> None:
        """Block until ``n`` responses went out in full; ``TimeoutError`` if not within ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.answered < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the scripted server answered {self.answered} of {n} requests in {timeout} s")
            time.sleep(0.01)

    def _admit(self) -> bool:
        """Wait for the right to answer (``answer_limit``); False when the server is stopping."""
        with self.lock:
            if self.answer_limit is None or self.answered < self.answer_limit:
                self.answered += 1  # counted as it is admitted, so concurrent requests cannot overshoot
                return True
        while not self._released.wait(0.05):
            if self._stopping.is_set():
                return False
        with self.lock:
            self.answered += 1
        return not self._stopping.is_set()

    def _body(self, path: str, prompt: str) -> bytes:
        text = self.answer(prompt)
        common = {"id": "cmpl-scripted", "created": 0, "model": self.model,
                  "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        if path.endswith("/chat/completions"):
            choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            return json.dumps({**common, "object": "chat.completion", "choices": [choice]}).encode()
        choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
        return json.dumps({**common, "object": "text_completion", "choices": [choice]}).encode()

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: tests read the counters instead
                pass

            def _send(self, status: int, body: bytes, trickle: float = 0.0) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not trickle:
                    self.wfile.write(body)
                    return
                for i in range(len(body)):
                    if server._stopping.is_set():
                        return
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(trickle)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    data = {"object": "list", "data": [{"id": server.model, "object": "model", "root": server.model}]}
                    self._send(200, json.dumps(data).encode())
                elif self.path.rstrip("/").endswith("/health"):
                    self._send(200, b"{}")
                else:
                    self._send(404, b'{"error": {"message": "no such route"}}')

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                prompt = _prompt_of(body)
                with server.lock:
                    server.asked[prompt] += 1
                if not self.path.rstrip("/").endswith("completions"):
                    self._send(404, b'{"error": {"message": "no such route"}}')
                    return
                if server.delay:
                    time.sleep(server.delay)
                if not server._admit():
                    self.close_connection = True
                    return
                try:
                    self._send(200, server._body(self.path, prompt), server.trickle)
                except OSError:  # the client gave up (its deadline) while we trickled
                    self.close_connection = True

        return Handler
