"""Collecting is cheap: ``--collect-only`` loads no model and trains nothing, ``-m TASK`` reads only that task's set.

Each case runs ``python -m pytest benchmark ...`` in a subprocess with a spy plugin that records which
frozen sets were read (``oraclebench.sets.load_set``), which models were loaded
(``oraclebench.models.load_model``) and whether torch was ever imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SPY = textwrap.dedent('''
    import json, os, sys

    import oraclebench.models as models
    import oraclebench.sets as sets

    SEEN = {"sets": [], "models": []}

    def _wrap(module, name, key):
        real = getattr(module, name)

        def spy(first, *args, **kwargs):
            SEEN[key].append(first)
            return real(first, *args, **kwargs)

        setattr(module, name, spy)

    def pytest_configure(config):
        _wrap(sets, "load_set", "sets")
        _wrap(models, "load_model", "models")

    def pytest_unconfigure(config):
        with open(os.environ["SPY_OUT"], "w") as fh:
            json.dump({**SEEN, "torch": "torch" in sys.modules}, fh)
''')


def run_benchmark(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    (tmp_path / "spyplugin.py").write_text(SPY)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}", "ORACLEBENCH_HOME": str(home),
           "ORACLEBENCH_TRAIN_SCALE": "0.05", "SPY_OUT": str(tmp_path / "spy.json")}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "spyplugin", "-p", "no:cacheprovider", "benchmark",
                           "--results", str(tmp_path / "results"), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return done, json.loads((tmp_path / "spy.json").read_text())


def test_collect_only_loads_no_model_and_trains_nothing(tmp_path):
    done, seen = run_benchmark(tmp_path, "--model", "gpt2-causal", "--collect-only", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "test_causal[gpt2-causal|" in done.stdout  # the items are listed
    assert seen["models"] == []
    assert not seen["torch"]
    assert not (tmp_path / "home" / "models").exists()  # no checkpoint trained
    assert "training it now" not in done.stdout + done.stderr


def test_collect_only_with_a_mark_reads_only_the_selected_tasks_set(tmp_path):
    done, seen = run_benchmark(tmp_path, "--model", "oracle", "-m", "judge", "--collect-only", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "test_judge[oracle|" in done.stdout and "test_abcd[" not in done.stdout
    assert set(seen["sets"]) == {"judge"}
    assert seen["models"] == []


def test_a_run_with_a_mark_reads_only_the_selected_tasks_set(tmp_path):
    done, seen = run_benchmark(tmp_path, "--model", "oracle", "-m", "causal or judge", "--limit", "8", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert set(seen["sets"]) == {"causal", "judge"}
    assert seen["models"] == ["oracle"]


def test_a_mark_on_other_terms_still_reads_what_it_keeps(tmp_path):
    # "not judge" keeps three tasks: their sets are read, judge's is not.
    done, seen = run_benchmark(tmp_path, "--model", "oracle", "-m", "not judge", "--collect-only", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert set(seen["sets"]) == {"abcd", "causal", "multiplication"}


def test_collect_only_still_names_an_unknown_model(tmp_path):
    done, seen = run_benchmark(tmp_path, "--model", "gpt2-casual", "--collect-only", "-q")
    assert done.returncode == 4
    assert "unknown model 'gpt2-casual' (did you mean 'gpt2-causal'?)" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
