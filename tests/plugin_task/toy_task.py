"""toy: add two one-digit numbers. A task from another package, in one module (the README's example).

Registered through the entry-point group ``oraclebench.tasks`` (``toy = toy_task:TASK``); nothing in
oraclebench names it. Held out: sums the manifest lists (``{"sums": [9]}``); spec ``sums=9,10``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oraclebench.tasks.base import ChatPrompt, Request, Response, Score, Stratum, Task, TaskError


@dataclass(frozen=True)
class Config:
    max_digit: int = 9


@dataclass(frozen=True)
class Sum:
    a: int
    b: int


class Toy(Task[Sum]):
    name = "toy"
    Config = Config
    Problem = Sum
    size_fields = ("a", "b")
    typed_example = "3+4"

    def generate(self, draw, config):
        return Sum(draw.integer(0, config.max_digit), draw.integer(0, config.max_digit))

    def solve(self, p):
        return p.a + p.b

    def render(self, p):
        return Request(prompt=f"{p.a}+{p.b}=", stop=("\n",), max_tokens=4)

    def render_answer(self, p, answer):
        return f"{answer}\n"

    def parse(self, text, p):
        m = re.match(r"\s*(\d+)", text)
        return int(m.group(1)) if m else None

    def score(self, p, response: Response) -> Score:
        got, want = self.parse(response.text, p), self.solve(p)
        return Score(got == want, got, want, "" if got == want else f"expected {want}", {"sum": got == want})

    def bucket(self, p):
        return {"sum": p.a + p.b}

    def label(self, p):
        return f"sum{p.a + p.b:02d}"

    def split(self, p, manifest):
        if manifest is None:
            return "unknown"
        return "heldout" if p.a + p.b in manifest.get("sums", ()) else "seen"

    def chat(self, p):
        return ChatPrompt("Answer with the sum only.", f"{p.a}+{p.b}=", 16)

    def frozen_configs(self):
        return [(Config(), 100)]

    def size(self, p):
        return (p.a, p.b)

    def strata(self, config, like=None):
        every = [Sum(a, b) for a in range(config.max_digit + 1) for b in range(config.max_digit + 1)]
        return [Stratum("all", config, lambda: iter(every), True)]

    def train_config(self, manifest):
        return Config()

    def manifest_from_spec(self, spec):
        try:
            return {"sums": [int(s) for s in spec.removeprefix("sums=").split(",")]}
        except ValueError:
            raise TaskError(f"toy: write sums=9,10, not {spec!r}") from None

    def read_input(self, text):
        m = re.fullmatch(r"\s*(\d)\s*\+\s*(\d)\s*", text)
        if not m:
            raise TaskError(f"toy: write two digits like 3+4, not {text!r}")
        return Sum(int(m.group(1)), int(m.group(2)))


TASK = Toy()
