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
import logging
import re
import threading
import time
from typing import Callable, Protocol, Sequence, runtime_checkable

from oraclebench.tasks.base import Request, Response

__all__ = ["Model", "Adapter", "Request", "Response", "ModelError", "stops_past_blank", "strip_thinking",
           "Broken", "describe_exception", "exception_message", "half_precision_warning"]

log = logging.getLogger("oraclebench.models")
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


def half_precision_warning(adapter: str, dtype: str) -> str | None:
    """The warning a local adapter logs when its arithmetic is 16-bit (``dtype`` ``bfloat16`` or
    ``float16``), else ``None``: rounding then decides a near tie, so an answer or a choice can change
    with the prompts that share its batch. Measured on ``gpt2-abcd`` on the CPU (README "Speed"): in
    bfloat16, 1 and 2 of 60 traces changed with ``batch_size`` 7 and 1; in float32 none did.

    >>> half_precision_warning("hf", "float32") is None
    True
    """
    if dtype not in ("bfloat16", "float16"):
        return None
    return (f"{adapter}: {dtype} arithmetic: an answer can depend on which prompts share its batch (rounding "
            "decides a near tie); for scores that do not, use --model-opt dtype=float32")


def shape_stable_attention(device: str):
    """A context under which a local model's attention runs on kernels that need no per-shape plan: on
    CUDA, ``torch.nn.attention.sdpa_kernel`` with flash, memory-efficient and math attention, without
    cuDNN's; elsewhere nothing changes (a ``nullcontext``).

    Why: torch 2.11 sends a masked ``scaled_dot_product_attention`` in 16-bit floats to cuDNN first,
    and cuDNN builds an execution plan for every new shape (rows and columns), which costs tens of
    milliseconds. A decode loop that drops finished rows and grows its cache meets a new shape at
    almost every step: on an NVIDIA H200, 150 ``gpt2-abcd`` traces in batches of 7 decoded in 91 s in
    bfloat16 against 2.5 s in float32, which cuDNN does not take (README "Speed"; the same cause is
    reported in modelscope/FunASR#3704). Float32 attention never goes to cuDNN, so its answers do not
    change under this context.

    Args:
        device: the model's torch device, as a string (``cuda``, ``cuda:1``, ``cpu``).
    """
    import contextlib

    if not device.startswith("cuda"):
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])


class ModelError(RuntimeError):
    """A model cannot be loaded or used at all (missing checkpoint, server not there): a usage error."""


def check_options(who: str, options: dict | None, known: Sequence[str]) -> None:
    """A ``ModelError`` naming the options an adapter does not take (``--model-opt``), and those it takes:
    the one check every adapter makes before anything else, so no option is silently ignored."""
    unknown = sorted(set(options or {}) - set(known))
    if unknown:
        takes = f"known: {', '.join(known)}" if known else "it takes none"
        raise ModelError(f"{who}: unknown option(s) {', '.join(unknown)}; {takes}")


@runtime_checkable
class Model(Protocol):
    """What the runner needs of a model.

    - ``name``: what the user typed (``gpt2-causal``, ``hf:/path``); ``identity()`` adds what makes
      answers differ (weights hash, server model id, options) and keys the cache.
    - ``manifest``: what the model saw in training (per task), or ``None``.
    - ``generate(requests)``: one ``Response`` per ``Request``, same order. A request that fails
      comes back with ``error`` set; it never raises for one bad request.

    Args of ``generate``: ``requests``, a list of ``Request`` (generation and choice mixed).
    Returns: a list of ``Response`` of the same length and order; ``text`` is the raw completion
    (scoring cuts it at the stop strings), ``choice``/``scores`` for choice requests, ``truncated``
    when the token budget cut it.
    Errors: a model that cannot be used at all (missing checkpoint, no server) raises ``ModelError``
    when it is loaded, a one-line usage error; a failing request is a ``Response`` with ``error`` set,
    counted apart from wrong answers. Register a factory in ``oraclebench.models.NAMES``/``PATTERNS``.

    Example: the smallest model, through ``Adapter`` (which supplies routing and error isolation):

    >>> class Shout(Adapter):
    ...     name = "shout"
    ...     def complete(self, requests):
    ...         return [Response(text=r.prompt.upper()) for r in requests]
    >>> model = Shout()
    >>> isinstance(model, Model), model.generate([Request("a"), Request("b")])[1].text
    (True, 'B')
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
    request costs its own answer only (and is reported as an error, not as a wrong answer); a dead
    model (the same failure for the whole call and for prompts asked alone) is not asked again item
    by item (see ``_isolated`` and ``_dead``). An adapter that
    finishes requests one by one reports each through ``answered`` as it is final, so the runner
    commits it at once.
    """

    name: str = "adapter"
    manifest: dict | None = None
    batch_size: int | None = None
    _early: "_Early"  # the answers of the current ``generate`` call reported early (none outside one)

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

    def generate(self, requests: Sequence[Request],
                 on_answer: Callable[[int, Response], None] | None = None) -> list[Response]:
        """One response per request, in order. ``on_answer(i, response)`` is called as soon as the
        answer to ``requests[i]`` is final (a served request as it returns, an hf batch as it is
        decoded), so the caller can commit it before the whole call ends.
        """
        out: list[Response | None] = [None] * len(requests)
        self._early = _Early(requests, on_answer)
        try:
            for kind, method in (("generate", self.complete), ("choice", self.choose)):
                idx = [i for i, r in enumerate(requests) if r.kind == kind]
                if not idx:
                    continue
                step = self.batch_size or len(idx)
                for start in range(0, len(idx), step):
                    chunk = idx[start:start + step]
                    for i, resp in zip(chunk, self._isolated(method, [requests[i] for i in chunk])):
                        out[i] = resp
                        self.answered(requests[i], resp)
        finally:
            self._early = _Early((), None)
        return out  # type: ignore[return-value]

    def answered(self, request: Request, response: Response) -> None:
        """An adapter calls this from ``complete``/``choose`` as soon as one request's answer is final.

        Only the caller's own ``Request`` objects count (a request derived from one, such as the
        generation that ``choose`` asks for, is reported when its parent is).
        """
        self._early.report(request, response)

    def _isolated(self, method, requests: list[Request]) -> list[Response]:
        """``method(requests)``, with a failure isolated to the requests that cause it.

        A call that raises is followed by probes for a dead model (``_dead``); unless the model is dead,
        the unanswered requests are split in halves, level by level, until each failing request has
        failed alone: one bad request costs its own answer only, whatever shares its call. An error is
        only ever the one raised by a call of that request alone, or one that says so: a request the
        search did not ask alone (a dead model, or another call's broken contract) says "not asked
        alone"; a call of one request is asked once (its failure is its own). A broken contract
        (``Broken``: a wrong number of answers, an exit) ends the search at once: the requests of that
        call carry its line.
        Answers already reported through ``answered`` are kept (over what a call returns for them) and
        never asked again. A call of several requests none of which raised when asked alone is warned
        about (``_warn_split``): its failure was not a bad prompt's; after a ``Broken`` call, only such
        calls whose requests were all answered (the others were not all asked alone).
        """
        out: list[Response | None] = [None] * len(requests)
        raised: set[int] = set()  # the requests that raised when asked alone
        failed: list[tuple[list[int], str]] = []  # the calls of several requests that failed
        try:
            part = self._open(requests, out, range(len(requests)))
            why = self._ask(method, requests, part, out)
            if why is not None and len(part) == 1:
                if self._open(requests, out, part):
                    out[part[0]] = Response(error=why)
            elif why is not None and not self._dead(method, requests, out, why, raised):
                failed.append((part, why))
                self._bisect(method, requests, out, raised, failed)
        except Broken as exc:
            # The failed calls met before it still tell, where every request of theirs was answered.
            got = [self._early.known(r) or out[i] for i, r in enumerate(requests)]
            answered = {i for i, r in enumerate(got) if r is not None and r.error is None}
            self._warn_splits([(m, line) for m, line in failed if answered.issuperset(m)], raised)
            return self._fill(out, requests, f"not asked alone: another call of its batch broke the contract ({exc})",
                              0.0)
        self._warn_splits(failed, raised)
        return self._fill(out, requests, "", 0.0)

    def _warn_splits(self, failed: list[tuple[list[int], str]], raised: set[int]) -> None:
        for members, line in failed:
            if raised.isdisjoint(members):
                self._warn_split(len(members), line)

    def _warn_split(self, size: int, line: str) -> None:
        """A warning, once per ``_shape`` of failure (a line that names a size varies from call to call),
        that a call of ``size`` requests failed with ``line`` although none of them raised when asked
        alone: they were answered in smaller calls (or gave errors of their own without raising). The
        answers are right, but unless the failure was a one-off, something fails on larger calls only
        (an adapter's bug, a server's limit), and every such call costs the search's extra calls."""
        self._warn_once(("split", _shape(line)),
                        f"{self.name}: a call of {size} requests failed ({line}), yet none of them raised when asked "
                        "alone: the answers are kept; unless this was a one-off failure, larger calls fail (an "
                        "adapter bug, or a limit of the model or its server) and each costs extra calls (not warned "
                        "again for this failure)")

    def _warn_once(self, key, message: str) -> None:
        """``message`` as a warning, the first time this adapter meets ``key``."""
        warned = self.__dict__.setdefault("_warned", set())
        if key not in warned:
            warned.add(key)
            log.warning("%s", message)

    def _open(self, requests: list[Request], out: list, indices) -> list[int]:
        """The ``indices`` whose request has no answer or error yet (neither in ``out`` nor reported early)."""
        return [i for i in indices if out[i] is None and self._early.known(requests[i]) is None]

    def _ask(self, method, requests: list[Request], part: list[int], out: list) -> str | None:
        """Asks ``method`` the requests ``part`` in one call; their answers go to ``out``.

        Returns: None when the call answered (an empty ``part`` too), else the line of its exception.
        A request whose answer was reported early (``answered``) keeps that answer, the one the caller
        committed; a call that returns another for it is warned about once.
        Errors: ``Broken`` after the requests of ``part`` are given its line; ``ModelError`` as it is.
        """
        if not part:
            return None
        t0 = time.perf_counter()
        try:
            responses = list(method([requests[i] for i in part]))
            if len(responses) != len(part):
                raise Broken(f"{self.name} returned {len(responses)} answers for {len(part)} requests")
        except Broken as exc:
            seconds = time.perf_counter() - t0
            for i in part:
                out[i] = self._early.known(requests[i]) or Response(error=str(exc), latency=seconds)
            raise
        except ModelError:
            raise
        except Failure as exc:  # the adapter's own line (a missed deadline): as it is, no type name before it
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - a model's failure is data, not a crash of the run
            return describe_exception(exc)
        per_item = (time.perf_counter() - t0) / len(part)
        for i, r in zip(part, responses):
            kept = self._early.known(requests[i])
            if kept is not None:  # committed as reported: the answer scored must be the answer stored
                if (kept.text, kept.error) != (r.text, r.error):
                    self._warn_once("changed", f"{self.name}: an answer reported early (answered) differs from "
                                               "the one its call returned; the reported one is kept, as it was "
                                               "committed (an adapter bug: report only final answers)")
                out[i] = kept
                continue
            r.latency = r.latency or per_item
            out[i] = r
        return None

    def _dead(self, method, requests: list[Request], out: list, why: str, raised: set[int]) -> bool:
        """Whether the model that failed a whole call with ``why`` fails every request (then each
        request not asked is an error saying so), after asking ``DEAD_PROBES`` requests alone.

        The evidence is what a dead model (a server gone, a callable that always raises) gives and bad
        prompts do not: requests spread over the whole call, first and last among them, each asked
        alone, all fail with the very line of the whole call. One probe that answers, or fails its
        own way ("cannot parse 4x4950" names its prompt), shows that the failure depends on the prompt,
        and the search goes on to find each failing request. Fewer bad prompts than probes can never
        look dead, wherever they stand in the call; a call no larger than the probes is asked item by
        item, so its verdict is exact. A probe that reports its answer (``answered``) and then raises
        keeps its answer, and counts as answered; probes that raise without having reported one are
        added to ``raised``. With every request reported during the call, nothing is probed: not dead.
        """
        probes = _spread(self._open(requests, out, range(len(requests))), DEAD_PROBES)
        if not probes:
            return False
        for i in probes:
            failed = self._ask(method, requests, [i], out)
            answered = not self._open(requests, out, [i])
            if failed is not None and not answered:
                out[i] = Response(error=failed)
                raised.add(i)
            if failed != why or answered:
                return False
        rest = self._open(requests, out, range(len(requests)))
        for i in rest:
            # Prompts that all fail alike (a rerun of only the failed ones) look the same as a dead model from
            # here: the line says what was seen, not which it was.
            out[i] = Response(error=f"{why} (not asked alone: the whole call and {len(probes)} prompts asked alone "
                                    "all failed with this error, as they do when the model is down or every prompt "
                                    "of the call fails alike; a rerun asks it again)")
        return True

    def _bisect(self, method, requests: list[Request], out: list, raised: set[int],
                calls: list[tuple[list[int], str]]) -> None:
        """Asks the open requests in halves, level by level, until each failing request failed alone (added
        to ``raised``); appends to ``calls`` each call of more than one request that failed, as it fails (a
        ``Broken`` call ends the search, and those before it still count): its requests and line."""
        parts = [self._open(requests, out, range(len(requests)))]
        while parts:
            failed = []
            for part in parts:
                part = self._open(requests, out, part)
                why = self._ask(method, requests, part, out)
                if why is None:
                    continue
                rest = self._open(requests, out, part)  # answers reported during the failed call are kept
                if len(part) == 1:
                    if rest:
                        out[part[0]] = Response(error=why)
                        raised.add(part[0])
                else:
                    calls.append((part, why))
                    if rest:  # one left of several is asked alone next, as any other
                        failed.append(rest)
            parts = [half for part in failed for half in (part[:len(part) // 2], part[len(part) // 2:]) if half]

    def _fill(self, out: list, requests: list[Request], why: str, seconds: float) -> list[Response]:
        """``out`` with reported answers filled in and every hole an error saying ``why``."""
        for i, r in enumerate(requests):
            if out[i] is None:
                out[i] = self._early.known(r) or Response(error=why, latency=seconds)
        return out


class Broken(Exception):
    """A model broke its contract for a whole call (not one bad request): no retrying its parts."""


class Failure(Exception):
    """A failed call that the adapter describes in its own line (a missed deadline), isolated like any
    exception of the model's (``Adapter._isolated``): its requests are asked again in parts."""


# Requests asked alone, spread over a call that failed, before the rest of it is searched (``Adapter._dead``):
# all failing with the whole call's line is a dead model. A dead model costs 1 + 8 calls per call instead
# of one per request; a working one at most 8 more than the halving (fewer: the first answer ends them).
# With a share p of prompts failing with one same line, uncorrelated with their place, a call is taken
# for dead with probability p**8 (30%: 7e-5); more probes would cost a dead model more calls.
DEAD_PROBES = 8


def _shape(line: str) -> str:
    """A failure's line with its numbers masked: one warning for a failure whose line names the size of
    each call that fails ("payload of 10 prompts", "of 6 prompts").

    >>> _shape("RuntimeError: payload of 10 prompts too large")
    'RuntimeError: payload of # prompts too large'
    """
    return re.sub(r"\d+", "#", line)


def _spread(items: list[int], k: int) -> list[int]:
    """``k`` of ``items`` spread evenly over them, the first and the last included (all of them when fewer).

    >>> _spread(list(range(10)), 3), _spread([4, 7], 3)
    ([0, 4, 9], [4, 7])
    """
    if len(items) <= k:
        return list(items)
    return [items[round(j * (len(items) - 1) / (k - 1))] for j in range(k)]


def describe_exception(exc: BaseException) -> str:
    """``"Type: message"`` for any exception, even one whose ``str()`` raises.

    >>> describe_exception(ValueError("bad digit"))
    'ValueError: bad digit'
    """
    name = type(exc).__name__
    text = exception_message(exc)
    if text is None:
        return f"{name} (its message cannot be shown: str() raised {_str_error(exc)})"
    return f"{name}: {text}" if text else name


def exception_message(exc: BaseException) -> str | None:
    """``str(exc)``, or ``None`` when even that raises (a broken ``__str__``)."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not lose the run
        return None


def _str_error(exc: BaseException) -> str:
    try:
        str(exc)
    except Exception as inner:  # noqa: BLE001
        return type(inner).__name__
    return "nothing"


class _Early:
    """Answers reported before their call returns, by request object (see ``Adapter.answered``)."""

    def __init__(self, requests: Sequence[Request], on_answer: Callable[[int, Response], None] | None):
        self.index = {id(r): i for i, r in enumerate(requests)}
        self.answers: dict[int, Response] = {}
        self.on_answer = on_answer
        self.lock = threading.Lock()

    def report(self, request: Request, response: Response) -> None:
        i = self.index.get(id(request))
        if i is None or response.error is not None:
            return  # an error may still be retried by bisection: only final answers are reported early
        with self.lock:
            if i in self.answers:
                return
            self.answers[i] = response
        if self.on_answer is not None:
            self.on_answer(i, response)

    def known(self, request: Request) -> Response | None:
        i = self.index.get(id(request))
        return None if i is None else self.answers.get(i)


Adapter._early = _Early((), None)


# ---- a model's manifest, checked before any model work ---------------------------------------------

PROBES = 24  # problems each task's split reader is tried on (fresh draws; a run's own instances where given)


class ManifestProblem(ValueError):
    """A model manifest the tasks cannot read: ``key`` (``split``, ``tasks.abcd.training_data``), ``why``,
    and the ``fix``."""

    def __init__(self, key: str, why: str, fix: str):
        super().__init__(f"{key}: {why}")
        self.key, self.why, self.fix = key, why, fix


_TABLE_FIX = ('a manifest is a table: {"task": NAME, "split": {...}, "training_data": {...}} or '
              '{"tasks": {NAME: {...}}}, as `oraclebench generate` writes it in manifest.json')


def _kind(value) -> str:
    """``a str, 'digits=2x2'``: what a value of a manifest is, in a few words."""
    name, text = type(value).__name__, repr(value)
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}, {text[:60] + '...' if len(text) > 60 else text}"


def manifest_parts(manifest) -> dict:
    """Per task a model manifest names: ``{task: ((the split's key, the split), (the training data's key,
    it))}``, read as the runner reads them (``runner.task_manifest``, ``models.manifest_training``); a
    ``ManifestProblem`` for a shape no reader takes (a split that is a string, not a table: every item
    of the task failed, found by review). ``{}`` for no manifest, or one that names no task."""
    if manifest is None:
        return {}
    if not isinstance(manifest, dict):
        raise ManifestProblem("manifest", f"is {_kind(manifest)}, not a table", _TABLE_FIX)
    if "tasks" in manifest:
        tables = manifest["tasks"]
        if not isinstance(tables, dict):
            raise ManifestProblem("tasks", f"is {_kind(tables)}, not a table of tasks", _TABLE_FIX)
        out = {}
        for task, table in tables.items():
            if table is not None and not isinstance(table, dict):
                raise ManifestProblem(f"tasks.{task}", f"is {_kind(table)}, not a table", _split_fix(task))
            data = (table or {}).get("training_data")
            out[task] = ((f"tasks.{task}", table), (f"tasks.{task}.training_data", data))
        return out
    task = manifest.get("task")
    if task is None:
        return {}
    if not isinstance(task, str):
        raise ManifestProblem("task", f"is {_kind(task)}, not a task's name", _TABLE_FIX)
    split = manifest.get("split", {})
    if split is not None and not isinstance(split, dict):
        raise ManifestProblem("split", f"is {_kind(split)}, not a table", _split_fix(task))
    return {task: (("split", split), ("training_data", manifest.get("training_data")))}


def _split_fix(task: str) -> str:
    return (f"write what {task} was trained on as a table, as `oraclebench generate {task} --heldout SPEC` "
            f"writes it in manifest.json (SPEC as for --heldout {task}:SPEC)")


_DATA_FIX = ("write it as `oraclebench generate` does in manifest.json (stream, seed, count, split, config), "
             "or remove it (then no record is labelled trained or unseen)")


def check_manifest(manifest, problems: dict | None = None) -> None:
    """Raise ``ManifestProblem`` where a task the manifest names (and this installation has) cannot read
    its part of it: the split, by the task's own reader over a few problems (fresh draws, and
    ``problems``: ``{task: [problem, ...]}``, one of each frozen stratum where the runner gives them), and the training data, by drawing its first problem. What a run
    reads of a manifest for every record, tried once before any model work: a manifest the task could
    not read failed the whole task, item after item. A variant the manifest names that is not the one
    bound (another world) is left to the run's own check, which names both."""
    from oraclebench.tasks import TASKS, get_task

    for name, ((split_key, split), (data_key, data)) in manifest_parts(manifest).items():
        if name not in TASKS:
            continue  # named by ``declared_tasks``' own check where the run would score it
        task = get_task(name)
        if data is not None and not isinstance(data, dict):
            raise ManifestProblem(data_key, f"is {_kind(data)}, not a table", _DATA_FIX)
        if split is not None and not _same_variant(task, split_key, split):
            continue  # another world: its split and data read there, not here; the run's check names both
        if split is not None:
            _try_split(task, split_key, split, (problems or {}).get(name))
        if data is not None:
            _try_training_data(task, data_key, data)


def _probes(task) -> list:
    out = []
    for i in range(PROBES):
        try:
            out.append(task.sample(0, i, None, "fresh"))
        except Exception:  # noqa: BLE001 - a task that cannot draw says so when the run draws; no manifest fault
            break
    return out


def _same_variant(task, key: str, split: dict) -> bool:
    """Whether the manifest's variant (a causal world) is the one bound: False for another (``TaskError``, which
    the run's own check reports naming both worlds: probing the bound world's problems against the other's split
    called it unreadable instead, found by review); a ``ManifestProblem`` where the task cannot read it at all."""
    from oraclebench.tasks.base import TaskError

    try:
        task.check_variant(split, "the model")
    except TaskError:
        return False
    except Exception as exc:  # noqa: BLE001 - a reader that cannot take it
        raise ManifestProblem(key, f"cannot be read by the {task.name} task ({describe_exception(exc)})",
                              _split_fix(task.name)) from None
    return True


def _try_split(task, key: str, split: dict, problems: list | None) -> None:
    for problem in [*(problems or ()), *_probes(task)]:
        try:
            task.training_split(problem, split, None)
        except Exception as exc:  # noqa: BLE001
            raise ManifestProblem(key, f"cannot be read by the {task.name} task ({describe_exception(exc)})",
                                  _split_fix(task.name)) from None


def _try_training_data(task, key: str, data: dict) -> None:
    """The training data's first problem, read as ``Task.training_problems`` reads them (its config and
    split, seed, count and stream), without drawing the rest (nor counting as a draw: a run reads the
    draws from the store, and an xdist controller takes them from its workers)."""
    try:
        config = task.training_config(data)
        stream, seed, count = data.get("stream", "train"), int(data["seed"]), int(data["count"])
        problem = task.sample(seed, 0, config, stream)
        task.training_split(problem, data.get("split") or {}, frozenset({task.identity(problem)} if count > 0 else ()))
        task.coverage_bucket(problem)
    except Exception as exc:  # noqa: BLE001 - TaskError, or any reader's error
        raise ManifestProblem(key, f"cannot be read by the {task.name} task ({describe_exception(exc)})",
                              _DATA_FIX) from None


def manifest_error(model: str, where: str, problem: ManifestProblem) -> str:
    """The one line for a manifest the tasks cannot read: the model, the key (in ``where``), why and the fix."""
    what = "its manifest" if problem.key == "manifest" else f"its manifest's {problem.key!r}"
    return f"{model}: {what} (in {where}) {problem.why}; {problem.fix}"
