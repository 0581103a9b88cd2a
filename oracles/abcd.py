"""The ABCD rewriting system (Taelin's A::B challenge, in CleverGPT's spelling) and its trace checker.

Four tokens and four rules on neighbouring tokens::

    A B -> (nothing)    A D -> D A    C B -> B C    C D -> (nothing)

Taelin wrote the tokens ``A# #A B# #B``; CleverGPT renamed them ``A B C D`` (A=A#, B=#A, C=B#,
D=#B). Both spellings are read; ours is written.

Why the system is easy to solve without simulating it: A and C only ever move right, B and D only
left, and the only interactions are A meeting B (both vanish), C meeting D (both vanish), and A/D or
C/B passing each other. So the A/B tokens cancel like brackets, independently of the C/D tokens, and
the normal form is the uncancelled B/D tokens followed by the uncancelled A/C tokens, each in their
original order. The system is confluent and every complete reduction takes the same number of steps.

>>> normal_form(parse_program("C A D B C"))
('C',)
>>> [format_program(line) for line in trace(parse_program("C A D B C"))]
['C A D B C', 'C D A B C', 'A B C', 'C']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

Program = tuple[str, ...]

TOKENS: tuple[str, ...] = ("A", "B", "C", "D")
EMPTY = "(empty)"  # how a program with no tokens is written
SPELLINGS: dict[str, str] = {"A": "A", "B": "B", "C": "C", "D": "D", "A#": "A", "#A": "B", "B#": "C", "#B": "D"}

RIGHT_MOVERS = frozenset("AC")  # after rewriting, these only ever end up further right
ANNIHILATE = frozenset({("A", "B"), ("C", "D")})
SWAP = frozenset({("A", "D"), ("C", "B")})
PARTNER = {"A": "B", "C": "D", "B": "A", "D": "C"}  # which token a token cancels against
PASSES = {"D": "A", "B": "C"}  # the right-mover a left-mover may move past

# The reasons a trace line can be bad, in check_trace's words.
WRONG_REWRITE = "wrong rewrite"
SKIPPED_STEPS = "skipped steps"
STOPPED_EARLY = "stopped early"
GARBAGE = "garbage"


# --------------------------------------------------------------------------- reading and writing


def parse_program(text: str) -> Program:
    """The tokens of a program written with spaces; ``(empty)`` or blank is the empty program.

    >>> parse_program("A# #B B#")
    ('A', 'D', 'C')
    """
    words = text.split()
    if words == [EMPTY]:
        return ()
    return tuple(_token(word, i) for i, word in enumerate(words))


def _token(word: str, i: int) -> str:
    if word not in SPELLINGS:
        raise ValueError(f"unknown token {word!r} at position {i}; use A B C D (or A# #A B# #B)")
    return SPELLINGS[word]


def format_program(tokens: Sequence[str]) -> str:
    """The program as written in prompts and traces: tokens joined by spaces, or ``(empty)``."""
    return " ".join(tokens) if tokens else EMPTY


# --------------------------------------------------------------------------- single steps


def redexes(tokens: Sequence[str]) -> list[int]:
    """Positions ``i`` where a rule applies to ``tokens[i], tokens[i + 1]``.

    >>> redexes(("C", "A", "D", "B"))
    [1]
    """
    return [i for i in range(len(tokens) - 1) if (tokens[i], tokens[i + 1]) in ANNIHILATE | SWAP]


def step(tokens: Sequence[str], at: int | None = None) -> Program | None:
    """Rewrite the redex at position ``at`` (default: the leftmost); ``None`` if no rule applies.

    A position that is not a redex is a ``ValueError``.
    """
    tokens = tuple(tokens)
    if at is None:
        found = redexes(tokens)
        if not found:
            return None
        at = found[0]
    pair = tokens[at : at + 2]
    if pair in ANNIHILATE:
        return tokens[:at] + tokens[at + 2 :]
    if pair in SWAP:
        return tokens[:at] + (pair[1], pair[0]) + tokens[at + 2 :]
    raise ValueError(f"no rule applies at position {at} of {format_program(tokens)!r}")


def successors(tokens: Sequence[str]) -> set[Program]:
    """Every program one rewrite away from ``tokens``."""
    return {step(tokens, i) for i in redexes(tokens)}  # type: ignore[misc]


def trace(tokens: Sequence[str]) -> list[Program]:
    """The canonical reduction, leftmost redex first: the program, each step, and the normal form last.

    >>> trace(("C", "A", "B"))
    [('C', 'A', 'B'), ('C',)]
    """
    lines = [tuple(tokens)]
    while (nxt := step(lines[-1])) is not None:
        lines.append(nxt)
    return lines


# --------------------------------------------------------------------------- solving in linear time


def partners(tokens: Sequence[str]) -> list[int]:
    """For each position, the position of the token it eventually cancels against, or -1.

    A/B tokens pair up like brackets (A opens, B closes), and so do C/D, each ignoring the other
    kind: a B moves left past C's until it meets the nearest uncancelled A. One pass, two stacks.
    """
    out = [-1] * len(tokens)
    open_at: dict[str, list[int]] = {"A": [], "C": []}
    for i, tok in enumerate(tokens):
        if tok in RIGHT_MOVERS:
            open_at[tok].append(i)
        elif open_at[PARTNER[tok]]:
            j = open_at[PARTNER[tok]].pop()
            out[i], out[j] = j, i
    return out


def normal_form(tokens: Sequence[str]) -> Program:
    """The program no rule applies to any more, in O(n) without simulating a step.

    >>> normal_form(("C", "A", "B"))
    ('C',)
    """
    tokens = tuple(tokens)
    survivors = [tok for tok, mate in zip(tokens, partners(tokens)) if mate == -1]
    return tuple(t for t in survivors if t not in RIGHT_MOVERS) + tuple(t for t in survivors if t in RIGHT_MOVERS)


def step_count(tokens: Sequence[str]) -> int:
    """How many rewrites every complete reduction of ``tokens`` takes (the same for every order).

    One per cancelled pair, plus one per right-mover x and later left-mover y of the other kind
    that pass each other: neither is cancelled before they meet, that is x's partner lies beyond y
    and y's partner before x. Quadratic, for bucketing small programs.
    """
    mate = partners(tokens)
    count = sum(1 for m in mate if m != -1) // 2
    for x, tx in enumerate(tokens):
        if tx not in RIGHT_MOVERS:
            continue
        for y in range(x + 1, len(tokens)):
            if PASSES.get(tokens[y]) == tx and (mate[x] == -1 or mate[x] > y) and mate[y] < x:
                count += 1
    return count


# --------------------------------------------------------------------------- reachability


def reachable(source: Sequence[str], target: Sequence[str]) -> bool:
    """Whether rewriting ``source`` zero or more times can give ``target``.

    Exact, by this characterisation: a reachable program keeps some of source's tokens and drops the
    rest, where (1) the dropped tokens are cancelled pairs (``partners``), and a dropped pair takes
    every pair strictly inside it along (their tokens could not get out from between); (2) kept
    right-movers stay in order, and so do kept left-movers; (3) a kept left-mover ends up left of a
    kept right-mover that was before it only if it passed it: a D passes only A's, a B only C's. Each
    such choice is reachable (cancel pairs innermost first, moving the other kind out of the way,
    then bubble the left-movers into place). A left-to-right scan over source keeps the set of
    partial choices; ``tests/test_abcd.py`` checks it against breadth-first search.
    """
    s, t = tuple(source), tuple(target)
    if len(t) > len(s) or (len(s) - len(t)) % 2 or normal_form(s) != normal_form(t):
        return False
    mate = partners(s)
    t_right = [tok for tok in t if tok in RIGHT_MOVERS]
    t_left = _left_movers_with_rank(t)  # (left-mover, how many right-movers precede it in target)
    # run[letter][k]: the first index >= k of t_right whose token is not `letter`
    run = {letter: _runs(t_right, letter) for letter in "AC"}

    # a state: (right-movers kept, left-movers kept, ends of open pairs chosen to be dropped)
    states: set[tuple[int, int, frozenset[int]]] = {(0, 0, frozenset())}
    for p, tok in enumerate(s):
        nxt: set[tuple[int, int, frozenset[int]]] = set()
        for kept_r, kept_l, dropped in states:
            end = mate[p]
            if p in dropped:  # closing a dropped pair
                nxt.add((kept_r, kept_l, dropped - {p}))
                continue
            if end > p:  # opening a pair: drop it, or keep it unless it sits inside a dropped pair
                nxt.add((kept_r, kept_l, dropped | {end}))
                if any(end < outer for outer in dropped):
                    continue
            if tok in RIGHT_MOVERS:
                if kept_r < len(t_right) and t_right[kept_r] == tok:
                    nxt.add((kept_r + 1, kept_l, dropped))
            elif kept_l < len(t_left):
                letter, rank = t_left[kept_l]
                if letter == tok and rank <= kept_r and run[PASSES[tok]][rank] >= kept_r:
                    nxt.add((kept_r, kept_l + 1, dropped))
        states = nxt
    return (len(t_right), len(t_left), frozenset()) in states


def _left_movers_with_rank(t: Program) -> list[tuple[str, int]]:
    out, rights = [], 0
    for tok in t:
        if tok in RIGHT_MOVERS:
            rights += 1
        else:
            out.append((tok, rights))
    return out


def _runs(seq: list[str], letter: str) -> list[int]:
    out = [len(seq)] * (len(seq) + 1)
    for k in range(len(seq) - 1, -1, -1):
        out[k] = k if seq[k] != letter else out[k + 1]
    return out


# --------------------------------------------------------------------------- checking a trace


@dataclass(frozen=True)
class TraceVerdict:
    """Whether a trace is a valid complete reduction; if not, its first bad line (0-based) and why.

    ``reason`` is one of ``wrong rewrite``, ``skipped steps``, ``stopped early``, ``garbage`` (empty
    when ``ok``). ``final_ok`` says whether the last line is the normal form, valid steps or not.
    """

    ok: bool
    bad_line: int | None
    reason: str
    final_ok: bool


def check_trace(program: Sequence[str], lines: Sequence[str | Sequence[str]]) -> TraceVerdict:
    """Check a reduction of ``program`` written as ``lines`` (the program itself not repeated).

    Each line (a string, or a sequence of tokens) must follow from the previous one by exactly one
    rewrite anywhere, and the last line must be the normal form. A program already in normal form
    is answered by one line repeating it. A bad line is ``garbage`` (unknown token), ``skipped
    steps`` (reachable, but by two or more rewrites), ``wrong rewrite`` (otherwise), or, on the last
    line only, ``stopped early`` (a valid step that is not the normal form; also an empty trace,
    at line 0).

    >>> check_trace(("C", "A", "D", "B", "C"), ["C D A B C", "C"])
    TraceVerdict(ok=False, bad_line=1, reason='skipped steps', final_ok=True)
    """
    prev = tuple(program)
    goal = normal_form(prev)
    parsed = [_line_tokens(line) for line in lines]
    final_ok = bool(parsed) and parsed[-1] == goal

    def bad(i: int, reason: str) -> TraceVerdict:
        return TraceVerdict(False, i, reason, final_ok)

    if not parsed:
        return bad(0, STOPPED_EARLY)
    for i, line in enumerate(parsed):
        if line is None:
            return bad(i, GARBAGE)
        if i == 0 and line == prev == goal:  # the one-line answer for a program in normal form
            continue
        if line not in successors(prev):
            return bad(i, SKIPPED_STEPS if line != prev and reachable(prev, line) else WRONG_REWRITE)
        prev = line
    if prev != goal:
        return bad(len(parsed) - 1, STOPPED_EARLY)
    return TraceVerdict(True, None, "", final_ok)


def _line_tokens(line: str | Sequence[str]) -> Program | None:
    """A trace line as tokens, or ``None`` when it is not a program."""
    try:
        if isinstance(line, str):
            return parse_program(line)
        return tuple(_token(word, i) for i, word in enumerate(line))
    except (ValueError, TypeError):
        return None
