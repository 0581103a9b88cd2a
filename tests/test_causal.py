"""The causal task and its oracle: the-experiment's world, user worlds from TOML, held-out inputs."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oraclebench.oracles.causal import (
    DEFAULT_WORLD, DEFAULT_WORLD_TOML, Binary, Const, Equation, Not, Var, World, WorldError, evaluate,
    load_world, parse_expression, parse_world,
)
from oraclebench.tasks.base import Response, TaskError
from oraclebench.tasks.causal import TASK, CausalConfig, CausalProblem, format_inputs, parse_inputs, parse_omit, training_rows

pytestmark = pytest.mark.causal

ALL_INPUTS = list(itertools.product((0, 1), repeat=5))
SEED_LINE = '{"prompt": "0,1,1,1,0", "completion": "\\n1,0,0,0\\n3 - 1\\n"}'

FULL_ADDER = '''\
name = "adder"
inputs = ["x", "y", "cin"]
[equations]
half = "x XOR y"
s = "half XOR cin"
cout = "x AND y OR cin AND half"
'''


def the_experiment(a: int, b: int, c: int, d: int, e: int) -> tuple[tuple[int, ...], int, int]:
    """The seed's four equations written out by hand, independently of the expression language."""
    new_a = a ^ c
    new_b = 1 - d
    new_c = b & e
    new_d = a | new_b
    new = (new_a, new_b, new_c, new_d)
    return new, a + b + c + d + e, sum(new)


# --------------------------------------------------------------------------- the seed's own examples


def test_the_seed_example_is_reproduced_byte_for_byte():
    p = CausalProblem((0, 1, 1, 1, 0))
    assert TASK.render(p).prompt == "0,1,1,1,0"
    assert TASK.render_answer(p, TASK.solve(p)) == "\n1,0,0,0\n3 - 1\n"
    row = {"prompt": TASK.render(p).prompt, "completion": TASK.render_answer(p, TASK.solve(p))}
    assert json.dumps(row) == SEED_LINE


def test_the_seed_readme_second_example_contradicts_its_equations_and_the_oracle_follows_the_equations():
    # The README shows 1,0,1,0,1 -> "0,1,0,1\n3 - 3", but 0+1+0+1 is 2: the equations win.
    p = CausalProblem((1, 0, 1, 0, 1))
    assert TASK.render_answer(p, TASK.solve(p)) == "\n0,1,0,1\n3 - 2\n"
    readme = TASK.score(p, Response(text="\n0,1,0,1\n3 - 3\n"))
    assert not readme.correct
    assert readme.reason == "new_sum: expected 2, got 3"
    assert readme.fields == {"newA": True, "newB": True, "newC": True, "newD": True, "old_sum": True, "new_sum": False}


@pytest.mark.parametrize("inputs", ALL_INPUTS, ids=format_inputs)
def test_every_input_of_the_default_world_matches_the_hand_written_equations(inputs):
    out = DEFAULT_WORLD.evaluate(inputs)
    assert (out.new, out.old_sum, out.new_sum) == the_experiment(*inputs)
    assert out.names == ("newA", "newB", "newC", "newD")


def test_the_shipped_world_file_is_the_embedded_default():
    path = Path(__file__).parent.parent / "tasks" / "worlds" / "default.toml"
    assert path.read_text(encoding="utf-8") == DEFAULT_WORLD_TOML
    assert load_world(path) == DEFAULT_WORLD == load_world("default")
    assert [(eq.name, eq.text) for eq in DEFAULT_WORLD.equations] == [
        ("newA", "A XOR C"), ("newB", "NOT D"), ("newC", "B AND E"), ("newD", "A OR newB")]


# --------------------------------------------------------------------------- the expression language


@pytest.mark.parametrize("text, python", [
    ("a OR b AND c", lambda a, b, c: a | (b & c)),
    ("a AND b OR c", lambda a, b, c: (a & b) | c),
    ("a XOR b AND c", lambda a, b, c: a ^ (b & c)),
    ("a OR b XOR c", lambda a, b, c: a | (b ^ c)),
    ("NOT a AND b", lambda a, b, c: (1 - a) & b),
    ("NOT (a OR b) XOR c", lambda a, b, c: (1 - (a | b)) ^ c),
    ("not not a or 0 and c", lambda a, b, c: a),
    ("(a XOR 1) AND (b OR c)", lambda a, b, c: (a ^ 1) & (b | c)),
])
def test_precedence_is_not_then_and_then_xor_then_or(text, python):
    expr = parse_expression(text)
    for a, b, c in itertools.product((0, 1), repeat=3):
        assert evaluate(expr, {"a": a, "b": b, "c": c}) == python(a, b, c)


def expressions():
    leaves = st.one_of(st.sampled_from([Const(0), Const(1)]), st.sampled_from("abc").map(Var))
    return st.recursive(leaves, lambda sub: st.one_of(
        sub.map(Not), st.builds(Binary, st.sampled_from(["AND", "XOR", "OR"]), sub, sub)), max_leaves=8)


@settings(max_examples=100, deadline=None)
@given(expressions())
def test_an_expression_written_back_parses_to_the_same_tree(expr):
    assert parse_expression(str(expr)) == expr


@pytest.mark.parametrize("text, problem, fix", [
    ("a +", "expected a variable, a number, NOT, IF or '(' but the expression ends at column 4",
     "give '+' its operand"),
    ("a & b", "unexpected character '&' at column 3", "write AND"),
    ("a @ b", "unexpected character '@' at column 3", "write names, whole numbers"),
    ("a 2", "expected an operator but found '2' at column 3", "join '2' to what comes before with an operator"),
    ("1000", "bad literal '1000' at column 1", "write a whole number 0..999"),
    ("a < b < c", "comparisons do not chain at column 7", "write a < b AND b < c"),
    ("IF a THEN b", "expected ELSE but the expression ends at column 12", "an IF needs its ELSE"),
    ("max(a, b)", "unknown function 'max' at column 1", "use one of the functions: sum"),
    ("(a", "expected ')' but the expression ends at column 3", "add the missing ')'"),
    ("((a", "expected ')' but the expression ends at column 4", "add the 2 missing ')'"),
    ("a)", "expected an operator but found ')' at column 2", "remove it"),
    ("sum(a, b", "expected ',' or ')' but the expression ends at column 9", "close it with ')'"),
    ("a AND", "expected a variable, a number, NOT, IF or '(' but the expression ends at column 6",
     "give 'AND' its operand"),
    # the trial's world: OR lacks its operand and the parenthesis is open; the fix says both
    ("A AND (B OR", "expected a variable, a number, NOT, IF or '(' but the expression ends at column 12",
     "give 'OR' its operand (a variable, a number, NOT, IF or a parenthesis), and add the missing ')'"),
])
def test_expression_syntax_errors_name_the_column_and_end_with_a_fix(text, problem, fix):
    with pytest.raises(WorldError) as err:
        parse_expression(text)
    head, sep, tail = str(err.value).partition("; ")
    assert head == f"{problem} of {text!r}" and fix in tail


SYNTAX_WORDS = ["a", "b", "n", "1", "1000", "1x", "AND", "OR", "XOR", "NOT", "IF", "THEN", "ELSE", "==", "<", "+", "-",
                "(", ")", ",", "sum", "max", "&", "@", "="]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SYNTAX_WORDS), max_size=12))
def test_every_syntax_error_of_the_world_language_ends_with_a_fix(words):
    # Like every other world error: the problem, where, then after '; ' what to write instead.
    text = " ".join(words)
    try:
        parse_expression(text)
    except WorldError as err:
        problem, sep, fix = str(err).partition("; ")
        assert sep and len(fix.split()) >= 2, str(err)
        assert "column" in problem or not text.strip(), str(err)


# --------------------------------------------------------------------------- worlds from TOML


@pytest.mark.parametrize("old, new, message", [
    ('"A OR newB"', '"A OR F"', "world.toml: equation newD (line 12): unknown variable 'F' at column 14; define it or use one of "
     "A, B, C, D, E, newA, newB, newC"),
    ('"A XOR C"', '"A XOR newD"',
     "world.toml: equation newA (line 9): variable 'newD' is used before its equation at column 15; "
     "move newA below newD"),
    ('"A XOR C"', '"A XOR (C"',
     "world.toml: equation newA (line 9): expected ')' but the expression ends at column 17; add the missing ')'"),
    ('"NOT D"', '"NOT newB"', "world.toml: equation newB (line 10): 'newB' is used in its own equation at column 13; an output "
     "cannot depend on itself"),
    ('"B AND E"', "'B && E'", "world.toml: equation newC (line 11): unexpected character '&' at column 11; write AND"),
    ('newA =', 'A =', "world.toml: equation A (line 9): 'A' is an input; new variables need new names"),
    ('"D", "E"', '"D", "D"', "world.toml: inputs (line 6): input 'D' is listed twice; list each input once"),
    ('"E"]', '"or"]', "world.toml: inputs (line 6): 'or' is a keyword (NOT, AND, XOR, OR, IF, THEN, ELSE), not a name; rename it"),
    ('"NOT D"', "1", 'world.toml: equation newB (line 10): the expression must be a string, e.g. "A XOR C"'),
    ('\ninputs =', '\ninput =', "world.toml: unknown key(s) input; a world has name, description, inputs, equations, summary"),
])
def test_a_bad_world_says_where_in_one_line(old, new, message):
    assert old in DEFAULT_WORLD_TOML
    with pytest.raises(WorldError) as err:
        parse_world(DEFAULT_WORLD_TOML.replace(old, new, 1), "world.toml")
    assert str(err.value) == message


@pytest.mark.parametrize("text, start", [
    ("", "w.toml: inputs: missing; add a list of names, e.g. inputs = [\"A\", \"B\"]"),
    ('inputs = []\n[equations]\nb = "1"', "w.toml: inputs (line 1): no inputs; list at least one"),
    ('inputs = ["A"]', "w.toml: equations: no equations"),
    ('inputs = ["A"', "w.toml: not valid TOML: "),
    ('inputs = ["A"]\nequations = {b = "A OR Q"}', "w.toml: equation b: unknown variable 'Q' at column 6 of 'A OR Q'"),
])
def test_empty_or_unreadable_worlds_are_world_errors(text, start):
    with pytest.raises(WorldError) as err:
        parse_world(text, "w.toml")
    assert str(err.value).startswith(start) and "\n" not in str(err.value)


def test_a_world_built_in_python_is_checked_too():
    with pytest.raises(WorldError, match="unknown variable 'z'"):
        World("w", ("x",), (Equation("y", Var("z")),))
    with pytest.raises(WorldError, match="no such world file"):
        load_world("no/such/world.toml")


def test_a_world_from_a_toml_file_works_end_to_end(tmp_path):
    path = tmp_path / "adder.toml"
    path.write_text(FULL_ADDER, encoding="utf-8")
    world = load_world(path)
    assert world.name == "adder" and world.new_names == ("half", "s", "cout")
    for x, y, cin in itertools.product((0, 1), repeat=3):
        p = CausalProblem((x, y, cin), str(path))
        expected = {"half": x ^ y, "s": (x + y + cin) % 2, "cout": (x + y + cin) // 2,
                    "old_sum": x + y + cin, "new_sum": (x ^ y) + (x + y + cin) % 2 + (x + y + cin) // 2}
        assert TASK.solve(p) == expected
        text = TASK.render_answer(p, expected)
        values = f"{expected['half']},{expected['s']},{expected['cout']}"
        assert text == f"\n{values}\n{expected['old_sum']} - {expected['new_sum']}\n"
        assert TASK.render(p).prompt == f"{x},{y},{cin}"
        assert TASK.parse(text, p) == expected
        assert TASK.score(p, Response(text=text)).correct
    manifest = TASK.manifest_from_spec(f"world={path} omitted=1,1,1")
    assert manifest == {"omitted": ["1,1,1"], "world": str(path), "world_name": "adder",
                        "world_sha256": hashlib.sha256(FULL_ADDER.encode()).hexdigest()}
    config = TASK.train_config(manifest)
    drawn = {TASK.sample(7, i, config).inputs for i in range(200)}
    assert drawn == set(itertools.product((0, 1), repeat=3)) - {(1, 1, 1)}
    rows = training_rows(50, 3, "1,1,1", str(path))
    assert rows and all(r["prompt"] != "1,1,1" and r["completion"].count("\n") == 3 for r in rows)
    with pytest.raises(TaskError, match="expected 3 comma-separated 0/1 values for x,y,cin"):
        TASK.manifest_from_spec(f"world={path} omitted=1,1,1,1,1")


# --------------------------------------------------------------------------- render, parse, score


@pytest.mark.parametrize("inputs", ALL_INPUTS, ids=format_inputs)
def test_render_parse_round_trip_for_every_input(inputs):
    p = CausalProblem(inputs)
    answer = TASK.solve(p)
    text = TASK.render_answer(p, answer)
    assert TASK.parse(text, p) == answer
    assert len(text) <= TASK.render(p).max_tokens
    assert TASK.render(p).stop == ()  # "\n" would stop before the answer's first line


@settings(max_examples=60, deadline=None)
@given(TASK.strategy())
def test_the_oracle_answer_scores_correct_and_the_problem_survives_json(p):
    score = TASK.score(p, Response(text=TASK.render_answer(p, TASK.solve(p))))
    assert score.correct and score.reason == "" and all(score.fields.values())
    assert TASK.decode(json.loads(json.dumps(TASK.encode(p)))) == p
    json.dumps([score.answer, score.expected, score.fields, score.detail])


def test_registry_invariant_on_the_frozen_set():
    frozen = TASK.frozen()
    assert len(frozen) == 32
    assert sorted(tuple(i.problem["inputs"]) for i in frozen) == ALL_INPUTS  # exhaustive
    for inst in frozen:
        p = TASK.decode(inst.problem)
        assert TASK.decode(TASK.encode(p)) == p
        assert TASK.score(p, Response(text=TASK.render_answer(p, TASK.solve(p)))).correct
        assert inst.label == format_inputs(p.inputs) == inst.bucket["inputs"]
        assert inst.bucket["ones"] == sum(p.inputs)
        assert set(inst.label) <= set("01,")
    assert [i.id for i in frozen] == [i.id for i in TASK.frozen()]  # versioned: same every time


@pytest.mark.parametrize("text", [
    "\n1,0,0,0\n3 - 1\n",
    "1,0,0,0\n3-1",
    "  1, 0 ,0,0 \r\n\n  3 -  1  \n",
    "\n1,0,0,0\n3 - 1\n0,1,1,1,0\n1,0,0,0\n3 - 1\n",  # a model that keeps going
])
def test_parse_tolerates_spacing_and_ignores_what_follows(text):
    assert TASK.parse(text, CausalProblem((0, 1, 1, 1, 0))) == TASK.solve(CausalProblem((0, 1, 1, 1, 0)))


@pytest.mark.parametrize("text", [
    "1,0,0,0\n3 - 1\n\nWait, actually:\n1,1,0,0\n3 - 2",  # the right lines, taken back
    "1,0,0,0\n3 - 1\n\nWait, actually:\n1,0,0,0\n3 - 1",  # taken back and said again: still more than asked
    "1,0,0,0\n3 - 1\nLet me know if you need anything else.",
])
def test_a_chat_answer_is_read_whole_and_lines_past_the_answer_make_it_no_strict_answer(text):
    """The chat form asks for the answer's lines only, and a chat model ends its own turn: its whole text is the
    answer. Before, the strict reading took its first two lines as of a completion (which runs on past its answer
    with no stop string to end it): the withdrawn right lines of the first text scored right (review)."""
    p = CausalProblem((0, 1, 1, 1, 0))
    assert TASK.assess(p, TASK.render(p), Response(text=text)).correct  # a completion: its first lines
    chat = TASK.assess(p, TASK.render(p), Response(text=text, chat=True))
    assert not chat.correct and chat.answer is None and chat.reason.startswith("no answer")
    # The lenient reading reads on: the correction decides (wrong in the first text, right in the second).
    assert chat.lenient == ("1,1,0,0" not in text)
    assert TASK.assess(p, TASK.render(p), Response(text="1,0,0,0\n3 - 1\n", chat=True)).correct


@pytest.mark.parametrize("text", [
    "", "\n1,0,0,0\n", "\n1,0,0\n3 - 1\n", "\n1,0,0,0,1\n3 - 1\n", "\n1,0,2,0\n3 - 1\n",
    "\n1 0 0 0\n3 - 1\n", "\n1,0,0,0 3 - 1\n", "\n1,0,0,0\n3 + 1\n", "\n1,0,0,0\nthree - 1\n",
])
def test_parse_is_never_lenient_about_content(text):
    p = CausalProblem((0, 1, 1, 1, 0))
    assert TASK.parse(text, p) is None
    score = TASK.score(p, Response(text=text))
    assert not score.correct and score.answer is None and score.reason.startswith("no answer")
    assert score.fields == dict.fromkeys(["newA", "newB", "newC", "newD", "old_sum", "new_sum"], False)


def test_score_names_every_wrong_field_and_errors_apart():
    p = CausalProblem((0, 1, 1, 1, 0))
    wrong = TASK.score(p, Response(text="\n1,0,0,1\n4 - 2\n"))
    assert not wrong.correct
    assert wrong.reason == "newD: expected 0, got 1; old_sum: expected 3, got 4; new_sum: expected 1, got 2"
    failed = TASK.score(p, Response(error="timeout"))
    assert not failed.correct and failed.answer is None and failed.reason == "error: timeout"


# --------------------------------------------------------------------------- held-out inputs


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sets(st.sampled_from(ALL_INPUTS), max_size=31))
def test_omitted_inputs_are_never_generated(data, omitted):
    spec = ";".join(format_inputs(s) for s in omitted)
    config = TASK.config(omitted=spec) if spec else TASK.config()
    p = data.draw(TASK.strategy(config))
    assert p.inputs not in omitted
    manifest = {"omitted": list(config.omitted), "world": "default"}
    assert TASK.split(p, manifest) == "seen"
    assert TASK.train_config(manifest) == config


def test_generation_is_uniform_over_the_allowed_inputs_and_shrinks_to_zeros():
    rows = training_rows(3200, 0, "1,0,1,0,1;1,1,1,1,1")
    counts = {seq: 0 for seq in map(format_inputs, ALL_INPUTS)}
    for r in rows:
        counts[r["prompt"]] += 1
    assert counts.pop("1,0,1,0,1") == counts.pop("1,1,1,1,1") == 0
    assert all(50 <= c <= 170 for c in counts.values())  # about 3200/30 each
    assert training_rows(5, 1) == training_rows(5, 1) != training_rows(5, 2)
    assert TASK.generate(_Lowest(), TASK.config(omitted="0,0,0,0,0")).inputs == (0, 0, 0, 0, 1)


class _Lowest:
    """A draw that always picks the smallest option, as Hypothesis does after shrinking."""

    def integer(self, lo, hi):
        return lo

    def choice(self, options):
        return options[0]

    def boolean(self):
        return False


def test_split_is_heldout_exactly_for_omitted_inputs():
    manifest = TASK.manifest_from_spec("omitted=1,0,1,0,1;1,1,1,1,1")
    assert manifest == {"omitted": ["1,0,1,0,1", "1,1,1,1,1"], "world": "default"}
    assert TASK.manifest_from_spec("1,0,1,0,1;1,1,1,1,1") == manifest
    heldout = {inputs for inputs in ALL_INPUTS if TASK.split(CausalProblem(inputs), manifest) == "heldout"}
    assert heldout == {(1, 0, 1, 0, 1), (1, 1, 1, 1, 1)}
    assert all(TASK.split(CausalProblem(inputs), None) == "unknown" for inputs in ALL_INPUTS)
    assert all(TASK.split(CausalProblem(inputs), {}) == "seen" for inputs in ALL_INPUTS)


def test_parse_omit_normalises_the_cli_option():
    assert parse_omit(" 1, 0,1,0,1 ;1,1,1,1,1;1,0,1,0,1;", DEFAULT_WORLD) == ("1,0,1,0,1", "1,1,1,1,1")
    assert parse_inputs("0,0,1,1,1") == (0, 0, 1, 1, 1)
    assert TASK.config(omitted=" 1,0,1,0,1;") == CausalConfig(omitted=("1,0,1,0,1",))  # one string or a tuple


@pytest.mark.parametrize("spec, message", [
    ("omitted=1,0,1",
     "causal: bad sequence '1,0,1': expected 5 comma-separated 0/1 values for A,B,C,D,E, like 1,0,1,0,1"),
    ("1,0,2,0,1", "causal: bad sequence '1,0,2,0,1': expected 5"),
    ("1,0,1,0,1;10101", "causal: bad sequence '10101': expected 5"),
    ("", "causal: heldout spec '' names no sequences"),
    ("lengths=1-12", "causal: unknown key 'lengths' in heldout spec"),
    ("world=missing.toml omitted=1,0,1,0,1", "causal: missing.toml: no such world file"),
])
def test_a_bad_spec_is_a_one_line_task_error(spec, message):
    with pytest.raises(TaskError) as err:
        TASK.manifest_from_spec(spec)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


@pytest.mark.parametrize("knobs, message", [
    ({"world": "missing.toml"}, "no such world file"),
    ({"omitted": ("1,1",)}, "bad sequence '1,1'"),
    ({"omitted": tuple(map(format_inputs, ALL_INPUTS))}, "omitted lists all 32 inputs"),
    ({"held": ()}, "unknown option"),
])
def test_bad_config_knobs_are_task_errors(knobs, message):
    with pytest.raises(TaskError, match=message):
        TASK.config(**knobs)


def test_the_pure_core_imports_neither_torch_nor_pytest():
    code = "import tasks.causal, sys; assert 'torch' not in sys.modules and 'pytest' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_lenient_reading_of_many_runs_is_linear():
    """Each run searched the rest of the text for its sums again: 4,000 runs with no sums after them took 8.5 s,
    20,000 about 200 s (review). The first run the sums follow is the first run, read once: well under a second."""
    import time

    p = CausalProblem((0, 1, 1, 1, 0))
    text = ". ".join(["1,0,0,0"] * 20000)
    began = time.process_time()
    assert TASK.read_lenient(text, p) == (None, False)  # no sums: no answer
    assert TASK.read_lenient(text + "\n3 - 1", p)[1]  # the first run, with the sums after all of them
    assert time.process_time() - began < 20
