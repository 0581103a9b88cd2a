"""The one protocol every model adapter implements, batch-first by signature.

An adapter answers a whole list of ``Request`` in one call and returns one ``Response`` per request,
in the input order (lm-evaluation-harness's ``LM`` contract). Generation and choice requests may be
mixed in one list; ``Adapter`` splits them and routes each kind to ``complete`` or ``choose``.

>>> class Echo(Adapter):
...     name = "echo"
...     def complete(self, requests):
...         return [Response(text=r.prompt) for r in requests]
>>> Echo().generate([Request("hi")])[0].text
'hi'
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Protocol, Sequence, runtime_checkable

from tasks.base import Request, Response

__all__ = ["Model", "Adapter", "Request", "Response", "ModelError", "stops_past_blank", "strip_thinking"]

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.S | re.I)


def strip_thinking(text: str) -> tuple[str, bool]:
    """(the answer, thinking unfinished) of a reasoning model's text: ``<think>...</think>`` blocks are
    not the answer, nor is text before a lone ``</think>`` (templates that open the block in the
    prompt, as DeepSeek-R1's does). An opened block that never closes means the budget ran out while
    thinking: no answer was written, which the caller reports as truncated.

    >>> strip_thinking("<think>7 × 8 is 56</think>\\n\\nThe answer is 56.")
    ('The answer is 56.', False)
    >>> strip_thinking("<think>7 × 8 is")
    ('', True)
    >>> strip_thinking(" 56")
    (' 56', False)
    """
    if "think>" not in text.lower():
        return text, False
    answer = _THINK_BLOCK.sub("", text)
    lower = answer.lower()
    if "</think>" in lower:
        answer = answer[lower.rindex("</think>") + len("</think>"):]
        lower = answer.lower()
    if "<think>" in lower:
        return answer[:lower.index("<think>")].strip(), True
    return answer.lstrip(), False


def stops_past_blank(text: str, stop: Sequence[str]) -> tuple[str, ...] | None:
    """The stop strings to ask a server again with when its own stop strings ended an answer before it began.

    A server (or ``vllm.LLM``) applies stop strings from the first character, so a model that opens
    with a line break (``"\\n56\\n"``, stop ``"\\n"``) comes back blank, where oraclebench's rule
    (``tasks.reading.stop_index``) starts looking after the leading whitespace. Such a request is asked
    again without the stop strings that are only whitespace (no other can match inside it); the
    answer is cut by the same rule when it is scored.

    Returns:
        the stop strings for the second request, or None when ``text`` needs no second request.

    >>> stops_past_blank("\\n", ("\\n", "Q:")), stops_past_blank(" 56", ("\\n",))
    (('Q:',), None)
    """
    if text.strip() or not any(s and not s.strip() for s in stop):
        return None
    return tuple(s for s in stop if s.strip())


class ModelError(RuntimeError):
    """A model cannot be loaded or used at all (missing checkpoint, server not there): a usage error."""


@runtime_checkable
class Model(Protocol):
    """What the runner needs of a model.

    - ``name``: what the user typed (``gpt2-causal``, ``hf:/path``); ``identity()`` adds what makes
      answers differ (weights hash, server model id, options) and keys the cache.
    - ``manifest``: what the model saw in training (per task), or ``None``.
    - ``generate(requests)``: one ``Response`` per ``Request``, same order. A request that fails
      comes back with ``error`` set; it never raises for one bad request.
    """

    name: str
    manifest: dict | None

    def identity(self) -> str: ...

    def generate(self, requests: Sequence[Request]) -> list[Response]: ...


class Adapter:
    """Shared plumbing for adapters: kind routing, order, error isolation and latency.

    Subclasses implement ``complete`` (generation) and/or ``choose`` (choice); both take and return
    lists. ``complete`` returns the raw completion (scoring cuts it at the stop strings:
    ``Task.assess``); an adapter that stops generating early does so by ``tasks.reading.stop_index``.
    ``choose`` defaults to generating text for the task to read the choice from.
    If a batch raises, it is split in halves until the failing requests are isolated, so one bad
    request costs its own answer only (and is reported as an error, not as a wrong answer).
    """

    name: str = "adapter"
    manifest: dict | None = None
    batch_size: int | None = None

    def identity(self) -> str:
        return self.name

    def complete(self, requests: Sequence[Request]) -> list[Response]:
        raise NotImplementedError(f"{self.name} does not generate text")

    def choose(self, requests: Sequence[Request]) -> list[Response]:
        # The same request as a generation (its chat form too, for chat APIs), asking for one line. The
        # choice is left unset: the task reads it from the text as it reads any completion (tasks.judge:
        # whole tokens and what the text concludes, never a prefix such as "12").
        gen = [dataclasses.replace(r, stop=r.stop or ("\n",), max_tokens=max(4, max(len(c) for c in r.choices)),
                                   choices=(), spans=(), span_prompts=()) for r in requests]
        return self.complete(gen)

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        out: list[Response | None] = [None] * len(requests)
        for kind, method in (("generate", self.complete), ("choice", self.choose)):
            idx = [i for i, r in enumerate(requests) if r.kind == kind]
            if not idx:
                continue
            step = self.batch_size or len(idx)
            for start in range(0, len(idx), step):
                chunk = idx[start:start + step]
                for i, resp in zip(chunk, self._isolated(method, [requests[i] for i in chunk])):
                    out[i] = resp
        return out  # type: ignore[return-value]

    def _isolated(self, method, requests: list[Request]) -> list[Response]:
        t0 = time.perf_counter()
        try:
            responses = list(method(requests))
            if len(responses) != len(requests):
                raise ModelError(f"{self.name} returned {len(responses)} answers for {len(requests)} requests")
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - a model's failure is data, not a crash of the run
            if len(requests) == 1:
                return [Response(error=f"{type(exc).__name__}: {exc}", latency=time.perf_counter() - t0)]
            half = len(requests) // 2
            return self._isolated(method, requests[:half]) + self._isolated(method, requests[half:])
        per_item = (time.perf_counter() - t0) / max(1, len(requests))
        for r in responses:
            if not r.latency:
                r.latency = per_item
        return responses
