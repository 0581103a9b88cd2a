"""A task from another package: one module plus an entry point, and oraclebench lists, scores, reports,
tries and explores it with no change to oraclebench.

The toy task (``tests/plugin_task/toy_task.py``: add two one-digit numbers) is copied into a tmp folder
beside a ``toy_task-0.1.dist-info`` whose ``entry_points.txt`` registers it in the group
``oraclebench.tasks``: what ``pip install`` of a package declaring that entry point leaves in
site-packages. Every command runs in a subprocess with that folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOY = Path(__file__).resolve().parent / "plugin_task" / "toy_task.py"


def install_toy(where: Path, value: str = "toy_task:TASK") -> Path:
    """The toy module and its dist-info (METADATA, entry_points.txt) in ``where``."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copy(TOY, where / "toy_task.py")
    info = where / "toy_task-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-task\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[oraclebench.tasks]\ntoy = {value}\n", encoding="utf-8")
    return where


def run(args: list[str], site: Path, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return install_toy(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def scored(site, tmp_path_factory) -> Path:
    """``pytest benchmark --model oracle --task toy`` from the checkout: the run's folder."""
    results = tmp_path_factory.mktemp("results")
    done = run(["-m", "pytest", "benchmark", "--model", "oracle", "--task", "toy", "--results", str(results),
                "-p", "no:cacheprovider", "-q"], site)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run_dir,) = [p for p in (results / "runs").iterdir() if (p / "summary.json").exists()]
    return run_dir


def test_tasks_lists_the_entry_point_task(site):
    done = run(["-m", "oraclebench.cli", "tasks"], site)
    assert done.returncode == 0, done.stderr
    toy = [line for line in done.stdout.splitlines() if line.startswith("| toy")]
    assert toy and "100" in toy[0]  # its frozen set: the 100 sums of two digits, drawn from frozen_configs


def test_the_benchmark_scores_the_toy_task_in_full(scored):
    summary = json.loads((scored / "summary.json").read_text())
    assert set(summary["tasks"]) == {"toy"}
    cell = summary["tasks"]["toy"]["all"]
    assert (cell["n"], cell["correct"]) == (100, 100)  # a + b for a, b in 0..9: 100 problems, all right
    assert summary["complete"] == {"toy": True}


def test_the_toy_task_has_its_marker(site, tmp_path):
    done = run(["-m", "pytest", "benchmark", "--model", "oracle", "-m", "toy", "--results", str(tmp_path),
                "-p", "no:cacheprovider", "-q", "--collect-only"], site)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "100 tests collected" in done.stdout or "100/" in done.stdout, done.stdout[-1000:]


def test_the_report_shows_the_toy_run(site, scored, tmp_path):
    out = tmp_path / "report"
    done = run(["-m", "oraclebench.cli", "report", "--results", str(scored.parent.parent), "--run", scored.name,
                "--out", str(out)], site)
    assert done.returncode == 0, done.stderr
    md = (out / "report.md").read_text(encoding="utf-8")
    # the default hooks: a curve against its first bucket key, the per-field table
    assert "## toy" in md and "toy: accuracy (95% Wilson CI) by sum" in md
    assert "toy: accuracy per answer field" in md


def test_try_reads_and_scores_a_typed_toy_input(site):
    done = run(["-m", "oraclebench.cli", "try", "toy", "3+4", "--model", "oracle"], site)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "oracle:  '7\\n'" in done.stdout and done.stdout.rstrip().endswith("correct [ok]")
    bad = run(["-m", "oraclebench.cli", "try", "toy", "3 plus 4"], site)
    assert bad.returncode == 2 and "toy: write two digits like 3+4" in bad.stderr


def test_explore_finds_no_counterexample_for_the_oracle(site, tmp_path):
    done = run(["-m", "oraclebench.cli", "explore", "toy", "--model", "oracle", "--budget", "60",
                "--results", str(tmp_path)], site)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "toy" in done.stdout and "no counterexample" in done.stdout.lower(), done.stdout


def test_a_task_that_fails_to_load_is_one_line(tmp_path):
    site = install_toy(tmp_path / "site", value="no_such_module:TASK")
    done = run(["-m", "oraclebench.cli", "try", "toy", "3+4"], site)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "task 'toy'" in done.stderr and "failed to load: ModuleNotFoundError" in done.stderr


WEB_CHECK = """
import re, sys
from oraclebench.web import create_app
client = create_app(sys.argv[1]).test_client()
base = "/run/" + sys.argv[2]
print("RUN", "toy" in client.get(base).get_data(as_text=True))
print("INSTANCE", client.get(base + "/instance/toy/toy-v1-0000").status_code)
page = client.get(base + "/try").get_data(as_text=True)
token = re.search(r'name="token" value="([^"]+)"', page).group(1)
tried = client.post(base + "/try", data={"task": "toy", "input": "3+4", "token": token},
                    headers={"Origin": "http://localhost"}).get_data(as_text=True)
print("TRY", "3+4" in page and "oracle is right on sum07" in tried)
"""


def test_the_web_page_shows_and_tries_the_toy_task(site, scored):
    pytest.importorskip("flask")
    done = run(["-c", WEB_CHECK, str(scored.parent.parent), scored.name], site)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["RUN", "True", "INSTANCE", "200", "TRY", "True"], done.stdout


def test_each_task_says_what_its_training_covered_along_its_knobs():
    # What the report shades, from each task's own module (Task.trained_on); the manifests as generate writes them.
    from oraclebench.tasks import get_task

    pred, text = get_task("multiplication").trained_on("grid", {"max_digits": [2, 3]})
    assert pred((2, 3)) and not pred((3, 1)) and text == "up to 2x3 digits"
    pred, text = get_task("judge").trained_on("template", {"templates": ["shop"]})
    assert pred("shop") and not pred("train") and text == "templates shop"
    assert get_task("judge").trained_on("template", {}) == (None, "")
    pred, _ = get_task("abcd").trained_on("length", {"lengths": [1, 12]})
    assert pred(12) and not pred(13)
    assert get_task("abcd").trained_on("steps", {"lengths": [1, 12]}) == (None, "")


def test_a_task_that_overrides_no_hook_gets_the_defaults():
    from oraclebench.tasks.base import Score, Task

    score = Score(False, 3, 4, "", {"sum": False})
    assert Task.field_view(None, score) == [[("  sum          ", None), ("wrong", False)]]
    assert Task.field_rows(None, 4, 3, {"sum": False}) == [{"name": "sum", "expected": "", "answer": "", "ok": False}]
    assert Task.trained_on(None, "sum", {"sums": [1]}) == (None, "") and Task.knobs == () and Task.report_view == "fields"


def test_generate_writes_training_rows_for_the_toy_task(site, tmp_path):
    done = run(["-m", "oraclebench.cli", "generate", "toy", "--n", "5", "--out", str(tmp_path)], site)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 5
    for row in rows:  # "a+b=" then the sum, as the toy module renders them
        a, b = map(int, row["prompt"].rstrip("=").split("+"))
        assert row["completion"] == f"{a + b}\n"
