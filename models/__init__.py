"""Model registry: names and ``prefix:`` patterns map lazily to adapter factories.

``load_model("oracle")``, ``load_model("hf:/path/to/model")``, ``load_model("gpt2-causal")``.
A factory is called as ``factory(spec, options)`` where ``spec`` is the text after the prefix (or
the whole name for plain names) and ``options`` a dict of ``--model-opt key=value`` settings.
Heavy dependencies (torch, openai) are imported only when their adapter is used.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any

from oraclebench.extras import MissingExtra, missing_extra, require
from oraclebench.models.base import Adapter, Model, ModelError, Request, Response

# Plain names -> factory. The reference names resolve to the training layer's loader, which trains a
# missing checkpoint on first use; the registry names it and never imports it (models sit below training).
NAMES: dict[str, str] = {
    "oracle": "oraclebench.models.baselines:OracleModel",
    "random": "oraclebench.models.baselines:RandomModel",
    "gpt2-causal": "oraclebench.training.recipes:load_reference",
    "gpt2-abcd": "oraclebench.training.recipes:load_reference",
    "gpt2-mult": "oraclebench.training.recipes:load_reference",
    "gpt2-mult-scratchpad": "oraclebench.training.recipes:load_reference",
}

# ``prefix:spec`` patterns -> factory.
PATTERNS: dict[str, str] = {
    "hf": "oraclebench.models.reference:load_hf",
    "vllm": "oraclebench.models.served:ServedModel",
    "openai": "oraclebench.models.served:OpenAIModel",
    "vllm-local": "oraclebench.models.served:VLLMLocalModel",
    "transplant": "oraclebench.models.transplant:TransplantModel",
    "python": "oraclebench.models.pycall:PythonModel",
}

# The extra of the ``oraclebench`` distribution each name or pattern needs (see ``oraclebench.extras``);
# names not listed need only the core install.
EXTRAS: dict[str, str] = {
    "gpt2-causal": "local", "gpt2-abcd": "local", "gpt2-mult": "local", "gpt2-mult-scratchpad": "local",
    "hf": "local", "transplant": "local", "vllm": "served", "openai": "served", "vllm-local": "vllm",
}

# What each name and pattern is for and how to use it: what ``oraclebench models`` prints.
@dataclass(frozen=True)
class Usage:
    """``form``: the name as typed (``hf:PATH``); ``purpose``: what it is for; ``example``: a command using it."""

    form: str
    purpose: str
    example: str


DESCRIPTIONS: dict[str, Usage] = {
    "oracle": Usage("oracle", "the exact oracle: right on every instance, so 100% proves the pipeline",
                    "pytest benchmark --model oracle"),
    "random": Usage("random", "a seeded chance baseline (about 50% on judge, near 0 elsewhere)",
                    "pytest benchmark --model random -m judge"),
    "gpt2-causal": Usage("gpt2-causal", "reference: a tiny GPT-2 trained here on causal, 3 of the 32 inputs held out; "
                         "trained on first use", "pytest benchmark --model gpt2-causal"),
    "gpt2-abcd": Usage("gpt2-abcd", "reference: a tiny GPT-2 trained here on abcd nets of 1..12 tokens (13..21 held "
                       "out)", "pytest benchmark --model gpt2-abcd"),
    "gpt2-mult": Usage("gpt2-mult", "reference: a tiny GPT-2 trained here on products up to 2x2 digits (more digits "
                       "held out)", "pytest benchmark --model gpt2-mult"),
    "gpt2-mult-scratchpad": Usage("gpt2-mult-scratchpad", "reference: like gpt2-mult, trained to write the long "
                                  "multiplication out step by step", "pytest benchmark --model gpt2-mult-scratchpad"),
    "hf": Usage("hf:PATH", "a local transformers checkpoint (a save_pretrained folder), greedy and batched",
                "pytest benchmark --model hf:/path/to/checkpoint --model-opt device=cuda"),
    "vllm": Usage("vllm:MODEL@URL", "a model behind an OpenAI-compatible server (vllm serve, transformers serve)",
                  "pytest benchmark --model vllm:my-model@http://127.0.0.1:8000/v1"),
    "openai": Usage("openai:MODEL", "a model of the OpenAI API; set OPENAI_API_KEY",
                    "pytest benchmark --model openai:gpt-4o-mini -m abcd"),
    "vllm-local": Usage("vllm-local:PATH", "vllm.LLM in this process on a local checkpoint, on a GPU",
                        "pytest benchmark --model vllm-local:/path/to/checkpoint"),
    "transplant": Usage("transplant:PATH", "seed 004's hidden-state transplant on a local Llama, Mistral, Qwen or "
                        "GPT-2 (the judge task)", "pytest benchmark --model 'transplant:/path/to/ckpt?layers=1-2' -m judge"),
    "python": Usage("python:MODULE:FUNCTION", "your own pipeline: a Python function from a list of prompts to a list "
                    "of completions", "pytest benchmark --model python:pipeline:answer"),
}


def declared_tasks(name: str) -> list[str] | None:
    """The tasks a model was trained on, known without loading it: a reference recipe's task, or the
    ``manifest.json`` beside a local checkpoint (a ``python:`` callable's ``manifest``: see
    ``local_manifest``). ``None`` when nothing is declared.
    """
    if (declared := _declared_hook(name, "declared_tasks")) is not None:
        return declared(name)
    manifest = local_manifest(name)
    if manifest is None:
        return None
    if isinstance(manifest.get("tasks"), dict):
        declared = sorted(manifest["tasks"])
    else:
        declared = [manifest["task"]] if isinstance(manifest.get("task"), str) else None
    _check_declared(name, declared)
    return declared


def _check_declared(name: str, declared: list[str] | None) -> None:
    """A manifest that names a task this installation does not know is a ``ModelError``: the run would say
    "trained on nope; scoring only that" and score nothing (exit 5), the misspelling never named."""
    from oraclebench.tasks import TASKS

    unknown = [t for t in declared or () if t not in TASKS]
    if unknown:
        raise ModelError(f"{name}: its manifest says it was trained on {unknown[0]!r}, which is no task here "
                         f"(tasks: {', '.join(sorted(TASKS))}); fix the manifest's task, or install the package "
                         f"that provides it")


def local_manifest(name: str) -> dict | None:
    """The ``manifest.json`` beside a local checkpoint named ``hf:``/``transplant:``/``vllm-local:PATH``
    (options after ``?`` ignored), or a ``python:MODULE:FUNCTION``'s ``FUNCTION.manifest``; None when
    there is none. The one place that reads it without loading the model (a ``python:`` callable's
    module is imported, not called)."""
    import json
    from pathlib import Path

    prefix, _, spec = name.partition(":")
    if prefix == "python":
        from oraclebench.models.pycall import declared_manifest

        return declared_manifest(spec)
    if prefix not in ("hf", "transplant", "vllm-local"):
        return None
    try:
        manifest = json.loads((Path(spec.split("?")[0]).expanduser() / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def manifest_source(name: str) -> str:
    """Where a model's manifest is written, as a fix names it: ``answer.manifest``, ``PATH/manifest.json``
    (the places ``local_manifest`` reads)."""
    prefix, _, spec = name.partition(":")
    if prefix == "python":
        return f"{spec.rsplit(':', 1)[-1]}.manifest"
    if prefix in ("hf", "transplant", "vllm-local"):
        return f"{spec.split('?')[0].rstrip('/')}/manifest.json"
    return "its manifest.json"


def declared_training(name: str, options: dict[str, Any] | None = None) -> dict[str, dict] | None:
    """What a model trained on, known without loading it: ``{task: training_data}`` (see
    ``Task.training_problems``), from a reference recipe's settings or the ``manifest.json`` beside a
    local checkpoint or a ``python:`` callable's ``manifest`` (``training_data``, or a ``tasks`` table of
    them). ``None`` when nothing is declared.
    """
    if (declared := _declared_hook(name, "declared_training")) is not None:
        return declared(name, options)
    return manifest_training(local_manifest(name))


def manifest_training(manifest: dict | None) -> dict[str, dict] | None:
    """``{task: training_data}`` as a model manifest records it (``training_data`` beside ``task``, or a
    ``tasks`` table of them); ``None`` when it records none. The one reader of ``training_data``: the
    runner labels records ``trained`` by it, ``declared_training`` reads it before any model is loaded."""
    if not isinstance(manifest, dict):
        return None
    if isinstance(manifest.get("training_data"), dict) and isinstance(manifest.get("task"), str):
        return {manifest["task"]: manifest["training_data"]}
    tables = manifest.get("tasks") if isinstance(manifest.get("tasks"), dict) else {}
    found = {t: m["training_data"] for t, m in tables.items()
             if isinstance(m, dict) and isinstance(m.get("training_data"), dict)}
    return found or None


def declared_splits(name: str, options: dict[str, Any] | None = None) -> dict[str, dict] | None:
    """What a model saw in training, known without loading it: ``{task: the task's manifest}`` (causal:
    the omitted inputs and the world), from a reference recipe's settings or the ``manifest.json``
    beside a local checkpoint or a ``python:`` callable's ``manifest`` (``split``, or a ``tasks``
    table). ``None`` when nothing is declared.
    """
    if name in NAMES:
        training = declared_training(name, options)
        return {t: d["split"] for t, d in (training or {}).items() if isinstance(d, dict) and d.get("split")} or None
    manifest = local_manifest(name)
    if manifest is None:
        return None
    if isinstance(manifest.get("tasks"), dict):
        return {t: m for t, m in manifest["tasks"].items() if isinstance(m, dict)} or None
    if isinstance(manifest.get("task"), str) and isinstance(manifest.get("split"), dict):
        return {manifest["task"]: manifest["split"]}
    return None


def _declared_hook(name: str, hook: str):
    """The ``hook`` function (``declared_tasks``/``declared_training``) beside a plain name's factory, if
    its module has one: a name's factory module says what the model trained on, so this registry
    needs no per-model branch (the reference recipes answer from ``oraclebench.training.recipes``)."""
    if name not in NAMES:
        return None
    return getattr(importlib.import_module(NAMES[name].split(":")[0]), hook, None)


def known_names() -> list[str]:
    return sorted(NAMES) + [f"{p}:..." for p in sorted(PATTERNS)]


def _factory(target: str, what: str):
    """The factory ``target`` names; a missing optional dependency is a ``ModelError`` naming its extra."""
    module, attr = target.split(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        missing = missing_extra(exc, what)
        raise ModelError(str(missing) if missing else f"cannot load {target}: {exc}") from exc


def _require(key: str, what: str) -> None:
    """Check, before anything is loaded, that the extra ``key`` (a name or a pattern) needs is installed."""
    if key in EXTRAS:
        try:
            require(EXTRAS[key], what)
        except MissingExtra as exc:
            raise ModelError(str(exc)) from None


def resolve(name: str) -> tuple[str, str]:
    """(the factory's ``module:attr``, what it is called with) for ``name``, importing nothing.

    Raises ``ModelError`` naming the problem for an unknown name or an empty ``prefix:`` (so
    ``--collect-only`` checks the name without loading the model)."""
    if name in NAMES:
        return NAMES[name], name
    prefix, sep, spec = name.partition(":")
    if sep and prefix in PATTERNS:
        if not spec:
            raise ModelError(f"model {name!r} needs something after '{prefix}:' (for example {prefix}:PATH)")
        return PATTERNS[prefix], spec
    near = difflib.get_close_matches(name, list(NAMES) + [p + ":" for p in PATTERNS], n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise ModelError(f"unknown model {name!r}{hint}; known: {', '.join(known_names())}")


def load_model(name: str, options: dict[str, Any] | None = None) -> Model:
    """The adapter for ``name``; an unknown name is a ``ModelError`` listing what exists, and a name whose
    extra is not installed one naming it (``hf: needs torch: pip install "oraclebench[local]"``)."""
    target, spec = resolve(name)
    key = name if name in NAMES else name.partition(":")[0]
    what = name if name in NAMES else f"{key}:"
    _require(key, what)
    return _factory(target, what)(spec, dict(options or {}))


__all__ = ["load_model", "local_manifest", "manifest_source", "resolve", "known_names", "DESCRIPTIONS", "declared_tasks", "declared_training", "manifest_training", "declared_splits", "NAMES", "PATTERNS", "Adapter", "Model", "ModelError", "Request", "Response"]
