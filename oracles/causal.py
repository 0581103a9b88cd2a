"""Boolean structural-equation worlds (the-experiment): parse one from TOML, evaluate it exactly.

A world has named boolean inputs and ordered equations that define new variables. An equation may
use the inputs and any new variable defined above it. Evaluating a world on one input gives the new
values, in equation order, and the two sums of the line ``sum(old) - sum(new)``.

World files are TOML::

    name = "default"                      # optional; defaults to the file's stem
    description = "the-experiment"        # optional, free text
    inputs = ["A", "B", "C", "D", "E"]    # the order of the comma-separated prompt
    [equations]                           # in order: TOML tables keep their key order
    newA = "A XOR C"
    newB = "NOT D"
    newC = "B AND E"
    newD = "A OR newB"                    # uses newB, defined above

Expressions use ``NOT``, ``AND``, ``XOR``, ``OR`` (binding in that order, tightest first; the
keywords are case-insensitive and so cannot be variable names), parentheses and the literals
``0``/``1``. Names are identifiers (``[A-Za-z_][A-Za-z0-9_]*``); ``old_sum`` and ``new_sum`` are
reserved for the sums. A bad world is a ``WorldError`` whose one-line message says where::

    world.toml: equation newD (line 8): unknown variable 'F' at column 14

>>> DEFAULT_WORLD.evaluate([0, 1, 1, 1, 0])
Outcome(inputs=(0, 1, 1, 1, 0), names=('newA', 'newB', 'newC', 'newD'), new=(1, 0, 0, 0), old_sum=3, new_sum=1)
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Sequence, Union

__all__ = [
    "WorldError", "Const", "Var", "Not", "Binary", "Expr", "Equation", "World", "Outcome",
    "parse_expression", "parse_world", "load_world", "DEFAULT_WORLD", "DEFAULT_WORLD_TOML",
]

DEFAULT_WORLD_TOML = '''\
# the-experiment's world: five boolean inputs, four structural equations.
# To make your own world, copy this file: inputs are the prompt's comma-separated values, in order;
# equations run top to bottom and may use the inputs and the new variables defined above them.
# Operators: NOT, AND, XOR, OR (binding in that order, tightest first), parentheses, 0 and 1.
name = "default"
inputs = ["A", "B", "C", "D", "E"]

[equations]
newA = "A XOR C"
newB = "NOT D"
newC = "B AND E"
newD = "A OR newB"
'''

KEYWORDS = ("NOT", "AND", "XOR", "OR")
MAX_DEPTH = 100  # NOTs and parentheses nested in one expression
MAX_TOKENS = 500  # tokens of one expression: a chain of operators is a tree that deep
RESERVED = ("old_sum", "new_sum")
BINARY_OPS = ("OR", "XOR", "AND")  # loosest first: the order of the grammar's levels
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class WorldError(ValueError):
    """A world that cannot be used; the message says where (file, equation, line, column)."""


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Const:
    value: int

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Var:
    name: str
    column: int = field(default=0, compare=False)  # 1-based, in the expression text: for errors only

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Not:
    operand: "Expr"

    def __str__(self) -> str:
        inner = str(self.operand)
        return f"NOT {inner}" if isinstance(self.operand, (Const, Var, Not)) else f"NOT ({inner})"


@dataclass(frozen=True)
class Binary:
    op: str  # "AND", "XOR" or "OR"
    left: "Expr"
    right: "Expr"

    def __str__(self) -> str:
        return f"{_wrap(self.left, self.op, False)} {self.op} {_wrap(self.right, self.op, True)}"


Expr = Union[Const, Var, Not, Binary]


def _wrap(expr: Expr, parent: str, right: bool) -> str:
    # Parenthesise a looser operand, and a right operand of equal binding (operators associate left).
    if isinstance(expr, Binary):
        loose = BINARY_OPS.index(expr.op) < BINARY_OPS.index(parent)
        if loose or (right and expr.op == parent):
            return f"({expr})"
    return str(expr)


def evaluate(expr: Expr, env: dict[str, int]) -> int:
    """The value (0 or 1) of ``expr`` with variables from ``env``.

    >>> evaluate(parse_expression("A OR NOT B AND C"), {"A": 0, "B": 0, "C": 1})
    1
    """
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Var):
        return env[expr.name]
    if isinstance(expr, Not):
        return 1 - evaluate(expr.operand, env)
    a, b = evaluate(expr.left, env), evaluate(expr.right, env)
    return {"AND": a & b, "XOR": a ^ b, "OR": a | b}[expr.op]


def variables(expr: Expr) -> list[Var]:
    """The variable occurrences of ``expr``, left to right."""
    if isinstance(expr, Var):
        return [expr]
    if isinstance(expr, Not):
        return variables(expr.operand)
    if isinstance(expr, Binary):
        return variables(expr.left) + variables(expr.right)
    return []


class _SyntaxError(Exception):
    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.message, self.column = message, column


class _Token(NamedTuple):
    kind: str  # "name", "const", a keyword, "(", ")" or "end"
    text: str
    column: int


def _tokens(text: str) -> list[_Token]:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Token(ch, ch, i + 1))
            i += 1
        elif ch.isdigit():
            j = i
            while j < len(text) and text[j].isalnum():
                j += 1
            if text[i:j] not in ("0", "1"):
                raise _SyntaxError(f"bad literal '{text[i:j]}' (only 0 and 1)", i + 1)
            out.append(_Token("const", text[i:j], i + 1))
            i = j
        elif m := _NAME.match(text, i):
            word = m.group()
            kind = word.upper() if word.upper() in KEYWORDS else "name"
            out.append(_Token(kind, word, i + 1))
            i = m.end()
        else:
            raise _SyntaxError(f"unexpected character {ch!r}", i + 1)
    out.append(_Token("end", "", len(text) + 1))
    if len(out) > MAX_TOKENS:
        raise _SyntaxError(f"more than {MAX_TOKENS} tokens; split the expression over several equations",
                           out[MAX_TOKENS].column)
    return out


class _Parser:
    """Recursive descent over ``or := xor (OR xor)*``, ``xor := and (XOR and)*``,
    ``and := not (AND not)*``, ``not := NOT not | atom``, ``atom := 0 | 1 | name | ( or )``."""

    def __init__(self, text: str):
        self.tokens, self.pos, self.depth = _tokens(text), 0, 0

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        self.pos += 1
        return self.tokens[self.pos - 1]

    def binary(self, level: int) -> Expr:
        if level == len(BINARY_OPS):
            return self.negation()
        op = BINARY_OPS[level]
        expr = self.binary(level + 1)
        while self.peek().kind == op:
            self.take()
            expr = Binary(op, expr, self.binary(level + 1))
        return expr

    def nest(self, tok: _Token) -> None:
        # A bound on nesting keeps parsing, evaluating and printing a hostile world within the stack.
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _SyntaxError(f"nested more than {MAX_DEPTH} deep (NOTs and parentheses); simplify the expression",
                               tok.column)

    def negation(self) -> Expr:
        if self.peek().kind == "NOT":
            self.nest(self.take())
            expr = Not(self.negation())
            self.depth -= 1
            return expr
        return self.atom()

    def atom(self) -> Expr:
        tok = self.take()
        if tok.kind == "const":
            return Const(int(tok.text))
        if tok.kind == "name":
            return Var(tok.text, tok.column)
        if tok.kind == "(":
            self.nest(tok)
            expr = self.binary(0)
            if self.peek().kind != ")":
                raise _SyntaxError(f"expected ')' {_found(self.peek())}", self.peek().column)
            self.take()
            self.depth -= 1
            return expr
        raise _SyntaxError(f"expected a variable, 0, 1, NOT or '(' {_found(tok)}", tok.column)

    def whole(self) -> Expr:
        expr = self.binary(0)
        if self.peek().kind != "end":
            raise _SyntaxError(f"expected an operator {_found(self.peek())}", self.peek().column)
        return expr


def _found(tok: _Token) -> str:
    return "but the expression ends" if tok.kind == "end" else f"but found '{tok.text}'"


def _parse(text: str) -> Expr:
    if not text.strip():
        raise _SyntaxError("empty expression", 0)
    return _Parser(text).whole()


def parse_expression(text: str) -> Expr:
    """The syntax tree of one expression; a syntax error is a ``WorldError`` naming the column.

    >>> str(parse_expression("a or (b xor not c)"))
    'a OR b XOR NOT c'
    """
    try:
        return _parse(text)
    except _SyntaxError as e:
        at = f" at column {e.column} of {text!r}" if e.column else ""
        raise WorldError(f"{e.message}{at}") from None


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
    """One evaluation: the new values in equation order and both sums."""

    inputs: tuple[int, ...]
    names: tuple[str, ...]
    new: tuple[int, ...]
    old_sum: int
    new_sum: int

    @property
    def values(self) -> dict[str, int]:
        """New values by name, in equation order."""
        return dict(zip(self.names, self.new))


@dataclass(frozen=True)
class World:
    """Named boolean inputs and ordered structural equations over them."""

    name: str
    inputs: tuple[str, ...]
    equations: tuple[Equation, ...]

    def __post_init__(self) -> None:
        problem = _first_problem(self.inputs, self.equations)
        if problem is not None:
            where, message, _ = problem
            raise WorldError(f"world {self.name}: {where}: {message}")

    @property
    def new_names(self) -> tuple[str, ...]:
        return tuple(eq.name for eq in self.equations)

    def evaluate(self, inputs: Sequence[int]) -> Outcome:
        """Apply the equations in order to one input (a sequence of 0/1, in ``self.inputs`` order)."""
        values = tuple(inputs)
        if len(values) != len(self.inputs) or any(v not in (0, 1) for v in values):
            raise ValueError(f"world {self.name}: input {values} is not {len(self.inputs)} values of 0/1 "
                             f"(for {', '.join(self.inputs)})")
        env = {name: int(v) for name, v in zip(self.inputs, values)}
        for eq in self.equations:
            env[eq.name] = evaluate(eq.expr, env)
        new = tuple(env[eq.name] for eq in self.equations)
        return Outcome(tuple(int(v) for v in values), self.new_names, new, sum(values), sum(new))


def _name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return f"{name!r} is not a name (letters, digits and '_', not starting with a digit)"
    if name.upper() in KEYWORDS:
        return f"{name!r} is a keyword ({', '.join(KEYWORDS)}), not a name"
    if name in RESERVED:
        return f"{name!r} is reserved for the sums"
    return None


def _first_problem(inputs: Sequence[str], equations: Sequence[Equation]) -> tuple[str, str, int] | None:
    """The first thing wrong with a world, as (where, message, column-in-expression), or None."""
    if not inputs:
        return "inputs", "no inputs; list at least one, e.g. inputs = [\"A\", \"B\"]", 0
    for name in inputs:
        if (problem := _name_problem(name)) is not None:
            return "inputs", problem, 0
    if len(set(inputs)) != len(inputs):
        dup = next(n for n in inputs if list(inputs).count(n) > 1)
        return "inputs", f"input '{dup}' is listed twice", 0
    if not equations:
        return "equations", "no equations; add an [equations] table with at least one", 0
    defined = set(inputs)
    later = {eq.name for eq in equations}
    for eq in equations:
        where = f"equation {eq.name}"
        if (problem := _name_problem(eq.name)) is not None:
            return where, problem, 0
        for var in variables(eq.expr):
            if var.name in defined:
                continue
            if var.name == eq.name:
                return where, f"'{var.name}' is used in its own equation", var.column
            if var.name in later:
                return where, f"variable '{var.name}' is used before its equation", var.column
            return where, f"unknown variable '{var.name}'", var.column
        if eq.name in defined:
            kind = "an input" if eq.name in inputs else "defined twice"
            return where, f"'{eq.name}' is {kind}; new variables need new names", 0
        defined.add(eq.name)
    return None


# --------------------------------------------------------------------------- TOML files


_TOP_KEYS = ("name", "description", "inputs", "equations")


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


def _locate(text: str, source: str, where: str, message: str, column: int = 0, expr: str | None = None) -> WorldError:
    """The error for ``where`` ("inputs", "equation newD"), with its line and column when they can be found."""
    if where.startswith("equation "):
        found = _line_of(text, where.removeprefix("equation "), "equations")
    else:
        found = _line_of(text, where, None)
    head = f"{source}: {where}"
    if found is None:
        if column and expr is not None:
            message += f" at column {column} of {expr!r}"
        return WorldError(f"{head}: {message}")
    line_no, line = found
    if column and expr is not None:
        # The expression's column in the file, when it is written as a plain one-line string.
        start = max(line.find(q + expr + q, line.index("=")) for q in ('"', "'"))
        message += f" at column {start + 1 + column}" if start >= 0 else f" at column {column} of {expr!r}"
    return WorldError(f"{head} (line {line_no}): {message}")


def parse_world(text: str, source: str = "<world>") -> World:
    """The world a TOML text defines (format in the module docstring); ``source`` names it in errors.

    >>> parse_world('inputs = ["x"]\\n[equations]\\ny = "NOT x"').evaluate([1]).new
    (0,)
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise WorldError(f"{source}: not valid TOML: {e}") from None
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise WorldError(f"{source}: unknown key(s) {', '.join(unknown)}; a world has {', '.join(_TOP_KEYS)}")
    name = data.get("name", Path(source).stem if source != "<world>" else "world")
    inputs = data.get("inputs")
    table = data.get("equations", {})
    if not isinstance(name, str):
        raise _locate(text, source, "name", "name must be a string")
    if inputs is None:
        raise WorldError(f'{source}: inputs: missing; add a list of names, e.g. inputs = ["A", "B"]')
    if not isinstance(inputs, list):
        raise _locate(text, source, "inputs", 'inputs must be a list of names, e.g. inputs = ["A", "B"]')
    if not isinstance(table, dict):
        raise _locate(text, source, "equations", 'equations must be a table: [equations] then newA = "A XOR C"')
    equations = []
    for key, expr_text in table.items():
        if not isinstance(expr_text, str):
            raise _locate(text, source, f"equation {key}", 'the expression must be a string, e.g. "A XOR C"')
        try:
            equations.append(Equation(key, _parse(expr_text)))
        except _SyntaxError as e:
            raise _locate(text, source, f"equation {key}", e.message, e.column, expr_text) from None
    problem = _first_problem(inputs, equations)
    if problem is not None:
        where, message, column = problem
        expr = table.get(where.removeprefix("equation ")) if where.startswith("equation ") else None
        raise _locate(text, source, where, message, column, expr if isinstance(expr, str) else None)
    return World(name, tuple(inputs), tuple(equations))


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
