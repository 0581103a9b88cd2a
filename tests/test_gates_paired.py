"""Paired regression gates: a few flips pass, a real drop fails and says why, bad files say how to fix."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from oraclebench.errors import UsageError
from oraclebench.gates import check_gates
from oraclebench.records import Record, write_run
from oraclebench.summary import summarize

MODEL = "gpt2-causal"


def records(oks: list[bool], splits: list[str] | None = None, task: str = "causal") -> list[Record]:
    # The expected answer is the oracle's, the same in every run; the model's answer is right or not.
    return [Record("run", MODEL, task, f"{task}-v1-{i:04d}", "x", {}, (splits or ["seen"] * len(oks))[i], f"p{i}",
                   "a" if ok else "b", "a" if ok else "b", "a", ok) for i, ok in enumerate(oks)]


def baseline(n: int = 400, accuracy: float = 0.9, seed: int = 0) -> list[bool]:
    rng = random.Random(seed)
    return [rng.random() < accuracy for _ in range(n)]


def flip(oks: list[bool], to_wrong: int, to_right: int, seed: int = 1) -> list[bool]:
    """``oks`` with ``to_wrong`` right answers made wrong and ``to_right`` wrong ones made right."""
    rng = random.Random(seed)
    out = list(oks)
    right = [i for i, ok in enumerate(oks) if ok]
    wrong = [i for i, ok in enumerate(oks) if not ok]
    for i in rng.sample(right, to_wrong):
        out[i] = False
    for i in rng.sample(wrong, to_right):
        out[i] = True
    return out


def gate_file(tmp_path: Path, base: list[Record], floors: str = "causal = 0.5\n", body: str | None = None) -> Path:
    run_dir = write_run(tmp_path / "baselines", "base", base, summarize(base, model=MODEL))
    path = tmp_path / "gates.toml"
    paired = body if body is not None else f'records = "{run_dir.relative_to(tmp_path)}/records.jsonl"\nalpha = 0.05\ntolerance = 0.02\n'
    path.write_text(f"[{MODEL}]\n{floors}\n[{MODEL}.paired]\n{paired}", encoding="utf-8")
    return path


def check(path: Path, new: list[Record]):
    return check_gates(path, summarize(new, model=MODEL), records=new)


def test_the_same_run_with_a_few_flips_passes(tmp_path):
    base = baseline()
    path = gate_file(tmp_path, records(base))
    results = check(path, records(flip(base, to_wrong=4, to_right=3)))
    assert [r.name for r in results] == [f"{MODEL} causal", f"{MODEL} causal.all paired vs baseline"]
    assert all(r.ok for r in results), [r.line() for r in results]
    paired = results[1]
    assert "no significant drop" in paired.detail and "only baseline right 4, only new right 3" in paired.detail


def test_a_real_drop_fails_on_significance_and_tolerance(tmp_path):
    base = baseline()
    path = gate_file(tmp_path, records(base))
    paired = check(path, records(flip(base, to_wrong=30, to_right=2)))[1]
    assert not paired.ok
    assert "significantly worse" in paired.detail and "more than the tolerance of 2.0" in paired.detail
    assert "only baseline right 30, only new right 2" in paired.detail
    assert paired.line().startswith("FAIL")


def test_a_small_but_real_drop_fails_on_significance_alone(tmp_path):
    base = baseline(n=4000)
    path = gate_file(tmp_path, records(base))
    paired = check(path, records(flip(base, to_wrong=45, to_right=5)))[1]  # a 1-point drop, beyond noise
    assert not paired.ok
    assert "significantly worse" in paired.detail and "tolerance" not in paired.detail


def test_a_drop_beyond_tolerance_fails_even_when_not_significant(tmp_path):
    base = baseline(n=40)
    path = gate_file(tmp_path, records(base))
    paired = check(path, records(flip(base, to_wrong=2, to_right=0)))[1]  # 5 points on 40: not significant
    assert not paired.ok
    assert "more than the tolerance" in paired.detail and "significantly" not in paired.detail


def test_splits_are_gated_with_holm_correction(tmp_path):
    base = baseline(n=400)
    splits = ["heldout" if i % 4 == 0 else "seen" for i in range(400)]
    path = gate_file(tmp_path, records(base, splits))
    results = check(path, records(flip(base, to_wrong=3, to_right=3), splits))
    names = [r.name.split()[-4] for r in results[1:]]
    assert names == ["causal.all", "causal.heldout", "causal.seen"]
    assert all("Holm over 3 tests" in r.detail for r in results[1:])


def test_paired_gate_needs_the_run_records(tmp_path):
    base = records(baseline())
    path = gate_file(tmp_path, base)
    with pytest.raises(UsageError, match=r"\[gpt2-causal.paired\] needs this run's per-instance records"):
        check_gates(path, summarize(base, model=MODEL))


@pytest.mark.parametrize("body, message", [
    ("alpha = 0.05\n", 'needs records = "PATH"'),
    ('records = "nowhere/records.jsonl"\n', "cannot read baseline records"),
    ('records = "baselines/runs/base"\nalpha = 1.5\n', "alpha must be a number between 0 and 1"),
    ('records = "baselines/runs/base"\nalpha = 0\n', "alpha must be between 0 and 1 \\(exclusive\\)"),
    ('records = "baselines/runs/base"\nsplits = ["held"]\n', "splits must be a list drawn from all, trained, unseen, seen, heldout"),
    ('records = "baselines/runs/base"\ntolerence = 0.1\n', "unknown key\\(s\\) tolerence"),
])
def test_bad_paired_tables_are_usage_errors(tmp_path, body, message):
    base = records(baseline(n=20))
    path = gate_file(tmp_path, base, body=body)
    with pytest.raises(UsageError, match=message):
        check(path, base)


def test_a_baseline_sharing_no_instance_is_a_usage_error(tmp_path):
    path = gate_file(tmp_path, records(baseline(n=20), task="causal"), floors="")
    new = records(baseline(n=20), task="abcd")
    with pytest.raises(UsageError, match="share no instance"):
        check(path, new)


def gate_file_body(tmp_path: Path, tolerance: float | None) -> str:
    body = 'records = "baselines/runs/base/records.jsonl"\nalpha = 0.05\n'
    return body + (f"tolerance = {tolerance}\n" if tolerance is not None else "")


def test_without_a_tolerance_the_paired_gate_is_its_test_and_shows_no_floor(tmp_path):
    """Found by review: 36/40 right, then 30/40 (10 only baseline right, 4 only new): one-sided exact
    p = 1471/16384 = 0.0898 > 0.05 passes, but the line read "measured 0.7500, floor 0.9000", a pass
    below its floor, and summary.json kept that floor for any tool to re-check."""
    base = [True] * 36 + [False] * 4
    new = [False] * 10 + [True] * 26 + [True] * 4
    path = gate_file(tmp_path, records(base), body=gate_file_body(tmp_path, tolerance=None))
    paired = check(path, records(new))[1]
    assert paired.ok and paired.floor is None
    assert paired.line().startswith(f"PASS {MODEL} causal.all paired vs baseline: measured 0.7500 (no significant")
    assert "p=0.08978" in paired.detail


def test_with_a_tolerance_the_floor_is_the_baseline_less_it_and_an_exact_tie_passes(tmp_path):
    base = [True] * 8 + [False] * 2
    path = gate_file(tmp_path, records(base), body=gate_file_body(tmp_path, tolerance=0.1))
    tie = check(path, records([True] * 7 + [False] * 3))[1]  # 0.8 - 0.1 is 0.7000000000000001 in floats
    assert tie.ok and tie.floor == pytest.approx(0.7)


def test_ids_naming_other_questions_in_the_baseline_are_not_paired(tmp_path):
    """Fresh unseen draws of a model trained on other data reuse the ids for other problems."""
    base = [dataclasses.replace(r, prompt=f"other {r.prompt}") for r in records(baseline(n=20))]
    path = gate_file(tmp_path, base, floors="")
    with pytest.raises(UsageError, match="share no instance.*20 instance id\\(s\\) name different questions"):
        check(path, records(baseline(n=20)))


def test_request_errors_count_as_not_right_and_the_line_says_how_many(tmp_path):
    base = baseline(n=40)
    path = gate_file(tmp_path, records(base))
    new = [dataclasses.replace(r, error="timed out", correct=False) if i < 3 else r
           for i, r in enumerate(records(base))]
    paired = check(path, new)[1]
    assert "request errors (counted as not right): 3 in the new run, 0 in the baseline" in paired.detail
