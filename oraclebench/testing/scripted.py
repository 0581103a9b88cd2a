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

With ``batching=Batching(size, window, seconds)`` it is a batching server, as vLLM is one, whose batch
a test can watch: the requests that arrive within ``window`` seconds of a batch's first one (at most
``size``) run together for ``seconds``, then each is answered; ``GET /metrics`` gives vLLM's gauges
``vllm:num_requests_running`` (the batch now running) and ``vllm:num_requests_waiting`` (requests
not in it yet) in Prometheus' text format, and ``server.batches`` lists the size of every batch run::

    with ScriptedServer(batching=Batching(size=8, window=0.02, seconds=0.1)) as server: ...
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Callable

from oraclebench.testing.faultproxy import _prompt_of
from oraclebench.testing.loopback import LoopbackServer


@dataclass(frozen=True)
class Batching:
    """How a batching scripted server gathers requests: a batch takes the requests that arrive within
    ``window`` seconds of its first one, at most ``size``, and runs ``seconds`` whatever its size."""

    size: int = 8
    window: float = 0.02
    seconds: float = 0.1


class ScriptedServer:
    """A threaded OpenAI-compatible server; use as a context manager (stops on exit).

    Args:
        answer: prompt -> completion text.
        delay: seconds to wait before answering each request.
        trickle: seconds between bytes of the response body (the headers go out at once), so that
            a client timeout that resets on every byte never fires.
        answer_limit: answer this many requests, then hold every later one until ``release()``.
        model: the one model id ``/v1/models`` lists.
        batching: run requests in batches and serve ``/metrics`` (see ``Batching``); None: each
            request on its own, and no ``/metrics`` (HTTP 404).
    """

    def __init__(self, answer: Callable[[str], str] = lambda prompt: " 1", delay: float = 0.0,
                 trickle: float = 0.0, answer_limit: int | None = None, model: str = "scripted",
                 batching: Batching | None = None):
        self.answer, self.delay, self.trickle, self.model = answer, delay, trickle, model
        self.answer_limit = answer_limit
        self.batching = batching
        self.lock = threading.Lock()
        self.asked: Counter[str] = Counter()  # prompt -> requests received
        self.answered = 0  # responses sent in full
        self.running = 0  # requests in the batch now running (batching only)
        self.waiting = 0  # requests received and not yet in a batch (batching only)
        self.batches: list[int] = []  # the size of every batch run, in order
        self._queue: queue.Queue[threading.Event] = queue.Queue()
        self._released = threading.Event()
        self._stopping = threading.Event()
        self._server = LoopbackServer(("127.0.0.1", 0), self._handler_class())
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads = [threading.Thread(target=self._server.serve_forever, name=f"scripted:{self.port}", daemon=True)]
        if batching is not None:
            self._threads.append(threading.Thread(target=self._schedule, name=f"batches:{self.port}", daemon=True))
        for thread in self._threads:
            thread.start()

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
        for thread in self._threads:
            thread.join(timeout=5)

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

    def _schedule(self) -> None:
        """The batching loop: gather a batch, run it, answer it; until the server stops."""
        while not self._stopping.is_set():
            try:
                batch = [self._queue.get(timeout=0.05)]
            except queue.Empty:
                continue
            deadline = time.monotonic() + self.batching.window
            while len(batch) < self.batching.size:
                try:  # requests already queued join at once; the window bounds the wait for more
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            with self.lock:
                self.waiting -= len(batch)
                self.running = len(batch)
                self.batches.append(len(batch))
            self._stopping.wait(self.batching.seconds)
            with self.lock:
                self.running = 0
            for done in batch:
                done.set()

    def _in_batch(self) -> bool:
        """Queue this request for a batch and wait until its batch has run; False when stopping."""
        done = threading.Event()
        with self.lock:
            self.waiting += 1
        self._queue.put(done)
        while not done.wait(0.05):
            if self._stopping.is_set():
                return False
        return True

    def metrics(self) -> bytes:
        """vLLM's scheduler gauges, in Prometheus' text format as vLLM's ``/metrics`` writes them."""
        labels = f'{{engine="0",model_name="{self.model}"}}'
        with self.lock:
            gauges = {"running": (self.running, "Number of requests in model execution batches."),
                      "waiting": (self.waiting, "Number of requests waiting to be processed.")}
        lines = []
        for name, (value, doc) in gauges.items():
            lines += [f"# HELP vllm:num_requests_{name} {doc}", f"# TYPE vllm:num_requests_{name} gauge",
                      f"vllm:num_requests_{name}{labels} {float(value)}"]
        return ("\n".join(lines) + "\n").encode()

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
            # Headers and body go out as two writes: with Nagle's algorithm the body waits for the
            # client's delayed ACK (40 ms on Linux), a latency no real server has.
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # quiet: tests read the counters instead
                pass

            def _send(self, status: int, body: bytes, trickle: float = 0.0,
                      content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
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
                elif self.path == "/metrics" and server.batching is not None:
                    self._send(200, server.metrics(), content_type="text/plain; version=0.0.4; charset=utf-8")
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
                if server.batching is not None and not server._in_batch():
                    self.close_connection = True
                    return
                if not server._admit():
                    self.close_connection = True
                    return
                try:
                    self._send(200, server._body(self.path, prompt), server.trickle)
                except OSError:  # the client gave up (its deadline) while we trickled
                    self.close_connection = True

        return Handler
