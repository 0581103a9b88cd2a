"""Scoring a model on a list of instances: batch-first, cached, resumable.

``evaluate`` renders every instance to a ``Request``, answers what the cache already knows, sends
the rest to the model in large batches (each batch one ``model.generate`` call), commits every
answer to the cache as it arrives (an adapter reports each request as it is final; the cache
commits them in groups of at most 32 or half a second, so a killed run loses at most the last half
second), then scores every answer with the task's oracle.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass
from typing import Callable, Sequence

from oraclebench.models.base import Adapter, Model
from oraclebench.cache import CacheWriter, ResponseCache, request_key
from oraclebench.records import Record, status_of
from oraclebench.textsafe import STORED_CHARS, cap
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Instance, Request, Response

log = logging.getLogger("oraclebench.runner")
_CAVEAT_SAID: "weakref.WeakSet" = weakref.WeakSet()  # models whose cache caveat this process said

# Requests per model call: large enough for adapters to sort and batch well. What an interrupted
# run keeps does not depend on it: answers are committed as they arrive.
CHUNK = 1024


@dataclass
class RunStats:
    requested: int = 0
    cached: int = 0
    computed: int = 0
    errors: int = 0
    truncated: int = 0
    seconds: float = 0.0


def task_manifest(model: Model, task: str, override: dict | None = None) -> dict | None:
    """What ``model`` saw in training for ``task``: ``--heldout`` wins, then the model's manifest.

    A model manifest is ``{"task": NAME, "split": {...}}`` (one task) or ``{"tasks": {NAME: {...}}}``.
    """
    from oraclebench.models.base import manifest_parts

    if override and task in override:
        return override[task]
    parts = manifest_parts(getattr(model, "manifest", None) or {})  # the one reader of a manifest's shape
    return parts[task][0][1] if task in parts else None


# What ``try`` (command line and web page) says of an input, by its split (``Task.training_split``).
TRAINING_NOTES = {
    "heldout": "HELD OUT from {model}'s training (it never saw this input)",
    "trained": "TRAINED ON: this exact problem is in {model}'s training data (a right answer may be recall)",
    "unseen": "UNSEEN: inside {model}'s training distribution, but not in its training data",
    "seen": "inside {model}'s training distribution (trained on or not: the exact training data is not recorded)",
}


def training_note(task, problem, model_name: str, manifest: dict | None,
                  trained: frozenset[str] | None = None) -> tuple[str, str]:
    """What ``problem`` was to ``model_name`` in training, as ``try`` says it on the command line and on
    the web page: ``(split, sentence)``. ``manifest``: the task's part of what the model saw
    (``task_manifest``), None when nothing is known; ``trained``: its training problems (``task_trained``)."""
    if manifest is None:
        return "unknown", (f"{model_name} has no training manifest for {task.name} (nothing known to be held out; "
                           "--heldout SPEC says what it saw)")
    split = task.training_split(problem, manifest, trained)
    return split, TRAINING_NOTES[split].format(model=model_name)


def task_trained(model: Model, task: str) -> frozenset[str] | None:
    """The identities of the problems ``model`` trained on for ``task``, where its manifest records its
    training data (``training_data``, see ``Task.training_problems``); ``None`` where it does not.

    Raises: ``TaskError`` for a ``training_data`` the task cannot read.
    """
    from oraclebench.models import manifest_training

    data = (manifest_training(getattr(model, "manifest", None)) or {}).get(task)
    return None if data is None else get_task(task).training_identities(data)


def answer(model: Model, requests: Sequence[Request], cache: ResponseCache | None = None,
           chunk: int = CHUNK, progress: Callable[[int], None] | None = None,
           stats: RunStats | None = None) -> tuple[list[Response], list[bool]]:
    """One response per request, from the cache where possible; returns (responses, was_cached).

    ``progress(n)`` is told each time ``n`` more answers are final: one by one where the adapter
    reports them as they arrive, else a call's worth at a time (what ``Progress.advance`` takes).
    """
    stats = stats or RunStats()
    cache = cache or ResponseCache(None)
    identity = model.identity()
    keys = [request_key(identity, r) for r in requests]
    known = cache.get_many(sorted(set(keys)))
    todo: dict[str, Request] = {}
    for k, r in zip(keys, requests):
        if k not in known and k not in todo:
            todo[k] = r  # identical requests are asked once
    stats.requested += len(requests)
    stats.cached += sum(k in known for k in keys)
    _say_cache_caveat(model, any(k in known for k in keys))
    pending = list(todo.items())
    # An adapter that caps its calls (``batch_size``) is asked a call at a time.
    chunk = getattr(model, "batch_size", None) or chunk
    t0 = time.perf_counter()
    with CacheWriter(cache, identity) as writer:
        for start in range(0, len(pending), chunk):
            batch = pending[start:start + chunk]
            reported: set[int] = set()
            responses = _generate(model, [r for _, r in batch], _on_answer(writer, batch, reported, progress))
            if len(responses) != len(batch):
                raise RuntimeError(f"{model.name} answered {len(responses)} of {len(batch)} requests")
            for (k, _), resp in zip(batch, responses):
                writer.add(k, resp)
                known[k] = resp
            writer.flush()  # a finished call is committed whole at once, not after the commit interval
            stats.computed += len(batch)
            if progress and len(batch) > len(reported):
                progress(len(batch) - len(reported))
    stats.seconds += time.perf_counter() - t0
    out = [known[k] for k in keys]
    stats.errors += sum(r.error is not None for r in out)
    stats.truncated += sum(r.error is None and r.truncated for r in out)
    was_cached = [k not in todo for k in keys]
    return out, was_cached


def _say_cache_caveat(model: Model, replayed: bool) -> None:
    """Where answers came from the cache, a warning once per model of what its cache key cannot see
    (``cache_caveat``: a served model's weights). Without it a new server's run showed an older
    server's answers, only "68 from the cache" telling (found by a trial)."""
    caveat = getattr(model, "cache_caveat", None)
    if replayed and caveat and model not in _CAVEAT_SAID:
        _CAVEAT_SAID.add(model)
        log.warning("%s: answers came from the cache of earlier runs: %s", model.name, caveat)


def _on_answer(writer: CacheWriter, batch: list, reported: set[int],
               progress: Callable[[int], None] | None) -> Callable[[int], None]:
    """The adapter's ``on_answer``: cache each answer as it arrives and count it once for ``progress``."""
    def on_answer(i: int, resp: Response) -> None:
        writer.add(batch[i][0], resp)
        if progress and i not in reported:
            reported.add(i)
            progress(1)
    return on_answer


def _generate(model: Model, requests: list[Request], on_answer: Callable[[int, Response], None]) -> list[Response]:
    """``model.generate``, with answers reported as they arrive where the model can (every ``Adapter``)."""
    if isinstance(model, Adapter):
        return model.generate(requests, on_answer=on_answer)
    return model.generate(requests)


# Why an answer is truncated unless its adapter says otherwise (``Response.truncated_why``): served models.
TRUNCATED = ("the answer hit the token budget before it ended (give more with --model-opt max_tokens=N, or "
             "retry_truncated=N)")


def score_one(instance: Instance, request: Request, response: Response, run_id: str, model_name: str,
              manifest: dict | None, cached: bool, trained: frozenset[str] | None = None) -> Record:
    """Score one response with the task's oracle into a ``Record``: strict and lenient, with its status.

    The record keeps the raw completion; the oracle reads it cut at the stop strings (``Task.assess``).
    Its split is ``Task.training_split`` under ``manifest`` and the ``trained`` identities (``task_trained``).
    """
    task = get_task(instance.task)
    problem = task.decode(instance.problem)
    score = task.assess(problem, request, response)
    completion = response.text if response.choice is None else (response.text or request.choices[response.choice])
    correct = bool(score.correct and response.error is None)
    status = status_of(correct, score.answer, response.error, response.truncated)
    reason = response.error and f"error: {response.error}" or score.reason
    if status == "truncated":
        why = f"truncated: {response.truncated_why or TRUNCATED}"
        reason = f"{why}; {reason}" if reason else why
    return Record(
        run_id=run_id, model=model_name, task=instance.task, instance_id=instance.id, label=instance.label,
        bucket=instance.bucket, split=task.training_split(problem, manifest, trained), prompt=request.prompt, completion=completion,
        parsed=score.answer, expected=score.expected, correct=correct, reason=reason, fields=score.fields,
        detail={**score.detail, **({"scores": response.scores} if response.scores else {}),
                **({"truncated": True} if response.truncated else {}),
                # What the model wrote besides its answer (thinking), kept: a record shows all it wrote.
                **({"written": cap(response.written, STORED_CHARS)} if response.written else {}),
                **({"asked": cap(response.asked, STORED_CHARS)} if response.asked else {}),
                **({"chat": True} if response.chat else {})},  # answered the chat form: read whole
        error=response.error, latency=round(response.latency or 0.0, 6), cached=cached,
        correct_lenient=bool(score.lenient and response.error is None), parsed_lenient=score.lenient_answer,
        status=status,
    )


def evaluate(model: Model, instances: Sequence[Instance], run_id: str, cache: ResponseCache | None = None,
             heldout: dict | None = None, progress: Callable[[int], None] | None = None,
             stats: RunStats | None = None) -> list[Record]:
    """Score ``model`` on ``instances`` (any mix of tasks) in one batched pass.

    What the model trained on is read first: a manifest that cannot be read fails the call before the
    model is asked anything (``check_model_manifest`` says so before a run; this is the last guard)."""
    requests = [get_task(i.task).request(i) for i in instances]
    tasks = {i.task for i in instances}
    manifests = {t: task_manifest(model, t, heldout) for t in tasks}
    trained = {t: task_trained(model, t) for t in tasks}
    responses, cached = answer(model, requests, cache, progress=progress, stats=stats)
    return [score_one(i, q, r, run_id, model.name, manifests[i.task], c, trained[i.task])
            for i, q, r, c in zip(instances, requests, responses, cached)]


def failed_records(model: Model, instances: Sequence[Instance], run_id: str, why: str,
                   heldout: dict | None = None) -> list[Record]:
    """A record per instance, each an error saying ``why`` (a model that failed the whole call).

    Never raises for the model's manifest: where the call failed because the manifest could not be
    read, reading it here raised again, no record was made, and every item asked the model for the
    whole task again (found by review). A split that cannot be read is ``unknown``."""
    manifests: dict[str, dict | None] = {}
    trained: dict[str, frozenset[str] | None] = {}
    for t in {i.task for i in instances}:
        try:
            manifests[t], trained[t] = task_manifest(model, t, heldout), task_trained(model, t)
        except Exception:  # noqa: BLE001 - the records say why the task failed; their split is unknown
            manifests[t], trained[t] = None, None
    out = []
    for i in instances:
        request, response = get_task(i.task).request(i), Response(error=why)
        try:
            out.append(score_one(i, request, response, run_id, model.name, manifests[i.task], False, trained[i.task]))
        except Exception:  # noqa: BLE001 - as above
            out.append(score_one(i, request, response, run_id, model.name, None, False, None))
    return out


def check_model_manifest(name: str, manifest) -> None:
    """A ``ModelError``, one line naming the model, the manifest's key and the fix, where a task the
    manifest names cannot read its part of it (``models.base.check_manifest``). Checked before any
    model work, for whatever adapter carries the manifest (``python:``'s ``FUNCTION.manifest``, a
    checkpoint's ``manifest.json``): a manifest the task could not read failed it whole."""
    from oraclebench.models import manifest_source
    from oraclebench.models.base import ManifestProblem, ModelError, check_manifest, manifest_error

    try:
        check_manifest(manifest, _strata_problems(manifest))
    except ManifestProblem as exc:
        raise ModelError(manifest_error(name, manifest_source(name), exc)) from None


def _strata_problems(manifest) -> dict[str, list]:
    """Per task the manifest names, a problem of each label of its frozen set: a split reader may read a
    key only for some problems (multiplication's omitted pairs, within the training digits)."""
    from oraclebench.models.base import ManifestProblem, manifest_parts
    from oraclebench.sets import load_set
    from oraclebench.tasks import TASKS

    try:
        named = [t for t in manifest_parts(manifest) if t in TASKS]
    except ManifestProblem:
        return {}  # said by check_manifest
    out = {}
    for name in named:
        task = get_task(name)
        try:
            firsts = {i.label: i for i in reversed(load_set(name))}
            out[name] = [task.decode(i.problem) for i in firsts.values()]
        except Exception:  # noqa: BLE001 - a set that cannot be read is said where the run reads it
            continue
    return out
