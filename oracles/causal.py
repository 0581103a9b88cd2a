"""Structural-equation worlds (the-experiment): parse one from TOML, type-check it, evaluate it exactly.

A world has named inputs (booleans, or small integers in a range), ordered equations that define
new variables (the outputs), and summary values written on the answer's last line. An equation may
use the inputs and any output defined above it. Evaluating a world on one input gives the outputs,
in equation order, and the summary values (the seed's ``sum(old) - sum(new)`` by default).

World files are TOML::

    name = "default"                      # optional; defaults to the file's stem
    description = "the-experiment"        # optional, free text
    inputs = ["A", "B", "C", "D", "E"]    # the order of the comma-separated prompt; "N:0..3" is an integer
    [equations]                           # in order: TOML tables keep their key order
    newA = "A XOR C"
    newB = "NOT D"
    newC = "B AND E"
    newD = "A OR newB"                    # uses newB, defined above
    [summary]                             # optional; this is the default (the seed's "3 - 1" line)
    old_sum = "sum(inputs)"
    new_sum = "sum(outputs)"

Expressions (loosest binding first): ``IF c THEN a ELSE b``; ``OR``; ``XOR``; ``AND``; ``NOT``;
comparisons ``== != < <= > >=`` (not chained); ``+``, ``-``; then literals (``0``, ``1``, ``7``),
names, parentheses and ``sum(x, y, ...)`` (``inputs`` and, in the summary, ``outputs`` stand for
all of them). Keywords are case-insensitive and so cannot be names. Values are booleans (0/1) or
small integers; a boolean counts as 0/1 in arithmetic and comparisons (the seed adds booleans), but
``NOT``/``AND``/``XOR``/``OR`` and an ``IF`` condition take booleans only: ``N AND A`` is a type
error whose fix is a comparison (``N > 0 AND A``). The text is parsed by a tokenizer and a
precedence-climbing parser into a typed tree (``oracles/expressions.py``); nothing is ever passed
to ``eval``.

A bad world is a ``WorldError`` whose one-line message says where and how to fix it::

    world.toml: equation newD (line 12): unknown variable 'F' at column 14; define it or use one of A, B, ...

>>> DEFAULT_WORLD.evaluate([0, 1, 1, 1, 0]).new
(1, 0, 0, 0)
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Sequence

from oraclebench.oracles.expressions import (  # the language's names stay importable from here
    BOOL, BOOLEAN_OPS, FUNCTIONS, GROUPS, INT, KEYWORDS, MAX_INT, NAME, Binary, Call, Const, Expr, If, Kind, Not,
    SyntaxProblem, TypeProblem, Var, WorldError, evaluate, infer, operators, parse_expression, parse_tree, variables,
)

__all__ = [
    "WorldError", "Const", "Var", "Not", "Binary", "If", "Call", "Expr", "Equation", "World", "Outcome",
    "parse_expression", "parse_world", "load_world", "evaluate", "variables", "measures", "generate_world",
    "DEFAULT_WORLD", "DEFAULT_WORLD_TOML",
]

DEFAULT_WORLD_TOML = '''\
# the-experiment's world: five boolean inputs, four structural equations.
# To make your own world, copy this file: inputs are the prompt's comma-separated values, in order;
# equations run top to bottom and may use the inputs and the new variables defined above them.
# Operators: NOT, AND, XOR, OR (tightest first), 0, 1, ( ); + - == < IF-THEN-ELSE sum(): README "Worlds".
name = "default"
inputs = ["A", "B", "C", "D", "E"]

[equations]
newA = "A XOR C"
newB = "NOT D"
newC = "B AND E"
newD = "A OR newB"
'''

MAX_INPUTS = 64  # inputs of one world (a prompt of 64 values is already long for a small model)
MAX_EQUATIONS = 256  # equations, and summary lines, of one world
DEFAULT_SUMMARY = (("old_sum", "sum(inputs)"), ("new_sum", "sum(outputs)"))
RESERVED = tuple(n for n, _ in DEFAULT_SUMMARY)  # kept for the default summary's names
_RANGE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*")


# --------------------------------------------------------------------------- worlds


class Equation(NamedTuple):
    """``name = expr``; unpacks as ``name, expr``; ``text`` is the expression written back."""

    name: str
    expr: Expr

    @property
    def text(self) -> str:
        return str(self.expr)


@dataclass(frozen=True)
class Outcome:
    """One evaluation: the outputs in equation order and the summary values in theirs."""

    inputs: tuple[int, ...]
    names: tuple[str, ...]
    new: tuple[int, ...]
    summary: tuple[tuple[str, int], ...] = ()

    @property
    def values(self) -> dict[str, int]:
        """Outputs by name, in equation order."""
        return dict(zip(self.names, self.new))

    @property
    def summary_values(self) -> dict[str, int]:
        return dict(self.summary)

    @property
    def old_sum(self) -> int | None:
        return self.summary_values.get("old_sum")

    @property
    def new_sum(self) -> int | None:
        return self.summary_values.get("new_sum")


def _default_summary() -> tuple[Equation, ...]:
    return tuple(Equation(name, parse_tree(text)) for name, text in DEFAULT_SUMMARY)


@dataclass(frozen=True)
class World:
    """Named inputs (``domains``: each one's (lo, hi); booleans are (0, 1)), ordered structural
    equations over them, and the summary values of the answer's last line.

    ``text``: the TOML it was read from (its ``sha256`` identifies the world in manifests).
    """

    name: str
    inputs: tuple[str, ...]
    equations: tuple[Equation, ...]
    domains: tuple[tuple[int, int], ...] | None = None
    summary: tuple[Equation, ...] | None = None
    text: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.domains is None:
            object.__setattr__(self, "domains", tuple((0, 1) for _ in self.inputs))
        if self.summary is None:
            object.__setattr__(self, "summary", _default_summary())
        problem = _first_problem(self.inputs, self.domains, self.equations, self.summary)
        if problem is not None:
            where, message, _ = problem
            raise WorldError(f"world {self.name}: {where}: {message}")

    @property
    def new_names(self) -> tuple[str, ...]:
        return tuple(eq.name for eq in self.equations)

    @property
    def summary_names(self) -> tuple[str, ...]:
        return tuple(eq.name for eq in self.summary)

    @property
    def sha256(self) -> str:
        """The SHA-256 of the world's TOML text (of its canonical form when built in Python)."""
        return hashlib.sha256((self.text or self.canonical()).encode("utf-8")).hexdigest()

    @property
    def space(self) -> int:
        """How many inputs the world has: the product of its inputs' domain sizes."""
        n = 1
        for lo, hi in self.domains:
            n *= hi - lo + 1
        return n

    def kinds(self) -> dict[str, Kind]:
        """Every input's, output's and summary value's type and range."""
        return dict(_kinds(self))

    def _kinds(self) -> dict[str, Kind]:
        scope, groups = self._scope()
        for eq in self.summary:
            scope[eq.name] = infer(eq.expr, scope, groups)
        return scope

    def _scope(self) -> tuple[dict[str, Kind], dict[str, Sequence[str]]]:
        scope = {n: Kind(BOOL if d == (0, 1) else INT, *d) for n, d in zip(self.inputs, self.domains)}
        groups = {"inputs": self.inputs, "outputs": self.new_names}
        for eq in self.equations:
            scope[eq.name] = infer(eq.expr, scope, groups)
        return scope, groups

    def evaluate(self, inputs: Sequence[int]) -> Outcome:
        """Apply the equations in order to one input (a value per input, in ``self.inputs`` order)."""
        values = tuple(inputs)
        if len(values) != len(self.inputs) or any(
                isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi
                for v, (lo, hi) in zip(values, self.domains)):
            raise ValueError(f"world {self.name}: input {values} is not {len(self.inputs)} values for "
                             f"{self.describe_inputs()}")
        env = {name: int(v) for name, v in zip(self.inputs, values)}
        groups = {"inputs": self.inputs, "outputs": self.new_names}
        for eq in self.equations:
            env[eq.name] = evaluate(eq.expr, env, groups)
        summary = tuple((eq.name, evaluate(eq.expr, env, groups)) for eq in self.summary)
        return Outcome(values, self.new_names, tuple(env[eq.name] for eq in self.equations), summary)

    def describe_inputs(self) -> str:
        """``A,B,N`` with each integer input's range: ``A,B,N (0..3)``; all-boolean worlds say ``0/1``."""
        ranges = [f"{n} {lo}..{hi}" for n, (lo, hi) in zip(self.inputs, self.domains) if (lo, hi) != (0, 1)]
        return ",".join(self.inputs) + (f" (0/1; {', '.join(ranges)})" if ranges else "")

    def canonical(self) -> str:
        """The world written back as TOML (what ``parse_world`` reads to an equal world)."""
        inputs = ", ".join(f'"{n}"' if d == (0, 1) else f'"{n}:{d[0]}..{d[1]}"' for n, d in zip(self.inputs, self.domains))
        lines = [f'name = "{self.name}"', f"inputs = [{inputs}]", "", "[equations]"]
        lines += [f'{eq.name} = "{eq.text}"' for eq in self.equations]
        if [(eq.name, eq.text) for eq in self.summary] != list(DEFAULT_SUMMARY):
            lines += ["", "[summary]"] + [f'{eq.name} = "{eq.text}"' for eq in self.summary]
        return "\n".join(lines) + "\n"


@functools.lru_cache(maxsize=256)
def _kinds(world: World) -> tuple[tuple[str, Kind], ...]:
    return tuple(world._kinds().items())


def _name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return f"{name!r} is not a name (letters, digits and '_', not starting with a digit)"
    if name.upper() in KEYWORDS:
        return f"{name!r} is a keyword ({', '.join(KEYWORDS)}), not a name; rename it"
    if name in GROUPS or name in FUNCTIONS:
        return f"{name!r} is reserved (sum(inputs), sum(outputs)); rename it"
    return None


def _cycle(start: str, equations: Sequence[Equation]) -> list[str] | None:
    """A path ``start -> ... -> start`` through the equations' uses, or None."""
    uses = {eq.name: [v.name for v in variables(eq.expr)] for eq in equations}

    def walk(name: str, path: list[str]) -> list[str] | None:
        for used in uses.get(name, ()):
            if used == start:
                return path + [used]
            if used in uses and used not in path:
                found = walk(used, path + [used])
                if found:
                    return found
        return None

    return walk(start, [start])


def _use_problem(var: Var, eq: Equation, defined: set[str], equations: Sequence[Equation],
                 summary: bool) -> str | None:
    if var.name in defined:
        return None
    if var.name == "outputs" and not summary:
        return "sum(outputs) is for the [summary] lines; in an equation, name the outputs it adds"
    if var.name in GROUPS:
        return None
    if var.name == eq.name and not summary:
        return f"'{var.name}' is used in its own equation; an output cannot depend on itself"
    later = [e.name for e in equations]
    if var.name in later and not summary:
        cycle = _cycle(eq.name, equations)
        if cycle:
            return f"cycle between outputs {' -> '.join(cycle)}; an output cannot depend on itself, break the cycle"
        return f"variable '{var.name}' is used before its equation; move {eq.name} below {var.name}"
    return f"unknown variable '{var.name}'; define it or use one of {', '.join(sorted(defined))}"


def _first_problem(inputs: Sequence[str], domains: Sequence[tuple[int, int]], equations: Sequence[Equation],
                   summary: Sequence[Equation]) -> tuple[str, str, int] | None:
    """The first thing wrong with a world, as (where, message, column-in-expression), or None."""
    if not inputs:
        return "inputs", "no inputs; list at least one, e.g. inputs = [\"A\", \"B\"]", 0
    for name in inputs:
        if (problem := _name_problem(name)) is not None:
            return "inputs", problem, 0
    if len(inputs) > MAX_INPUTS:
        return "inputs", f"{len(inputs)} inputs; a world has at most {MAX_INPUTS}, split it into smaller worlds", 0
    if len(equations) > MAX_EQUATIONS or len(summary) > MAX_EQUATIONS:
        return "equations", f"more than {MAX_EQUATIONS} equations or summary lines; split the world", 0
    if len(set(inputs)) != len(inputs):
        dup = next(n for n in inputs if list(inputs).count(n) > 1)
        return "inputs", f"input '{dup}' is listed twice; list each input once", 0
    if not equations:
        return "equations", "no equations; add an [equations] table with at least one", 0
    defined = set(inputs)
    scope = {n: Kind(BOOL if d == (0, 1) else INT, *d) for n, d in zip(inputs, domains)}
    groups = {"inputs": tuple(inputs), "outputs": tuple(eq.name for eq in equations)}
    for section, eqs in (("equation", equations), ("summary", summary)):
        for eq in eqs:
            where = f"{section} {eq.name}"
            if (problem := _name_problem(eq.name)) is not None:
                return where, problem, 0
            for var in variables(eq.expr):
                if (problem := _use_problem(var, eq, defined, equations, section == "summary")) is not None:
                    return where, problem, var.column
            if eq.name in defined:
                kind = "an input" if eq.name in inputs else "defined twice"
                return where, f"'{eq.name}' is {kind}; new variables need new names", 0
            try:
                scope[eq.name] = infer(eq.expr, scope, groups)
            except TypeProblem as e:
                return where, e.message, e.column
            if section == "equation":
                defined.add(eq.name)
    return None


# --------------------------------------------------------------------------- complexity


def measures(world: World) -> dict:
    """The world's complexity: what ``oraclebench worlds generate`` writes beside each world.

    Returns ``{"variables": inputs, "equations": outputs, "depth": the longest chain of equations
    (an equation over inputs only is 1, one using an output of depth d is d + 1), "dependent_outputs":
    outputs that use another output, "operators": {operator: occurrences}, "input_space": inputs' count}``.
    """
    outputs = set(world.new_names)
    depth: dict[str, int] = {}
    dependent = 0
    ops: Counter = Counter()
    for eq in world.equations:
        used = {v.name for v in variables(eq.expr)} & outputs
        depth[eq.name] = 1 + max((depth[u] for u in used), default=0)
        dependent += bool(used)
        ops.update(operators(eq.expr))
    return {"variables": len(world.inputs), "equations": len(world.equations), "depth": max(depth.values()),
            "dependent_outputs": dependent, "operators": dict(sorted(ops.items())), "input_space": world.space}


def generate_world(rng: random.Random, inputs_count: int, depth: int, name: str = "world") -> World:
    """A random well-formed all-boolean world of ``inputs_count`` inputs whose dependency depth is ``depth``.

    Equations: one chain of ``depth`` outputs, each using the one before (so the depth is exact), and
    ``max(1, inputs_count // 2)`` more over the inputs and the outputs of depth below ``depth - 1``
    (so none is deeper than the chain), all in a random order; each combines two or three operands
    with AND/OR/XOR, an operand negated now and then, sometimes inside ``IF x THEN ... ELSE y``, each
    variable named at most once in an equation (so every one it names matters: no ``X XOR X``). The
    summary is the seed's ``sum(inputs) - sum(outputs)``.
    """
    if not 1 <= depth <= 8 or not 1 <= inputs_count <= 16:
        raise WorldError(f"generate: inputs must be 1..16 and depth 1..8, not {inputs_count} and {depth}")
    inputs = tuple(chr(ord("A") + i) for i in range(inputs_count))
    levels: dict[str, int] = {}  # output -> its dependency depth
    equations: list[Equation] = []

    def term(pool: Sequence[str]) -> Expr:
        leaf: Expr = Var(rng.choice(list(pool)))
        return Not(leaf) if rng.random() < 0.25 else leaf

    def draw(first: Expr, pool: Sequence[str]) -> Expr:
        expr = first
        for _ in range(rng.choice((1, 1, 2))):
            expr = Binary(rng.choice(BOOLEAN_OPS), expr, term(pool))
        if rng.random() < 0.15:  # now and then a choice: IF x THEN expr ELSE y
            expr = If(term(pool), expr, term(pool))
        return expr

    def combine(first: Expr, pool: Sequence[str]) -> Expr:
        # Each variable named once (a read-once formula, which depends on every variable it names): "X XOR X"
        # is always 0 and "D OR E OR NOT E" always 1, yet they counted as depth and operators. Drawn again
        # until so, which keeps the draws of an equation that was read-once already.
        for _ in range(READ_ONCE_TRIES):
            expr = draw(first, pool)
            if _read_once(expr):
                return expr
        # Too few variables for that many operands: the first operand with one other, or alone.
        others = sorted(set(pool) - {v.name for v in variables(first)})
        return Binary(rng.choice(BOOLEAN_OPS), first, term(others)) if others else first

    extra = max(1, inputs_count // 2)
    chain_at = set(rng.sample(range(depth + extra), depth))  # where the chain's equations go
    chain_prev: str | None = None
    for k in range(depth + extra):
        out = f"new{k + 1}"
        if k in chain_at:
            expr = combine(Var(chain_prev) if chain_prev else term(inputs), inputs)
            levels[out] = levels[chain_prev] + 1 if chain_prev else 1
            chain_prev = out
        else:
            pool = list(inputs) + [n for n, d in levels.items() if d < depth - 1]
            expr = combine(term(pool), pool)
            used = {v.name for v in variables(expr)} & set(levels)
            levels[out] = 1 + max((levels[u] for u in used), default=0)
        equations.append(Equation(out, expr))
    return with_canonical_text(World(name, inputs, tuple(equations)))


READ_ONCE_TRIES = 64  # draws of an equation before falling back to fewer operands (a pool of one or two)


def _read_once(expr: Expr) -> bool:
    """Whether ``expr`` names each variable at most once."""
    names = [v.name for v in variables(expr)]
    return len(names) == len(set(names))


def with_canonical_text(world: World) -> World:
    """``world`` carrying its canonical TOML as its text (so its hash is that of the file written)."""
    text = world.canonical()
    return World(world.name, world.inputs, world.equations, world.domains, world.summary, text)


# --------------------------------------------------------------------------- TOML files


_TOP_KEYS = ("name", "description", "inputs", "equations", "summary")


def _line_of(text: str, key: str, table: str | None) -> tuple[int, str] | None:
    """(1-based line number, line) where ``key = ...`` is written in ``[table]`` (None: top level)."""
    current: str | None = None
    pattern = re.compile(rf"""\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    for n, line in enumerate(text.splitlines(), 1):
        if header := re.match(r"\s*\[\s*([^\]]+?)\s*\]", line):
            current = header.group(1)
        elif current == table and pattern.match(line):
            return n, line
    return None


_SECTIONS = {"equation": "equations", "summary": "summary"}


def _locate(text: str, source: str, where: str, message: str, column: int = 0, expr: str | None = None) -> WorldError:
    """The error for ``where`` ("inputs", "equation newD", "summary s"), with its line and column when found."""
    section, _, key = where.partition(" ")
    if section in _SECTIONS and key:
        found = _line_of(text, key, _SECTIONS[section])
    else:
        found = _line_of(text, where, None)
    head = f"{source}: {where}"
    if found is None:
        if column and expr is not None:
            message = _at(message, f" at column {column} of {expr!r}")
        return WorldError(f"{head}: {message}")
    line_no, line = found
    if column and expr is not None:
        # The expression's column in the file, when it is written as a plain one-line string.
        start = max(line.find(q + expr + q, line.index("=")) for q in ('"', "'"))
        message = _at(message, f" at column {start + 1 + column}" if start >= 0 else f" at column {column} of {expr!r}")
    return WorldError(f"{head} (line {line_no}): {message}")


def _at(message: str, where: str) -> str:
    """``where`` after the problem and before its fix (``unknown variable 'F' at column 14; define it``)."""
    problem, sep, fix = message.partition("; ")
    return f"{problem}{where}{sep}{fix}"


def _read_inputs(raw: list) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]] | str:
    """Names and domains of ``inputs = ["A", "N:0..3"]``, or the problem with one entry."""
    names, domains = [], []
    for item in raw:
        if isinstance(item, str) and ":" in item:
            m = _RANGE.fullmatch(item)
            if not m:
                return f"{item!r}: write an integer input as \"N:0..3\" (name, then its smallest and largest value)"
            lo, hi = int(m.group(2)), int(m.group(3))
            if not -MAX_INT <= lo < hi <= MAX_INT or hi - lo > 99:
                return (f"{item!r}: the range must go up (lo < hi), within -{MAX_INT}..{MAX_INT}, with at most 100 "
                        "values; e.g. \"N:0..3\"")
            names.append(m.group(1))
            domains.append((lo, hi))
        else:
            names.append(item)
            domains.append((0, 1))
    return tuple(names), tuple(domains)


def _expressions(text: str, source: str, table: object, section: str, example: str) -> list[Equation]:
    if not isinstance(table, dict):
        raise _locate(text, source, _SECTIONS[section],
                      f'{_SECTIONS[section]} must be a table: [{_SECTIONS[section]}] then {example}')
    out = []
    for key, expr_text in table.items():
        if not isinstance(expr_text, str):
            raise _locate(text, source, f"{section} {key}", 'the expression must be a string, e.g. "A XOR C"')
        try:
            out.append(Equation(key, parse_tree(expr_text)))
        except SyntaxProblem as e:
            raise _locate(text, source, f"{section} {key}", e.message, e.column, expr_text) from None
    return out


def parse_world(text: str, source: str = "<world>") -> World:
    """The world a TOML text defines (format in the module docstring); ``source`` names it in errors.

    >>> parse_world('inputs = ["x"]\\n[equations]\\ny = "NOT x"').evaluate([1]).new
    (0,)
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise WorldError(f"{source}: not valid TOML: {e}; see the format in tasks/worlds/default.toml") from None
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise WorldError(f"{source}: unknown key(s) {', '.join(unknown)}; a world has {', '.join(_TOP_KEYS)}")
    name = data.get("name", Path(source).stem if source != "<world>" else "world")
    raw_inputs = data.get("inputs")
    if not isinstance(name, str):
        raise _locate(text, source, "name", "name must be a string")
    if raw_inputs is None:
        raise WorldError(f'{source}: inputs: missing; add a list of names, e.g. inputs = ["A", "B"]')
    if not isinstance(raw_inputs, list):
        raise _locate(text, source, "inputs", 'inputs must be a list of names, e.g. inputs = ["A", "B"]')
    read = _read_inputs(raw_inputs)
    if isinstance(read, str):
        raise _locate(text, source, "inputs", read)
    inputs, domains = read
    equations = _expressions(text, source, data.get("equations", {}), "equation", 'newA = "A XOR C"')
    summary_table = data.get("summary", dict(DEFAULT_SUMMARY))
    summary = _expressions(text, source, summary_table, "summary", 'old_sum = "sum(inputs)"')
    problem = _first_problem(inputs, domains, equations, summary)
    if problem is not None:
        where, message, column = problem
        section, _, key = where.partition(" ")
        table = data.get(_SECTIONS.get(section, ""), summary_table if section == "summary" else {})
        expr = table.get(key) if isinstance(table, dict) and key else None
        raise _locate(text, source, where, message, column, expr if isinstance(expr, str) else None)
    return World(name, inputs, tuple(equations), domains, tuple(summary), text)


DEFAULT_WORLD = parse_world(DEFAULT_WORLD_TOML, "default")


@functools.lru_cache(maxsize=64)
def _load_file(path: str, mtime_ns: int, size: int) -> World:
    # Keyed on the file's mtime and size, so an edited world is read again.
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise WorldError(f"{path}: not UTF-8 text (byte {exc.start}); save the world as UTF-8 TOML") from None
    except OSError as exc:
        raise WorldError(f"{path}: cannot be read ({exc.strerror or exc}); check its path and permissions") from None
    return parse_world(text, path)


def load_world(name_or_path: str | Path) -> World:
    """``"default"`` (the-experiment's world) or the world in a ``.toml`` file at that path."""
    if str(name_or_path) == "default":
        return DEFAULT_WORLD
    path = Path(name_or_path)
    try:
        stat = path.stat()
    except OSError:
        raise WorldError(f"{name_or_path}: no such world file; use 'default' or a path to a .toml world") from None
    if not path.is_file():
        raise WorldError(f"{name_or_path}: not a file; use 'default' or a path to a .toml world")
    return _load_file(str(path), stat.st_mtime_ns, stat.st_size)
