"""Scoring a trained reference model: where its checkpoint lives and the adapter that reads it.

The recipes that train ``gpt2-causal``, ``gpt2-abcd``, ``gpt2-mult`` and ``gpt2-mult-scratchpad``
live with training (``oraclebench.training.recipes``), a layer above this one: the model registry
names ``oraclebench.training.recipes:load_reference`` for those names, which trains a missing
checkpoint and then calls ``load_checkpoint`` here. This module only finds and reads checkpoints.

``gpt2-mult-scratchpad`` is trained on worked answers. Asked a plain question ("Q: What is 47 ×
23? A:"), it is asked the worked form instead and its answer is the worked answer's final line:
the response reads `` 1081`` then the work, so the plain parser sees the number first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

from oraclebench.models.hf import HFModel
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Request, Response
from oraclebench.tasks.reading import cut_at_stop


def home() -> Path:
    """``$ORACLEBENCH_HOME`` or ``~/.cache/oraclebench``."""
    return Path(os.environ.get("ORACLEBENCH_HOME") or Path.home() / ".cache" / "oraclebench").expanduser()


def checkpoint_dir(name: str) -> Path:
    return home() / "models" / name


def checkpoint_path(name: str, heldout: str | None = None, seed: int = 0, scale: float = 1.0,
                    steps: int | None = None, epochs: float | None = None) -> Path:
    """Where ``name`` lives: ``models/NAME`` for the recipe as published, ``models/NAME-<hash>`` for
    another held-out spec or seed, ``-scale<S>`` after either for a reduced training scale
    (``ORACLEBENCH_TRAIN_SCALE``), and ``-steps<N>``/``-epochs<E>`` for training cut short (``train --steps
    30`` saved over the published recipe's folder, and the next ``--model NAME`` trained the recipe over it),
    so that trying a variant, or forgetting the variable, never overwrites a checkpoint that earlier runs
    measured."""
    base = name
    if heldout is not None or seed != 0:
        base += "-" + hashlib.sha256(json.dumps([heldout, seed]).encode()).hexdigest()[:8]
    base = base if scale == 1 else f"{base}-scale{scale:g}"
    base += "" if steps is None else f"-steps{steps}"
    return checkpoint_dir(base + ("" if epochs is None else f"-epochs{epochs:g}"))


class WorkedMultiplication(HFModel):
    """The scratchpad model: a plain multiplication question is asked in its worked form, and the
    answer is the final ``= N`` line, put first (see the module docstring)."""

    def identity(self) -> str:
        return super().identity() + "+worked"

    def complete(self, requests: Sequence[Request]) -> list[Response]:
        from oraclebench.oracles.multiply import read_final, work_lines

        task = get_task("multiplication")
        asked = []
        for r in requests:
            if r.task == "multiplication" and r.problem and not r.problem.get("scratchpad"):
                worked = task.decode({**r.problem, "scratchpad": True})
                asked.append(dataclasses.replace(task.render(worked), task=r.task, problem=task.encode(worked)))
            else:
                asked.append(r)
        out = super().complete(asked)
        for r, q, resp in zip(requests, asked, out):
            if q is not r and resp.error is None:
                # The record keeps what was asked and all that was written (``detail.asked``/``written``):
                # its prompt is the plain question and its completion the answer put first.
                resp.asked, resp.written = q.prompt, resp.text
                resp.text = cut_at_stop(resp.text, q.stop)  # the worked answer as it would be scored
                lines = work_lines(resp.text)
                final = read_final(lines[-1]) if lines else None
                resp.text = resp.text if final is None else f" {final}\n{resp.text}"
                if final is None:  # no final line: cut as the worked answer was (its stop), never at the plain "\n",
                    resp.stop = tuple(q.stop)  # which left the lenient reading the first line of work only
        return out


def load_hf(spec: str, options: dict) -> HFModel:
    """``hf:PATH``: the adapter over a local checkpoint. A checkpoint whose manifest says it trained on worked
    multiplication answers (``training_data.config.scratchpad``: ``oraclebench train gpt2-mult-scratchpad
    --steps N``) is asked a plain question in that worked form and answers its final line, as
    ``gpt2-mult-scratchpad`` is (``WorkedMultiplication``): asked plainly it wrote its work, and every answer
    read no answer (0.0%, with the score command ``train`` printed). ``--model-opt worked=off`` asks it plainly.

    Raises ``ModelError`` on a ``worked`` other than auto, on or off (and as ``HFModel`` does)."""
    from oraclebench.models import declared_training
    from oraclebench.models.base import ModelError

    options = dict(options)
    mode = str(options.pop("worked", "auto")).strip().lower()
    if mode not in ("auto", "on", "off"):
        raise ModelError(f"hf:{spec}: worked={mode!r} must be one of auto|on|off")
    trained = (declared_training(f"hf:{spec}") or {}).get("multiplication") or {}
    scratchpad = bool(isinstance(trained, dict) and (trained.get("config") or {}).get("scratchpad"))
    return (WorkedMultiplication if mode == "on" or (mode == "auto" and scratchpad) else HFModel)(spec, options)


def load_checkpoint(name: str, path: Path, options: dict, worked: bool = False) -> HFModel:
    """The ``hf:`` adapter over the reference checkpoint at ``path``, reported under ``name``.

    ``worked``: the scratchpad model (``WorkedMultiplication``). Trains nothing; a missing checkpoint
    fails in ``HFModel`` like any missing ``hf:`` folder.
    """
    model = (WorkedMultiplication if worked else HFModel)(str(path), options)
    model.name = name
    return model
