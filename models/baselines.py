"""Two reference models that need no weights.

- ``oracle``: answers every request from the task's oracle, rendered as a perfect model would write
  it. It scores 100% everywhere, so it proves the pipeline (render, parse, score, results).
- ``random``: a seeded chance baseline. A choice is a coin flip; a generation is the rendered answer
  of another random problem of the same task: well-formed, and right only by chance.
"""

from __future__ import annotations

import hashlib
import random
from typing import Sequence

from oraclebench.models.base import Adapter, ModelError, check_options
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Request, Response


def _need_problem(request: Request, who: str) -> None:
    if not request.task:
        raise ModelError(f"the {who} model answers only task requests (this one has no task/problem attached)")


class OracleModel(Adapter):
    """Answers from the exact oracle: 100% by construction."""

    def __init__(self, name: str = "oracle", options: dict | None = None):
        check_options(name, options, ())
        self.name = name

    def complete(self, requests: Sequence[Request]) -> list[Response]:
        out = []
        for r in requests:
            _need_problem(r, "oracle")
            task = get_task(r.task)
            problem = task.decode(r.problem)
            out.append(Response(text=task.render_answer(problem, task.solve(problem))))
        return out

    def choose(self, requests: Sequence[Request]) -> list[Response]:
        out = []
        for r in requests:
            _need_problem(r, "oracle")
            task = get_task(r.task)
            problem = task.decode(r.problem)
            text = task.render_answer(problem, task.solve(problem)).strip()
            out.append(Response(text=text, choice=r.choices.index(text)))
        return out


class RandomModel(Adapter):
    """Chance level, reproducible: the answer depends only on the seed and the prompt."""

    def __init__(self, name: str = "random", options: dict | None = None):
        options = options or {}
        check_options(name, options, ("seed",))
        self.seed = int(options.get("seed", 0))
        self.name = name  # the run's model name, as every adapter's; the seed is in the identity

    def identity(self) -> str:
        return f"random@{self.seed}"

    def _rng(self, request: Request) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}\0{request.prompt}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def complete(self, requests: Sequence[Request]) -> list[Response]:
        out = []
        for r in requests:
            _need_problem(r, "random")
            task = get_task(r.task)
            other = task.sample(self._rng(r).randrange(2**31), 0)
            out.append(Response(text=task.render_answer(other, task.solve(other))))
        return out

    def choose(self, requests: Sequence[Request]) -> list[Response]:
        out = []
        for r in requests:
            k = self._rng(r).randrange(len(r.choices))
            out.append(Response(text=r.choices[k], choice=k))
        return out
