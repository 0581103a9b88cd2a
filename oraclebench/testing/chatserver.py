"""A scripted OpenAI-compatible chat server on 127.0.0.1: chat and reasoning behaviours on demand.

``transformers serve`` with a tiny local model cannot act as a chat model that answers in prose, nor
as a reasoning model that thinks before it answers. This server answers ``/v1/chat/completions``
with what a *script* says, and applies the request's token budget as a real server does: thinking
spends the budget first, and an answer cut by it ends with the finish reason ``length``::

    def script(messages):                      # the request's messages -> what the model "writes"
        return Reply("The correct answer is candidate 2.", thinking="Candidate 1 adds wrong.",
                     thinking_in="reasoning_content")

    with ChatServer(script, model="chat") as server:
        load_model(f"vllm:chat@{server.url}/v1")
        server.requests                        # every request body received, in order

A token here is a word with the space before it (``"The", " correct", ...``). ``thinking_in`` says
where the thinking goes: ``reasoning_content`` or ``reasoning`` (message fields, as vLLM's reasoning
parsers and DeepSeek's API give it), ``content`` (a ``<think>...</think>`` block before the answer,
as a server without a reasoning parser gives it), or nowhere (``""``). The server has no
``/v1/completions`` route (HTTP 404), as a chat-only deployment has none.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Callable

from oraclebench.testing.loopback import LoopbackServer

DEFAULT_BUDGET = 100_000  # tokens when a request sets none, as the OpenAI API's "up to the context"


@dataclass(frozen=True)
class Reply:
    """What the scripted model writes for one request, before the budget is applied."""

    answer: str
    thinking: str = ""
    thinking_in: str = ""  # "" | "reasoning_content" | "reasoning" | "content"
    others: tuple[str, ...] = ()  # more choices after the first, as a server that ignores n=1 returns


Script = Callable[[list[dict]], Reply]


def tokens(text: str) -> list[str]:
    """The server's tokens: each word with the whitespace before it (they join back to ``text``)."""
    return re.findall(r"\s*\S+", text) or ([text] if text else [])


def take(text: str, budget: int) -> tuple[str, int, bool]:
    """(the first ``budget`` tokens of ``text``, tokens used, whether it was cut)."""
    parts = tokens(text)
    return "".join(parts[:budget]), min(budget, len(parts)), len(parts) > budget


def respond(reply: Reply, budget: int, stop: list[str]) -> tuple[dict, str]:
    """(the message, the finish reason) that ``reply`` becomes under ``budget`` tokens."""
    if reply.thinking_in == "content":
        text, _, cut = take(f"<think>{reply.thinking}</think>\n\n{reply.answer}", budget)
        return {"role": "assistant", "content": _stopped(text, stop)}, "length" if cut else "stop"
    thought, used, cut = take(reply.thinking, budget) if reply.thinking_in else ("", 0, False)
    message: dict = {"role": "assistant", "content": None}
    if reply.thinking_in:
        message[reply.thinking_in] = thought
    if cut:
        return message, "length"  # the budget ran out while thinking: no answer at all
    text, _, cut = take(reply.answer, budget - used)
    message["content"] = _stopped(text, stop)
    return message, "length" if cut else "stop"


def _stopped(text: str, stop: list[str]) -> str:
    ends = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return text[:min(ends)] if ends else text


class _Quiet(LoopbackServer):

    def handle_error(self, request, client_address) -> None:  # a client closing its keep-alive socket
        pass


class ChatServer:
    """The server, threaded, on a free port of 127.0.0.1; a context manager that stops it on exit."""

    def __init__(self, script: Script, model: str = "chat", port: int = 0):
        self.script = script
        self.model = model
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self._server = _Quiet(("127.0.0.1", port), self._handler_class())
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"chatserver:{self.port}", daemon=True)
        self._thread.start()

    def __enter__(self) -> "ChatServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def answer(self, body: dict) -> dict:
        """The chat completion for one request body."""
        budget = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_BUDGET
        stop = body.get("stop") or []
        reply = self.script(body.get("messages") or [])
        message, finish = respond(reply, int(budget), [stop] if isinstance(stop, str) else list(stop))
        choices = [{"index": 0, "message": message, "finish_reason": finish}]
        choices += [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    for i, text in enumerate(reply.others, 1)]
        return {"id": f"chatcmpl-{time.monotonic_ns()}", "object": "chat.completion", "created": int(time.time()),
                "model": self.model, "choices": choices,
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: see scripted.py

            def log_message(self, *args) -> None:  # quiet: tests read ``server.requests`` instead
                pass

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
                elif self.path == "/health":
                    self._send(200, {})
                else:
                    self._send(404, {"error": {"message": "Not Found"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "Not Found"}})  # no completions route
                    return
                with server.lock:
                    server.requests.append(body)
                try:
                    self._send(200, server.answer(body))
                except Exception as exc:  # noqa: BLE001 - a script's fault is the test's 500, not a hang
                    self._send(500, {"error": {"message": f"{type(exc).__name__}: {exc}"}})

        return Handler
