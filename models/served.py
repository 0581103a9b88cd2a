"""Served models: any OpenAI-compatible server, the OpenAI API, and in-process vLLM.

- ``vllm:MODEL@URL``: any OpenAI-compatible server (vLLM, ``transformers serve``, llama.cpp), e.g.
  ``vllm:/ckpt/gpt2-mult@http://127.0.0.1:8000/v1``; ``vllm:URL`` takes the one model the server
  lists. ``/v1/completions`` for base models, ``/v1/chat/completions`` with ``api=chat`` (or when
  the server has no completions route).
- ``openai:MODEL`` (``ft:`` ids too): the OpenAI API; the key comes from ``OPENAI_API_KEY`` and is
  scrubbed from every error text; it is never part of the name, the identity or a record.
- ``vllm-local:PATH``: ``vllm.LLM`` in this process (the optional ``vllm`` extra).

Every request is greedy (temperature 0) with the task's stop strings and token budget; the text the
server returns is kept whole and cut when it is scored (``Task.assess``), because servers differ on
whether they keep the stop string (vLLM drops it, ``transformers serve`` keeps it). A server applies
stop strings from the first character: an answer it returns blank is asked again past its opening
whitespace (``models.base.stops_past_blank``).

Chat APIs get each task's chat form (``Task.chat``): the question as the user message and one
sentence on the answer format as the system message (``chat_prompt=user`` puts it before the
question instead, for servers whose template refuses a system role; ``chat_prompt=raw`` sends the
completion prompt as it is, for a base model behind a chat template), with a budget that leaves
room for prose and no stop strings. Reasoning is never read as the answer: ``reasoning_content`` /
``reasoning`` fields are ignored, and ``<think>...</think>`` blocks are cut from the text. An answer
cut by the budget (finish reason ``length``, or thinking that never closed) is marked truncated:
counted apart, never cached, and asked again with twice the budget up to ``retry_truncated`` times.

Requests go out concurrently, at most ``concurrency`` in flight (default 16), never one by one. A
choice request is scored from log-probabilities (``echo`` + ``logprobs``) where the server gives
them, else by generating an option.

Faults: 429, 5xx, dropped connections and timeouts are retried with exponential back-off and
jitter, honouring ``Retry-After``; after the last retry the item is an error (``Response.error``),
counted apart from wrong answers, and the rest goes on. If many requests in a row cannot reach the
server at all, it is taken as dead: the rest of the batch comes back at once as errors, which the
cache does not keep, so a rerun resumes with exactly the unanswered items.

Options (``--model-opt KEY=VALUE``): api=auto|completions|chat, chat_prompt=system|user|raw,
max_tokens=N (the budget of every answer, instead of the task's), retry_truncated=0 (times a
truncated answer is asked again, each with twice the budget), concurrency=16, timeout=120
(seconds per attempt, wall clock: the whole answer must arrive within it, however the server
trickles it; a request is thus bounded by about (retries + 1) x timeout plus the back-off), retries=5, backoff=0.5 (first wait), max_backoff=30, logprobs=auto|on|off,
probe_timeout=5, breaker=8 (failed requests in a row that mean the server is gone), tag=TEXT (goes
into the cache identity: set it when different weights are served under one name), and for
``openai:`` base_url=URL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import hashlib
import json
import os
import random
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence

from oraclebench.models.base import Adapter, ModelError, describe_exception, stops_past_blank, strip_thinking
from oraclebench.tasks.base import Request, Response

RETRY_AFTER_CAP = 120.0  # seconds: a server asking for longer than this is treated as gone for now
STOP_LIMIT = 4  # the OpenAI API accepts at most 4 stop strings; the rest are cut on our side


@dataclass(frozen=True)
class ServedOptions:
    """The ``--model-opt`` settings of served adapters, typed and checked."""

    api: str = "auto"
    chat_prompt: str = "system"
    max_tokens: int = 0  # 0: the task's budget (with room for prose on chat APIs)
    retry_truncated: int = 0
    concurrency: int = 16
    timeout: float = 120.0
    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    logprobs: str = "auto"
    probe_timeout: float = 5.0
    breaker: int = 8
    tag: str = ""
    base_url: str = ""

    CHOICES = {"api": ("auto", "completions", "chat"), "logprobs": ("auto", "on", "off"),
               "chat_prompt": ("system", "user", "raw")}
    ZERO_OK = ("retries", "backoff", "retry_truncated")

    @classmethod
    def parse(cls, options: dict[str, Any], who: str) -> "ServedOptions":
        """Options from ``--model-opt`` strings; a bad key or value is a one-line ``ModelError``."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in options.items():
            if key not in fields:
                raise ModelError(f"{who}: unknown --model-opt {key!r}; known: {', '.join(sorted(fields))}")
            kind = type(getattr(cls, key))
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                raise ModelError(f"{who}: --model-opt {key}={raw!r} must be a {kind.__name__}") from None
            allowed = cls.CHOICES.get(key)
            if allowed and value not in allowed:
                raise ModelError(f"{who}: --model-opt {key}={raw!r} must be one of {'|'.join(allowed)}")
            if kind in (int, float) and (value < 0 or (value == 0 and key not in cls.ZERO_OK)):
                raise ModelError(f"{who}: --model-opt {key}={raw!r} must be positive")
            values[key] = value
        return cls(**values)


def scrub(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` without API keys: the given secrets, ``sk-...`` tokens and bearer credentials."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = re.sub(r"sk-[A-Za-z0-9_\-*.]{3,}", "sk-***", text)  # OpenAI echoes masked keys; hide even those
    return re.sub(r"(?i)(bearer\s+)[^\s\"',}]+", r"\1***", text)


class GaveUp(Exception):
    """A request failed for good (after its retries, or at once for a client error such as HTTP 400)."""


class NoLogprobs(Exception):
    """The server answered a scoring request without log-probabilities."""


def _retry_after(exc: Exception) -> float | None:
    """Seconds from a ``Retry-After`` (or ``retry-after-ms``) header, if the error carries one."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    if headers.get("retry-after-ms"):
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        date = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, date.timestamp() - time.time()) if date else None


def _classify(exc: Exception, url: str) -> tuple[bool, str]:
    """(worth retrying, one-line description) for an exception from the ``openai`` client."""
    import openai

    if isinstance(exc, (openai.APITimeoutError, asyncio.TimeoutError)):
        return True, f"timed out waiting for {url}"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return True, f"cannot reach {url}: {type(cause).__name__}: {cause}".rstrip(": ")
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        message = exc.message if len(exc.message) < 300 else exc.message[:300] + " ..."
        return code in (408, 409, 429) or code >= 500, f"HTTP {code} from {url}: {message}"
    return False, describe_exception(exc)


def _route_missing(exc: Exception) -> bool:
    """A 404/405 for the endpoint itself (no completions route), not for an unknown model."""
    code = getattr(exc, "status_code", None)
    text = str(getattr(exc, "message", exc)).lower()
    return code in (404, 405) and "model" not in text


def run_sync(coro: Awaitable) -> Any:
    """Run a coroutine to completion from synchronous code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:  # a notebook's loop is running: use a private loop in a thread
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class OpenAICompatible(Adapter):
    """Shared engine of ``vllm:`` and ``openai:``: concurrency, retries, probing, logprob choices."""

    prefix = "vllm"
    key_env = "VLLM_API_KEY"  # where the API key comes from (vLLM's `--api-key`; usually none)
    # Said once a run replays cached answers (oraclebench.runner): nothing a server tells identifies the
    # weights behind a name (`vllm serve ./ckpt` names a path, whatever was trained into it since).
    cache_caveat = ("a server's weights cannot be checked, so answers cached under this model name and tag "
                    "are reused; if the served weights changed since, rerun with --model-opt tag=NEW or --no-cache")

    def __init__(self, name: str, model: str, base_url: str, opts: ServedOptions, api_key: str = ""):
        self.name = name
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.opts = opts
        self._key = api_key
        self._api = "completions" if opts.api == "auto" else opts.api
        self._logprobs_ok: bool | None = {"on": True, "off": False}.get(opts.logprobs)
        self._down: str | None = None  # why the server is taken as gone, until a probe says otherwise
        self._failed_in_a_row = 0
        self._sem: asyncio.Semaphore | None = None
        self.in_flight = 0  # requests in their HTTP call right now (scripts/bench_served.py samples it)
        listed = self.probe()
        self.model = self.model or self._only_model(listed)
        self.root = next((str(m.get("root") or "") for m in listed if m.get("id") == self.model), "")

    # ------------------------------------------------------------------------------- identity
    def identity(self) -> str:
        # The URL is left out on purpose: the same weights behind another port answer the same, and a
        # server restarted elsewhere must still find its cached answers. The tag tells weights apart.
        parts = [f"{self.prefix}:{self.model}", f"api={self.opts.api}", f"logprobs={self.opts.logprobs}"]
        if self.root and self.root != self.model:
            parts.append(f"root={self.root}")
        if self.opts.tag:
            parts.append(f"tag={self.opts.tag}")
        # Options that change answers, named only when set so that existing caches keep their keys.
        for key, default in (("chat_prompt", "system"), ("max_tokens", 0), ("retry_truncated", 0)):
            if getattr(self.opts, key) != default:
                parts.append(f"{key}={getattr(self.opts, key)}")
        return "|".join(parts)

    # ------------------------------------------------------------------------------- probing
    def _get(self, url: str) -> bytes:
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self._key}"} if self._key else {})
        with urllib.request.urlopen(req, timeout=self.opts.probe_timeout) as resp:
            return resp.read()

    def probe(self) -> list[dict]:
        """The served models (``GET /models``, else ``/health``); a server not there is a ``ModelError``."""
        gone = (f"no server answers at {self.base_url} ({{reason}}); start it (vllm serve MODEL --port N, or "
                f"transformers serve PATH --port N) or fix the URL")
        try:
            data = json.loads(self._get(f"{self.base_url}/models") or b"{}")
            return [m for m in data.get("data") or [] if isinstance(m, dict)]
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise ModelError(f"the server at {self.base_url} refused the API key (HTTP {exc.code}); "
                                 f"check {self.key_env}") from None
            status = f"HTTP {exc.code}"
        except (ValueError, AttributeError):
            status = "no JSON model list"
        except (urllib.error.URLError, OSError) as exc:
            raise ModelError(scrub(gone.format(reason=getattr(exc, "reason", None) or exc), [self._key])) from None
        # /models can fail where generation works (transformers serve without a hub cache): ask /health.
        root = re.sub(r"/v\d+$", "", self.base_url)
        try:
            self._get(f"{root}/health")
            return []
        except urllib.error.HTTPError as exc:
            raise ModelError(f"the server at {self.base_url} is not healthy: /models gave {status}, "
                             f"/health HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ModelError(scrub(gone.format(reason=getattr(exc, "reason", None) or exc), [self._key])) from None

    def _only_model(self, listed: list[dict]) -> str:
        ids = [str(m.get("id")) for m in listed if m.get("id")]
        if len(ids) != 1:
            raise ModelError(f"the server at {self.base_url} lists {len(ids)} models ({', '.join(ids) or 'none'}); "
                             f"name one: {self.prefix}:MODEL@{self.base_url}")
        return ids[0]

    # ------------------------------------------------------------------------------- batches
    def complete(self, requests: Sequence[Request]) -> list[Response]:
        return self._batch(self._complete_one, requests)

    def choose(self, requests: Sequence[Request]) -> list[Response]:
        """Log-probability scoring where the server gives it; else generate an option (``Adapter``)."""
        if self._api == "chat" or self._logprobs_ok is False or not requests:
            return super().choose(requests)
        if self._logprobs_ok is True:
            return self._batch(self._choose_one, requests)
        # Not known yet: a pilot request finds out whether this server gives log-probabilities, so one
        # run never mixes the two ways of answering.
        out = self._batch(self._choose_one, requests[:1])
        if self._logprobs_ok is None:  # the pilot failed for another reason: let the rest find out
            out += self._batch(self._choose_one, requests[1:])
        elif self._logprobs_ok is True:
            return out + self._batch(self._choose_one, requests[1:])
        return out if self._logprobs_ok else super().choose(requests)

    def _batch(self, one: Callable, requests: Sequence[Request]) -> list[Response]:
        """Answer ``requests`` concurrently with ``one(client, request)``, in the input order."""
        if not requests:
            return []
        if self._down is not None:
            try:  # the server was gone at the end of the last batch: back yet?
                self.probe()
                self._down, self._failed_in_a_row = None, 0
            except ModelError as exc:
                return [Response(error=f"not sent: {exc}") for _ in requests]

        async def main() -> list[Response]:
            import openai

            self._sem = asyncio.Semaphore(self.opts.concurrency)
            async with openai.AsyncOpenAI(base_url=self.base_url, api_key=self._key or "EMPTY", max_retries=0,
                                          timeout=self.opts.timeout) as client:
                return list(await asyncio.gather(*(one(client, r) for r in requests)))

        return run_sync(main())

    async def _retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """``call()`` with at most ``concurrency`` in flight, retried on transient failures."""
        for attempt in range(self.opts.retries + 1):
            if self._down is not None:
                raise GaveUp(f"not sent: {self._down}")
            try:
                async with self._sem:
                    self.in_flight += 1
                    try:
                        # A total deadline per attempt: the client's own timeout restarts on every byte,
                        # so a server trickling its answer would outlive it.
                        result = await asyncio.wait_for(call(), self.opts.timeout)
                    finally:
                        self.in_flight -= 1
                self._failed_in_a_row = 0
                return result
            except (GaveUp, NoLogprobs, ModelError):
                raise
            except Exception as exc:  # noqa: BLE001 - classified below; anything unknown is final
                transient, message = _classify(exc, self.base_url)
                if message.startswith("timed out"):
                    message = (f"no complete answer from {self.base_url} within {self.opts.timeout:g} s "
                               f"(--model-opt timeout={self.opts.timeout:g})")
                message = scrub(message, [self._key])
                if not transient or attempt == self.opts.retries:
                    if transient:
                        message += f" (gave up after {attempt + 1} attempts)"
                        self._note_failure(message)
                    raise GaveUp(message) from None
                wait = _retry_after(exc)
                if wait is None:  # exponential back-off with equal jitter: spreads a burst of retries
                    step = min(self.opts.max_backoff, self.opts.backoff * 2**attempt)
                    wait = step / 2 + random.uniform(0, step / 2)
                if wait > RETRY_AFTER_CAP:
                    self._note_failure(message)
                    raise GaveUp(f"{message} (the server asks to wait {wait:.0f} s)") from None
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def _note_failure(self, message: str) -> None:
        self._failed_in_a_row += 1
        if self._failed_in_a_row >= self.opts.breaker and self._down is None:
            self._down = (f"the server at {self.base_url} failed {self._failed_in_a_row} requests in a row "
                          f"(last: {message}); rerun to resume")

    # ------------------------------------------------------------------------------- one request
    async def _complete_one(self, client, req: Request) -> Response:
        t0 = time.perf_counter()
        try:
            for attempt in range(self.opts.retry_truncated + 1):  # each retry doubles the budget
                text, stop, truncated, written, chat = await self._retrying(
                    lambda k=attempt: self._generate(client, req, 2**k))
                again = stops_past_blank(text, stop)
                if again is not None and not truncated:  # a stop string matched inside the opening whitespace
                    text, _, truncated, written, chat = await self._retrying(
                        lambda k=attempt: self._generate(client, req, 2**k, again))
                if not truncated:
                    break
        except GaveUp as exc:
            return Response(error=str(exc), latency=time.perf_counter() - t0)
        # Kept whole; the scoring cut uses ``stop`` where it is not the request's own (the chat form's).
        response = Response(text=text, truncated=truncated, stop=None if tuple(stop) == tuple(req.stop) else tuple(stop),
                            latency=time.perf_counter() - t0, written=written, chat=chat)
        self.answered(req, response)  # committed now, not when the whole batch is done
        return response

    def _chat_form(self, req: Request) -> bool:
        """Whether a chat API gets the task's chat form of ``req`` (else its completion prompt)."""
        return req.chat is not None and self.opts.chat_prompt != "raw"

    def _budget(self, req: Request, chat_form: bool) -> int:
        if self.opts.max_tokens:
            return self.opts.max_tokens
        return req.chat.max_tokens if chat_form else req.max_tokens

    def _messages(self, req: Request) -> list[dict]:
        if not self._chat_form(req):
            return [{"role": "user", "content": req.prompt}]
        if self.opts.chat_prompt == "user":
            return [{"role": "user", "content": f"{req.chat.instruction}\n\n{req.chat.user}"}]
        return [{"role": "system", "content": req.chat.instruction}, {"role": "user", "content": req.chat.user}]

    async def _generate(self, client, req: Request, scale: int = 1,
                        send_stop: Sequence[str] | None = None) -> tuple[str, tuple[str, ...], bool, str | None, bool]:
        """``_answer``'s (answer text, the stop strings it is to be cut at, truncated, whole text, chat form) for
        one generation request, with ``scale`` times the budget; ``send_stop``: other stop strings to send the server (the
        second request of ``stops_past_blank``). Thinking is taken out of the text here, before any
        stop string is looked for: a stop string inside the thinking must not end the answer."""
        if self._api == "completions":
            import openai

            try:
                params = self._params(req.stop if send_stop is None else send_stop, self._budget(req, False) * scale,
                                      "max_tokens")
                out = await client.completions.create(prompt=req.prompt, **params)
            except openai.NotFoundError as exc:
                if self.opts.api != "auto" or not _route_missing(exc):
                    raise
                self._api = "chat"  # the server has no completions endpoint: a chat-only server
            else:
                choice = _only_choice(out.choices, self.base_url, lambda c: c.text)
                _some_text(choice.text, choice.finish_reason, self.base_url)
                return _answer(choice.text, choice.finish_reason, req.stop)
        chat_form = self._chat_form(req)
        stop = req.chat.stop if chat_form else req.stop
        params = self._params(stop if send_stop is None else send_stop, self._budget(req, chat_form) * scale,
                              self._chat_budget_field())
        out = await client.chat.completions.create(messages=self._messages(req), **params)
        choice = _only_choice(out.choices, self.base_url, lambda c: c.message.content)
        if not getattr(choice.message, "refusal", None):  # a refusal (content null) is the model's answer: none
            _some_text(choice.message.content, choice.finish_reason, self.base_url)
        # Only ``content`` is the answer: ``reasoning_content``/``reasoning`` (vLLM, DeepSeek) are not read.
        return _answer(choice.message.content, choice.finish_reason, stop, chat_form)

    def _params(self, stop: Sequence[str], budget: int, budget_field: str) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model, "temperature": 0, budget_field: budget}
        if stop:
            params["stop"] = list(stop[:STOP_LIMIT])
        return params

    def _chat_budget_field(self) -> str:
        return "max_tokens"

    async def _choose_one(self, client, req: Request) -> Response:
        t0 = time.perf_counter()
        try:
            scores = await asyncio.gather(*(self._retrying(lambda c=c: self._logprob(client, req.prompt, c))
                                            for c in req.choices))
        except NoLogprobs as exc:
            if self.opts.logprobs == "auto" and self._logprobs_ok is None:  # only a pilot decides
                self._logprobs_ok = False
            return Response(error=f"no log-probabilities from {self.base_url}: {exc}", latency=time.perf_counter() - t0)
        except GaveUp as exc:
            return Response(error=str(exc), latency=time.perf_counter() - t0)
        if self._logprobs_ok is None:
            self._logprobs_ok = True
        best = max(range(len(scores)), key=lambda k: scores[k])
        response = Response(text=req.choices[best], choice=best, scores=list(scores), latency=time.perf_counter() - t0)
        self.answered(req, response)
        return response

    async def _logprob(self, client, prompt: str, continuation: str) -> float:
        """log P(continuation | prompt): the echoed prompt's token log-probabilities past ``prompt``."""
        import openai

        text = prompt + continuation
        try:
            out = await client.completions.create(model=self.model, prompt=text, max_tokens=1, temperature=0,
                                                  echo=True, logprobs=1)
        except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            raise NoLogprobs(scrub(str(getattr(exc, "message", exc)), [self._key])) from None
        except openai.NotFoundError as exc:
            if self.opts.api != "auto" or not _route_missing(exc):
                raise
            self._api = "chat"  # a chat-only server: choices are generated, in the chat form
            raise NoLogprobs(f"no completions endpoint at {self.base_url}") from None
        lp = out.choices[0].logprobs if out.choices else None
        return continuation_logprob(len(prompt), len(text), getattr(lp, "text_offset", None) or [],
                                    getattr(lp, "token_logprobs", None) or [])


def _some_text(text: str | None, finish_reason: str | None, url: str) -> None:
    """Raises ValueError (the request is an error, counted apart and never cached) where a finished answer has
    no text at all (``null``, not ``""``): a broken response, as one with no choices is. It was read as an
    empty answer, scored no answer and cached. A budget spent before any text (``length``: a reasoning
    model's thinking) stays a truncated answer."""
    if text is None and finish_reason != "length":
        raise ValueError(f"{url} returned a choice with no text (null, finish reason {finish_reason!r})")


def _only_choice(choices: Sequence[Any] | None, url: str, text: Callable[[Any], Any]) -> Any:
    """The one choice of a response to a request for one (``n`` is never sent: the API's default, 1).

    Raises ValueError (the request is an error, counted apart from a wrong answer) when there is none,
    or when a server that ignores ``n`` returns several that differ: which one is the answer cannot
    be told, and taking the first would score an answer the server may not have meant. Several
    identical ones are that one answer."""
    if not choices:
        raise ValueError(f"{url} returned no choices")
    if len({repr(text(c)) for c in choices}) > 1:
        raise ValueError(f"{url} returned {len(choices)} different choices for a request of one; "
                         f"cannot tell which is the answer (does the server ignore n=1?)")
    return choices[0]


def _answer(text: str | None, finish_reason: str | None, stop: Sequence[str],
            chat: bool = False) -> tuple[str, tuple[str, ...], bool, str | None, bool]:
    """(the answer without its thinking, stop strings, truncated, the whole text where thinking was taken
    out of it, else None, ``chat``: whether it answers the task's chat form) from one generated text."""
    answer, unfinished = strip_thinking(text or "")
    return (answer, tuple(stop), finish_reason == "length" or unfinished, (text if answer != (text or "") else None),
            chat)


def continuation_logprob(prompt_chars: int, text_chars: int, offsets: Sequence[int],
                         values: Sequence[float | None]) -> float:
    """The summed log-probability of the tokens of an echoed ``prompt + continuation`` that reach past
    the prompt (character offsets, as vLLM's completions ``logprobs`` give them). A token that
    straddles the boundary counts for the continuation; the generated token (from ``text_chars``
    on) does not. ``NoLogprobs`` if the server gave none.
    """
    if not offsets or len(offsets) != len(values):
        raise NoLogprobs("the answer has no echoed token log-probabilities")
    ends = list(offsets[1:]) + [text_chars + 1]
    picked = [v for off, end, v in zip(offsets, ends, values) if end > prompt_chars and off < text_chars]
    if not picked or any(v is None for v in picked):
        raise NoLogprobs("no log-probability for the continuation's tokens")
    return float(sum(picked))


def _split_spec(spec: str) -> tuple[str, str]:
    """``MODEL@http://host:port/v1`` -> (MODEL, URL); a bare URL gives an empty model (ask the server)."""
    m = re.fullmatch(r"(?:(.*)@)?(https?://\S+)", spec)
    if not m:
        raise ModelError(f"vllm:{spec}: write vllm:MODEL@http://HOST:PORT/v1 (or vllm:http://HOST:PORT/v1 "
                         f"for the one model the server lists)")
    url = m.group(2).rstrip("/")
    if not re.search(r"https?://[^/]+/.+", url):
        url += "/v1"  # the OpenAI-compatible API lives under /v1 unless the URL names a path
    return m.group(1) or "", url


class ServedModel(OpenAICompatible):
    """``vllm:MODEL@URL``: any OpenAI-compatible server."""

    def __init__(self, spec: str, options: dict | None = None):
        model, url = _split_spec(spec)
        opts = ServedOptions.parse(options or {}, f"vllm:{spec}")
        if opts.base_url:
            raise ModelError(f"vllm:{spec}: the URL goes in the name (vllm:MODEL@URL), not in base_url")
        super().__init__(f"vllm:{spec}", model, url, opts, api_key=os.environ.get(self.key_env, "").strip())


# OpenAI models still served on the legacy completions endpoint (base models and their fine-tunes).
OPENAI_COMPLETION_MODELS = re.compile(r"^(ft:)?(davinci-002|babbage-002|gpt-3\.5-turbo-instruct)\b")


class OpenAIModel(OpenAICompatible):
    """``openai:MODEL``: the OpenAI API (or ``base_url=``), key from ``OPENAI_API_KEY``."""

    prefix = "openai"
    key_env = "OPENAI_API_KEY"

    def __init__(self, spec: str, options: dict | None = None):
        key = os.environ.get(self.key_env, "").strip()
        if not key:
            raise ModelError(f"openai:{spec} needs an API key: set {self.key_env} (it is never stored in results)")
        opts = ServedOptions.parse(options or {}, f"openai:{spec}")
        if opts.api == "auto":
            opts = dataclasses.replace(opts, api="completions" if OPENAI_COMPLETION_MODELS.match(spec) else "chat")
        url = opts.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        super().__init__(f"openai:{spec}", spec, url, opts, api_key=key)

    def _chat_budget_field(self) -> str:
        return "max_completion_tokens"  # the chat API's current name; reasoning models refuse max_tokens


class VLLMLocalModel(Adapter):
    """``vllm-local:PATH``: batch generation with ``vllm.LLM`` in this process (needs a GPU and vllm).

    Options: dtype, tensor_parallel_size, gpu_memory_utilization, max_model_len. Choices are
    answered by generating an option (``Adapter.choose``).
    """

    KNOWN = {"dtype": str, "tensor_parallel_size": int, "gpu_memory_utilization": float, "max_model_len": int}

    def __init__(self, spec: str, options: dict | None = None):
        try:
            import vllm
        except ImportError:
            from oraclebench.extras import hint

            raise ModelError(hint("vllm-local:", "vllm", "vllm")) from None
        path = Path(spec).expanduser()
        if not path.is_dir():
            raise ModelError(f"vllm-local:{spec}: no checkpoint folder at {path}")
        kwargs = {}
        for key, raw in (options or {}).items():
            if key not in self.KNOWN:
                raise ModelError(f"vllm-local: unknown --model-opt {key!r}; known: {', '.join(sorted(self.KNOWN))}")
            kwargs[key] = self.KNOWN[key](raw)
        self.name = f"vllm-local:{spec}"
        self.path = path.resolve()
        self._vllm = vllm
        self.llm = vllm.LLM(model=str(self.path), seed=0, **kwargs)
        self._options = kwargs

    def identity(self) -> str:
        # Names, sizes and times of the weight files: cheap, and changes whenever the weights do.
        files = sorted(p for p in self.path.iterdir() if p.suffix in (".safetensors", ".bin", ".json"))
        stamp = hashlib.sha256(json.dumps([(p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in files]).encode())
        return f"vllm-local:{self.path}|{stamp.hexdigest()[:16]}|{json.dumps(self._options, sort_keys=True)}"

    def complete(self, requests: Sequence[Request]) -> list[Response]:
        params = [self._vllm.SamplingParams(temperature=0, max_tokens=r.max_tokens, stop=list(r.stop) or None)
                  for r in requests]
        texts = [o.outputs[0].text for o in self.llm.generate([r.prompt for r in requests], params, use_tqdm=False)]
        again = [(i, stops) for i, (t, r) in enumerate(zip(texts, requests))
                 if (stops := stops_past_blank(t, r.stop)) is not None]
        if again:  # a stop string matched inside the opening whitespace: generate past it
            params = [self._vllm.SamplingParams(temperature=0, max_tokens=requests[i].max_tokens,
                                                stop=list(stops) or None) for i, stops in again]
            outputs = self.llm.generate([requests[i].prompt for i, _ in again], params, use_tqdm=False)
            for (i, _), o in zip(again, outputs):
                texts[i] = o.outputs[0].text
        return [Response(text=t) for t in texts]
