"""`oraclebench compare`: paired tables, McNemar, bootstrap intervals and flips on hand-made runs."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from oraclebench.cli import main
from oraclebench.compare import cell_rows, compare_records, compare_runs, render_text
from oraclebench.errors import UsageError
from oraclebench.records import Record, resolve_run, write_run
from oraclebench.stats import mcnemar_exact
from oraclebench.summary import summarize


def make_run(model: str, outcomes: dict[str, list[bool]], splits: dict[str, str] | None = None,
             prefix: str = "") -> list[Record]:
    """Records of ``model``: ``outcomes[task][i]`` says whether instance i was right."""
    run_id = f"20260101T000000-000000-{model}"
    out = []
    for task, oks in outcomes.items():
        for i, ok in enumerate(oks):
            iid = f"{prefix}{task}-v1-{i:04d}"
            out.append(Record(run_id, model, task, iid, f"b{i % 3}", {"b": i % 3}, (splits or {}).get(iid, "seen"),
                              f"prompt {i}", "42" if ok else "41", 42 if ok else 41, 42, ok,
                              "" if ok else "expected 42, got 41"))
    return out


def table(both: int, only_a: int, only_b: int, neither: int) -> tuple[list[bool], list[bool]]:
    a = [True] * both + [True] * only_a + [False] * only_b + [False] * neither
    b = [True] * both + [False] * only_a + [True] * only_b + [False] * neither
    return a, b


def test_two_by_two_table_mcnemar_and_interval():
    a, b = table(both=50, only_a=9, only_b=2, neither=19)
    cmp = compare_records(make_run("A", {"causal": a}), make_run("B", {"causal": b}))
    [cell] = cmp.cells  # nothing held out: only the "all" row
    assert (cell.n, cell.both, cell.only_a, cell.only_b, cell.neither) == (80, 50, 9, 2, 19)
    assert cell.p_value == pytest.approx(mcnemar_exact(9, 2))
    assert cell.diff == pytest.approx((2 - 9) / 80)
    assert cell.lo <= cell.diff <= cell.hi < 0.01
    assert (cell.acc_a, cell.acc_b) == (59 / 80, 52 / 80)
    assert len(cmp.flips) == 11 and sum(f.right == "A" for f in cmp.flips) == 9
    assert cmp.flips[0].reason == "expected 42, got 41"


def test_splits_tasks_and_unshared_instances():
    a_ok, b_ok = table(both=10, only_a=2, only_b=3, neither=5)
    splits = {f"abcd-v1-{i:04d}": "heldout" for i in range(0, 20, 2)}
    a = make_run("A", {"abcd": a_ok, "causal": [True] * 4}, splits)
    b = make_run("B", {"abcd": b_ok, "causal": [True] * 3}, splits) + make_run("B", {"judge": [True]}, prefix="x")
    cmp = compare_records(a, b)
    assert [(c.task, c.split, c.n) for c in cmp.cells] == [("abcd", "all", 20), ("abcd", "seen", 10),
                                                           ("abcd", "heldout", 10), ("causal", "all", 3)]
    assert (cmp.unshared_a, cmp.unshared_b) == (1, 1)
    seen, held = cmp.cells[1], cmp.cells[2]
    assert seen.only_a + held.only_a == 2 and seen.only_b + held.only_b == 3


def test_models_trained_on_different_ranges_get_a_mixed_split():
    a = make_run("A", {"abcd": [True, True]}, {"abcd-v1-0001": "heldout"})
    b = make_run("B", {"abcd": [True, False]})
    cmp = compare_records(a, b)
    assert ("abcd", "heldout/seen") in [(c.task, c.split) for c in cmp.cells]
    assert any("trained on different data" in n for n in cmp.notes)


def test_runs_sharing_nothing_say_so():
    with pytest.raises(UsageError, match="share no scored instance.*same --fresh N --seed S"):
        compare_records(make_run("A", {"causal": [True]}),
                        [dataclasses.replace(r, prompt="another") for r in make_run("B", {"causal": [True]}, prefix="fresh")])


def test_runs_on_different_worlds_are_told_worlds_share_no_instance():
    # A world's frozen set has its own ids (causal-<world>.<hash>-NNNN): a run on another world, or the
    # default one, pairs with none of them, and the hint must say so rather than only "the frozen sets".
    a = [dataclasses.replace(r, instance_id=r.instance_id.replace("causal-v1", "causal-v05_d2_s0.49ceef1d"))
         for r in make_run("A", {"causal": [True, False]})]
    b = [dataclasses.replace(r, instance_id=r.instance_id.replace("causal-v1", "causal-v06_d2_s0.d6dff2d8"))
         for r in make_run("B", {"causal": [True, False]})]
    for other in (b, make_run("B", {"causal": [True, False]})):
        with pytest.raises(UsageError) as err:
            compare_records(a, other)
        assert "runs on different worlds (--world) share no instance" in str(err.value)
        assert "causal-v05_d2_s0.49ceef1d" in str(err.value) and "the same --world FILE, or none" in str(err.value)


def test_cli_compare_by_run_id_file_and_latest(tmp_path, capsys):
    a_ok, b_ok = table(both=30, only_a=1, only_b=12, neither=7)
    for model, oks in (("old", a_ok), ("new", b_ok)):
        records = make_run(model, {"multiplication": oks})
        summary = summarize(records, run_id=records[0].run_id, model=model)
        summary["complete"] = {"multiplication": True}  # stands for a whole frozen set
        write_run(tmp_path, records[0].run_id, records, summary)
    old_file = tmp_path / "runs" / "20260101T000000-000000-old" / "records.jsonl"
    assert main(["compare", str(old_file), "new@latest", "--results", str(tmp_path), "--flips", "3"]) == 0
    out = capsys.readouterr().out
    assert "| multiplication | all " in out and "only A" in out and "McNemar p" in out
    assert f"{mcnemar_exact(1, 12):.4g}" in out
    assert "flipped: 13 (1 only A right, 12 only B right)" in out and "... and 10 more" in out
    assert main(["compare", "20260101T000000-000000-old", "new@latest", "--results", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cells"][0]["only_b"] == 12 and len(data["flips"]) == 13


def test_cli_compare_names_a_missing_run(tmp_path, capsys):
    assert main(["compare", "nope", "gone@latest", "--results", str(tmp_path)]) == 2
    assert "oraclebench compare: error: no run 'nope'" in capsys.readouterr().err


def test_render_text_lists_counts_and_flips():
    a, b = table(both=3, only_a=0, only_b=1, neither=0)
    text = render_text(compare_records(make_run("A", {"causal": a}), make_run("B", {"causal": b})))
    assert "shared instances: 4" in text and "flipped: 1 (0 only A right, 1 only B right)" in text


def test_compare_runs_reads_folders(tmp_path):
    records = make_run("A", {"causal": [True, False]})
    run_dir = write_run(tmp_path, records[0].run_id, records, summarize(records, model="A"))
    cmp = compare_runs(tmp_path, str(run_dir), str(run_dir / "summary.json"))
    assert cmp.cells[0].only_a == cmp.cells[0].only_b == 0 and cmp.cells[0].p_value == 1.0


def test_latest_means_the_latest_complete_run_and_a_named_partial_run_says_so(tmp_path, capsys):
    whole, part = make_run("m", {"causal": [True, False, True]}), make_run("m", {"causal": [False]})
    part = [dataclasses.replace(r, run_id="20270101T000000-000000-m") for r in part]
    for records, complete in ((whole, True), (part, False)):
        summary = summarize(records, run_id=records[0].run_id, model="m")
        summary["complete"], summary["partial"] = {"causal": complete}, ({} if complete else {"causal": "--lf"})
        write_run(tmp_path, records[0].run_id, records, summary)
    assert resolve_run(tmp_path, "m@latest").name == whole[0].run_id  # the newer run is partial: not "latest"
    cmp = compare_runs(tmp_path, "m@latest", "20270101T000000-000000-m")
    assert any("B is a partial run (causal: --lf)" in n for n in cmp.notes)
    shutil.rmtree(tmp_path / "runs" / whole[0].run_id)
    assert main(["compare", "m@latest", "20270101T000000-000000-m", "--results", str(tmp_path)]) == 2
    assert "m has no complete run" in capsys.readouterr().err


def test_an_id_that_names_another_question_in_each_run_is_not_paired():
    """``--fresh N --split unseen`` numbers each model's own unseen problems: ``multiplication-unseen-0000``
    was 1x1 for one model and 1x6 for the other, and compare paired 34 such two-problem "pairs" of 35
    (found by review). Only ids asking the same prompt with the same expected answer pair."""
    a = make_run("A", {"multiplication": [True, True, False]})
    b = make_run("B", {"multiplication": [True, False, False]})
    b = [dataclasses.replace(b[0], prompt="7 x 6 ="), b[1], dataclasses.replace(b[2], expected=7)]
    cmp = compare_records(a, b)
    [cell] = cmp.cells  # instance 1 alone asks the same question in both runs: A right, B wrong
    assert (cell.n, cell.both, cell.only_a, cell.only_b, cell.neither) == (1, 0, 1, 0, 0)
    assert (cmp.clashes, cmp.unshared_a, cmp.unshared_b) == (2, 2, 2)
    assert any(n.startswith("2 instance id(s) name different questions") for n in cmp.notes)
    assert [f.instance_id for f in cmp.flips] == ["multiplication-v1-0001"]
    with pytest.raises(UsageError, match="share no scored instance.*1 instance id\\(s\\) name different questions"):
        compare_records(a[:1], b[:1])


def test_the_same_question_under_another_id_is_one_pair():
    """Two fresh unseen draws number each model's problems in its own order: the same problem drawn by both
    has two ids. It was never paired (review); it is one pair, and ids swapped between two questions clash
    no more. By hand: A asks q0, q1, q2 (right, right, wrong); B asks q1, q0 under A's ids 0 and 1 (wrong,
    right) and q2 under a new id (right): pairs (q0: both right), (q1: only A), (q2: only B)."""
    a = make_run("A", {"multiplication": [True, True, False]})
    b = make_run("B", {"multiplication": [False, True, True]})
    b = [dataclasses.replace(b[0], prompt=a[1].prompt, expected=a[1].expected),
         dataclasses.replace(b[1], prompt=a[0].prompt, expected=a[0].expected),
         dataclasses.replace(b[2], instance_id="multiplication-unseen-0007", prompt=a[2].prompt, expected=a[2].expected)]
    cmp = compare_records(a, b)
    [cell] = cmp.cells
    assert (cell.n, cell.both, cell.only_a, cell.only_b, cell.neither) == (3, 1, 1, 1, 0)
    assert (cmp.clashes, cmp.unshared_a, cmp.unshared_b) == (0, 0, 0)
    assert sorted((f.instance_id, f.right) for f in cmp.flips) == [
        ("multiplication-v1-0001", "A"), ("multiplication-v1-0002", "B")]


def test_an_expected_answer_read_back_from_a_file_is_the_same_question():
    """A run in memory holds an abcd trace as a tuple; the same record read from its file holds a list."""
    a = [dataclasses.replace(r, expected=("AB", "A")) for r in make_run("A", {"abcd": [True]})]
    b = [dataclasses.replace(r, expected=["AB", "A"]) for r in make_run("B", {"abcd": [False]})]
    [cell] = compare_records(a, b).cells
    assert (cell.n, cell.only_a) == (1, 1)


def test_a_pair_with_a_request_error_compares_no_answers_and_is_left_out():
    """A request that failed is not an answer: counted as A wrong, a trial's 10 errors of 60 made 5 "only B
    right" flips and a McNemar p of 2e-8 out of pairs that compared nothing. By hand: of 14 pairs, A failed
    on the 3 only-B and the 1 both-wrong instances, B on one both-right instance; 9 pairs remain, 7 both
    right and 2 only A right."""
    a_ok, b_ok = table(both=8, only_a=2, only_b=3, neither=1)
    a = [dataclasses.replace(r, error="ValueError: boom", correct=False) if i >= 10 else r
         for i, r in enumerate(make_run("A", {"multiplication": a_ok}))]
    b = [dataclasses.replace(r, error="timed out", correct=False) if i == 0 else r
         for i, r in enumerate(make_run("B", {"multiplication": b_ok}))]
    cmp = compare_records(a, b)
    [cell] = cmp.cells
    assert (cell.n, cell.both, cell.only_a, cell.only_b, cell.neither) == (9, 7, 2, 0, 0)
    assert (cell.errors_a, cell.errors_b, cell.left_out) == (4, 1, 5)
    assert cell.p_value == pytest.approx(mcnemar_exact(2, 0))
    assert (cell.acc_a, cell.acc_b) == (9 / 9, 7 / 9)
    assert [f.right for f in cmp.flips] == ["A", "A"]
    text = render_text(cmp)
    assert "shared instances: 14 (only in A: 0, only in B: 0); measured in both: 9, left out: 5" in text
    assert any(n.startswith("5 shared instance(s) left out: a request failed") for n in cmp.notes)


def test_pairs_that_all_failed_show_no_accuracy():
    a = [dataclasses.replace(r, error="boom", correct=False) for r in make_run("A", {"causal": [False, False]})]
    cmp = compare_records(a, make_run("B", {"causal": [True, False]}))
    [cell] = cmp.cells
    assert (cell.n, cell.left_out, cell.errors_a) == (0, 2, 2)
    [row] = cell_rows(cmp)
    assert row[2] == 0 and row[7:10] == ["-", "-", "-"]  # no accuracy of nothing measured (was a ZeroDivisionError)


def test_a_record_of_b_pairs_once_even_where_a_holds_its_id_twice():
    """A records file merged by hand may hold one instance twice; B's record was paired with both, counting one
    answer twice (n 12 of 11 instances; found by review). By hand: A's two copies of id 0 (right), B's id 0
    (right): one pair both right; the second copy is A's alone."""
    a = make_run("A", {"multiplication": [True]})
    b = make_run("B", {"multiplication": [True]})
    cmp = compare_records(a + a, b)
    [cell] = cmp.cells
    assert (cell.n, cell.both) == (1, 1) and (cmp.unshared_a, cmp.unshared_b) == (1, 0)
