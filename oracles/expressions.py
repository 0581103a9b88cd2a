"""The world language: typed expressions over booleans and small integers, parsed, never ``eval``-ed.

An expression (loosest binding first): ``IF c THEN a ELSE b``; ``OR``; ``XOR``; ``AND``; ``NOT``;
comparisons ``== != < <= > >=`` (not chained); ``+``, ``-``; then literals, names, parentheses and
``sum(x, y, ...)``. A tokenizer and a precedence-climbing (Pratt) parser build the tree
(``Const``, ``Var``, ``Not``, ``Binary``, ``If``, ``Call``); ``infer`` gives each node's type and
range, ``evaluate`` its exact value. ``oracles.causal`` builds worlds of equations from these trees.
Pure: no torch, no pytest.

>>> str(parse_expression("a or (b xor not c)"))
'a OR b XOR NOT c'
>>> evaluate(parse_expression("IF n >= 2 THEN 1 ELSE 0"), {"n": 3})
1
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence, Union

__all__ = [
    "WorldError", "Const", "Var", "Not", "Binary", "If", "Call", "Expr", "Kind", "parse_expression", "parse_tree",
    "evaluate", "infer", "variables", "operators", "children",
]

KEYWORDS = ("NOT", "AND", "XOR", "OR", "IF", "THEN", "ELSE")
GROUPS = ("inputs", "outputs")  # the arguments of sum() that stand for all inputs / all outputs
FUNCTIONS = ("sum",)
MAX_DEPTH = 100  # NOTs, IFs and parentheses nested in one expression
MAX_TOKENS = 500  # tokens of one expression: a chain of operators is a tree that deep
MAX_INT = 999  # the largest literal and range bound: values stay small
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
ARITHMETIC = ("+", "-")
BOOLEAN_OPS = ("OR", "XOR", "AND")
BINARY_OPS = BOOLEAN_OPS + COMPARISONS + ARITHMETIC
# Binding power of each binary operator (higher binds tighter); NOT sits between AND and the comparisons.
POWER = {"OR": 10, "XOR": 20, "AND": 30, **dict.fromkeys(COMPARISONS, 50), "+": 60, "-": 60}
NOT_POWER, ATOM_POWER = 40, 100
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
BOOL, INT = "bool", "int"


class WorldError(ValueError):
    """A world that cannot be used; the message says where (file, equation, line, column) and the fix."""

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
    column: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"NOT {_wrap(self.operand, NOT_POWER, False)}"


@dataclass(frozen=True)
class Binary:
    op: str  # one of BINARY_OPS
    left: "Expr"
    right: "Expr"
    column: int = field(default=0, compare=False)  # the operator's

    def __str__(self) -> str:
        power = POWER[self.op]
        chained = self.op in COMPARISONS  # comparisons do not chain: a comparison operand keeps its parentheses
        return f"{_wrap(self.left, power, chained)} {self.op} {_wrap(self.right, power, True)}"


@dataclass(frozen=True)
class If:
    cond: "Expr"
    then: "Expr"
    orelse: "Expr"
    column: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"IF {self.cond} THEN {self.then} ELSE {self.orelse}"


@dataclass(frozen=True)
class Call:
    """``sum(args)``; an argument ``Var("inputs")``/``Var("outputs")`` stands for the whole group."""

    name: str
    args: tuple["Expr", ...]
    column: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))})"


Expr = Union[Const, Var, Not, Binary, If, Call]


def _power(expr: Expr) -> int:
    if isinstance(expr, Binary):
        return POWER[expr.op]
    if isinstance(expr, Not):
        return NOT_POWER
    if isinstance(expr, If):
        return 0
    return ATOM_POWER


def _wrap(expr: Expr, parent: int, right: bool) -> str:
    # Parenthesise a looser operand, and a right operand of equal binding (operators associate left).
    inner = _power(expr)
    return f"({expr})" if inner < parent or (right and inner == parent) else str(expr)


def _columns(expr: Expr) -> int:
    """Where ``expr`` starts in its text (its first token's column): a binary expression starts with its left."""
    while isinstance(expr, Binary):
        expr = expr.left
    return getattr(expr, "column", 0)


def _sum_args(expr: Call, env: dict[str, int], groups: dict[str, Sequence[str]]) -> list[int]:
    out = []
    for arg in expr.args:
        if isinstance(arg, Var) and arg.name in GROUPS:
            out += [env[n] for n in groups[arg.name]]
        else:
            out.append(evaluate(arg, env, groups))
    return out


_BINARY = {
    "AND": lambda a, b: a & b, "XOR": lambda a, b: a ^ b, "OR": lambda a, b: a | b,
    "+": lambda a, b: a + b, "-": lambda a, b: a - b,
    "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b), "<": lambda a, b: int(a < b),
    "<=": lambda a, b: int(a <= b), ">": lambda a, b: int(a > b), ">=": lambda a, b: int(a >= b),
}


def evaluate(expr: Expr, env: dict[str, int], groups: dict[str, Sequence[str]] | None = None) -> int:
    """The value of ``expr`` (0/1 for a boolean) with variables from ``env``.

    ``groups`` maps ``inputs``/``outputs`` to the names ``sum(inputs)`` adds up.

    >>> evaluate(parse_expression("A OR NOT B AND C"), {"A": 0, "B": 0, "C": 1})
    1
    >>> evaluate(parse_expression("IF N > 1 THEN N - 1 ELSE 0"), {"N": 3})
    2
    """
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Var):
        return env[expr.name]
    if isinstance(expr, Not):
        return 1 - evaluate(expr.operand, env, groups)
    if isinstance(expr, If):
        return evaluate(expr.then if evaluate(expr.cond, env, groups) else expr.orelse, env, groups)
    if isinstance(expr, Call):
        return sum(_sum_args(expr, env, groups or {}))
    return _BINARY[expr.op](evaluate(expr.left, env, groups), evaluate(expr.right, env, groups))


def children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Not):
        return (expr.operand,)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, If):
        return (expr.cond, expr.then, expr.orelse)
    if isinstance(expr, Call):
        return expr.args
    return ()


def variables(expr: Expr) -> list[Var]:
    """The variable occurrences of ``expr``, left to right (``inputs``/``outputs`` in ``sum`` included)."""
    if isinstance(expr, Var):
        return [expr]
    return [v for child in children(expr) for v in variables(child)]


def operators(expr: Expr) -> list[str]:
    """The operators of ``expr``, outermost first: ``AND``, ``+``, ``NOT``, ``IF``, ``sum``, ..."""
    own = [expr.op] if isinstance(expr, Binary) else ["NOT"] if isinstance(expr, Not) else \
        ["IF"] if isinstance(expr, If) else [expr.name] if isinstance(expr, Call) else []
    return own + [op for child in children(expr) for op in operators(child)]


class SyntaxProblem(Exception):
    """A syntax error of the world language: what is wrong, where (``column``, 1-based; 0: the whole
    text), and the fix, which every syntax error names (``message``: ``problem; fix``)."""

    def __init__(self, problem: str, column: int, fix: str):
        self.message, self.column = f"{problem}; {fix}", column
        super().__init__(self.message)


class _Token(NamedTuple):
    kind: str  # "name", "int", a keyword, an operator, "(", ")", "," or "end"
    text: str
    column: int


_SYMBOLS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "(", ")", ",")


def _tokens(text: str) -> list[_Token]:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif sym := next((s for s in _SYMBOLS if text.startswith(s, i)), None):
            out.append(_Token(sym, sym, i + 1))
            i += len(sym)
        elif ch.isdigit():
            j = i
            while j < len(text) and text[j].isalnum():
                j += 1
            if not text[i:j].isdigit() or int(text[i:j]) > MAX_INT:
                raise SyntaxProblem(f"bad literal '{text[i:j]}'", i + 1,
                                    f"write a whole number 0..{MAX_INT}, or a name that starts with a letter")
            out.append(_Token("int", text[i:j], i + 1))
            i = j
        elif m := NAME.match(text, i):
            word = m.group()
            kind = word.upper() if word.upper() in KEYWORDS else "name"
            out.append(_Token(kind, word, i + 1))
            i = m.end()
        else:
            fix = {"&": "write AND", "|": "write OR", "^": "write XOR", "!": "write NOT",
                   "=": "compare with ==", "*": "only + and - (repeat a term to multiply)"}.get(
                ch, "write names, whole numbers, AND OR XOR NOT IF THEN ELSE, == != < <= > >=, + -, parentheses "
                    "and commas only")
            raise SyntaxProblem(f"unexpected character {ch!r}", i + 1, fix)
    out.append(_Token("end", "", len(text) + 1))
    if len(out) > MAX_TOKENS:
        raise SyntaxProblem(f"more than {MAX_TOKENS} tokens", out[MAX_TOKENS].column,
                            "split the expression over several equations")
    return out


class _Parser:
    """Precedence climbing (a Pratt parser): ``expression(p)`` reads a prefix (atom, NOT, IF, a
    parenthesis, a call), then every binary operator that binds tighter than ``p``, left to right."""

    def __init__(self, text: str):
        self.tokens, self.pos, self.depth = _tokens(text), 0, 0
        self.open: list[int] = []  # the columns of the parentheses not closed yet: an error at the end closes them

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expect(self, kind: str, fix: str) -> _Token:
        if self.peek().kind != kind:
            raise SyntaxProblem(f"expected {kind if kind.isalpha() else repr(kind)} {_found(self.peek())}",
                                self.peek().column, self.closing(fix, self.peek()))
        return self.take()

    def closing(self, fix: str, found: _Token) -> str:
        """``fix``, and where the expression ended (``found``) with parentheses open, closing them too."""
        if found.kind != "end" or not self.open:
            return fix
        return f"{fix}, and {_missing(len(self.open))}"

    def nest(self, tok: _Token) -> None:
        # A bound on nesting keeps parsing, evaluating and printing a hostile world within the stack.
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SyntaxProblem(f"nested more than {MAX_DEPTH} deep (NOTs, IFs and parentheses)", tok.column,
                                "simplify the expression, or split it over several equations")

    def expression(self, power: int) -> Expr:
        left, compared = self.prefix(), False  # compared: ``left`` is a comparison read in this loop
        while (tok := self.peek()).kind in POWER and POWER[tok.kind] > power:
            self.take()
            if tok.kind in COMPARISONS and compared:
                raise SyntaxProblem("comparisons do not chain", tok.column, f"write a {left.op} b AND b {tok.kind} c")
            left = Binary(tok.kind, left, self.expression(POWER[tok.kind]), tok.column)
            compared = tok.kind in COMPARISONS
        return left

    def prefix(self) -> Expr:
        tok = self.take()
        if tok.kind == "int":
            return Const(int(tok.text))
        if tok.kind == "name":
            if self.peek().kind == "(":
                return self.call(tok)
            return Var(tok.text, tok.column)
        if tok.kind == "NOT":
            self.nest(tok)
            expr = Not(self.expression(NOT_POWER), tok.column)
            self.depth -= 1
            return expr
        if tok.kind == "IF":
            self.nest(tok)
            cond = self.expression(0)
            self.expect("THEN", "write IF condition THEN value ELSE value")
            then = self.expression(0)
            self.expect("ELSE", "write IF condition THEN value ELSE value (an IF needs its ELSE)")
            expr = If(cond, then, self.expression(0), tok.column)
            self.depth -= 1
            return expr
        if tok.kind == "(":
            self.nest(tok)
            self.open.append(tok.column)
            expr = self.expression(0)
            if self.peek().kind != ")":
                raise SyntaxProblem(f"expected ')' {_found(self.peek())}", self.peek().column,
                                    _missing(len(self.open)) if self.peek().kind == "end" else
                                    f"{_missing(1)}, or join the two with an operator (AND, OR, ==...)")
            self.open.pop()
            self.take()
            self.depth -= 1
            return expr
        before = self.tokens[self.pos - 2] if self.pos >= 2 else None
        fix = (f"give '{before.text}' its operand (a variable, a number, NOT, IF or a parenthesis)"
               if before is not None and before.kind not in ("(", ",") else
               "write a variable, a number, NOT, IF or a parenthesis there")
        raise SyntaxProblem(f"expected a variable, a number, NOT, IF or '(' {_found(tok)}", tok.column,
                            self.closing(fix, tok))

    def call(self, name: _Token) -> Call:
        if name.text not in FUNCTIONS:
            raise SyntaxProblem(f"unknown function '{name.text}'", name.column,
                                f"use one of the functions: {', '.join(FUNCTIONS)}")
        opened = self.take()
        self.nest(opened)
        self.open.append(opened.column)
        args = [self.expression(0)]
        while self.peek().kind == ",":
            self.take()
            args.append(self.expression(0))
        if self.peek().kind != ")":
            raise SyntaxProblem(f"expected ',' or ')' {_found(self.peek())}", self.peek().column,
                                f"separate {name.text}'s arguments with ',' and close it with ')'")
        self.open.pop()
        self.take()
        self.depth -= 1
        return Call(name.text, tuple(args), name.column)

    def whole(self) -> Expr:
        expr = self.expression(0)
        if self.peek().kind != "end":
            tok = self.peek()
            fix = ("remove it, or open its parenthesis earlier" if tok.kind == ")" else
                   f"join '{tok.text}' to what comes before with an operator (AND, OR, XOR, ==, +...), or remove it")
            raise SyntaxProblem(f"expected an operator {_found(tok)}", tok.column, fix)
        return expr


def _missing(n: int) -> str:
    # No column here: a world file's message counts columns on its line, not in the expression.
    return "add the missing ')'" if n == 1 else f"add the {n} missing ')'"


def _found(tok: _Token) -> str:
    return "but the expression ends" if tok.kind == "end" else f"but found '{tok.text}'"


def parse_tree(text: str) -> Expr:
    if not text.strip():
        raise SyntaxProblem("empty expression", 0, "write one, e.g. \"A XOR C\"")
    return _Parser(text).whole()


def parse_expression(text: str) -> Expr:
    """The syntax tree of one expression; a syntax error is a ``WorldError`` naming the column.

    >>> str(parse_expression("a or (b xor not c)"))
    'a OR b XOR NOT c'
    >>> str(parse_expression("if n >= 2 then a else (b and c)"))
    'IF n >= 2 THEN a ELSE b AND c'
    """
    try:
        return parse_tree(text)
    except SyntaxProblem as e:
        at = f" at column {e.column} of {text!r}" if e.column else ""
        problem, sep, fix = e.message.partition("; ")
        raise WorldError(f"{problem}{at}{sep}{fix}") from None


# --------------------------------------------------------------------------- types and ranges


class TypeProblem(Exception):
    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.message, self.column = message, column


class Kind(NamedTuple):
    """A value's type and range: ``bool`` is 0..1; ``int`` any range of small integers."""

    type: str
    lo: int
    hi: int


def _describe(expr: Expr) -> str:
    return f"'{expr}'" if len(str(expr)) <= 30 else f"'{str(expr)[:27]}...'"


def _bool_operand(expr: Expr, kind: Kind, op: str) -> None:
    if kind.type != BOOL:
        raise TypeProblem(f"{op} needs booleans but {_describe(expr)} is a number ({kind.lo}..{kind.hi}); "
                         f"compare it, e.g. {_describe(expr)[1:-1]} > 0", _columns(expr) or 1)


def infer(expr: Expr, scope: dict[str, Kind], groups: dict[str, Sequence[str]]) -> Kind:
    """The type and range of ``expr`` given the variables' (``scope``); a type error names its column."""
    if isinstance(expr, Const):
        return Kind(BOOL if expr.value in (0, 1) else INT, expr.value, expr.value)
    if isinstance(expr, Var):
        return scope[expr.name]
    if isinstance(expr, Not):
        _bool_operand(expr.operand, infer(expr.operand, scope, groups), "NOT")
        return Kind(BOOL, 0, 1)
    if isinstance(expr, If):
        _bool_operand(expr.cond, infer(expr.cond, scope, groups), "IF's condition")
        a, b = infer(expr.then, scope, groups), infer(expr.orelse, scope, groups)
        return Kind(BOOL if a.type == b.type == BOOL else INT, min(a.lo, b.lo), max(a.hi, b.hi))
    if isinstance(expr, Call):
        kinds = [scope[n] for arg in expr.args if isinstance(arg, Var) and arg.name in GROUPS
                 for n in groups[arg.name]]
        kinds += [infer(arg, scope, groups) for arg in expr.args if not (isinstance(arg, Var) and arg.name in GROUPS)]
        return Kind(INT, sum(k.lo for k in kinds), sum(k.hi for k in kinds))
    a, b = infer(expr.left, scope, groups), infer(expr.right, scope, groups)
    if expr.op in BOOLEAN_OPS:
        _bool_operand(expr.left, a, expr.op)
        _bool_operand(expr.right, b, expr.op)
        return Kind(BOOL, 0, 1)
    if expr.op in COMPARISONS:
        return Kind(BOOL, 0, 1)
    if expr.op == "+":
        return Kind(INT, a.lo + b.lo, a.hi + b.hi)
    return Kind(INT, a.lo - b.hi, a.hi - b.lo)


