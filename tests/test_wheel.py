"""Installed use: the built wheel, installed (not editable) into a fresh venv, scores from any folder.

The venv sees the test environment's already-installed dependencies through a ``.pth`` line (no
network, no copies), and nothing of this checkout: the wheel is installed with ``--no-deps
--no-index``, and every command runs from an empty folder with ``PYTHONPATH`` unset.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TASKS = ("abcd", "causal", "judge", "multiplication")
# Generic names the project's layers have at the root of a checkout: none may land in site-packages.
STRAY = {"tasks", "models", "oracles", "benchmark", "conftest", "conftest.py", "tests"}

pytestmark = pytest.mark.slow


def frozen_size(task: str) -> int:
    """Instances in the checkout's frozen set of ``task``: one JSON line each (the set's definition)."""
    (path,) = (ROOT / "benchmark" / "sets").glob(f"{task}-v*.jsonl")
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Build the wheel from a copy of the checkout, install it into a fresh venv; its paths."""
    tmp = tmp_path_factory.mktemp("wheel")
    # A copy of what the build reads (building writes build/ and *.egg-info/ into the source tree).
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    mapped = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-dir"]
    for name in {"oraclebench", *(d.split("/")[0] for d in mapped.values())}:  # the package and the root folders it maps
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(dist), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("oraclebench-*.whl")

    # The venv sits inside a user's project whose own pytest settings and conftest.py would break the
    # benchmark run if pytest took them up (it looks above the test files for both).
    project = tmp / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\naddopts = --no-such-option\n", encoding="utf-8")
    (project / "conftest.py").write_text("raise SystemExit('the project conftest.py was imported')\n", encoding="utf-8")
    env_dir = project / ".venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    before = set(os.listdir(site))
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_outer_env.pth").write_text("\n".join(sorted(outer)) + "\n", encoding="utf-8")
    env = clean_env(tmp)
    # pip itself comes from the outer environment; --ignore-installed: never touch an outer oraclebench
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed",
                    str(wheel)], check=True, capture_output=True, timeout=300, env=env)
    empty = tmp / "empty"
    empty.mkdir()
    return {"wheel": wheel, "python": python, "site": site, "before": before | {"_outer_env.pth"},
            "bin": python.parent, "env": env, "empty": empty}


def clean_env(tmp: Path) -> dict:
    """The environment without anything that would make this checkout importable or steer pytest."""
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith(("PYTEST_", "COV_", "ORACLEBENCH_"))}
    env["ORACLEBENCH_HOME"] = str(tmp / "home")
    return env


def oraclebench(installed: dict, *args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed["bin"] / "oraclebench"), *args], cwd=installed["empty"],
                          env=installed["env"], capture_output=True, text=True, timeout=timeout)


def test_the_wheel_installs_only_oraclebench(installed):
    with zipfile.ZipFile(installed["wheel"]) as zf:
        record = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        tops = {line.split(",")[0].split("/")[0] for line in zf.read(record).decode().splitlines() if line}
        names = set(zf.namelist())
    assert tops == {"oraclebench", record.split("/")[0]}
    added = set(os.listdir(installed["site"])) - installed["before"]
    assert added == {"oraclebench", record.split("/")[0]}
    assert not added & STRAY
    # what `oraclebench run` needs ships inside: the benchmark modules, the frozen sets, its ini
    for task in TASKS:
        assert f"oraclebench/benchmark/test_{task}.py" in names
        assert any(n.startswith(f"oraclebench/benchmark/sets/{task}-v") for n in names)
    assert "oraclebench/run.ini" in names
    # every module of the package and of the root folders it maps is in the wheel (a subpackage missing
    # from pyproject's `packages` list would be left out silently)
    mapped = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-dir"]
    folders = {"oraclebench": "oraclebench", **{d: pkg.replace(".", "/") for pkg, d in mapped.items()}}
    for folder, installed_as in folders.items():
        for module in (ROOT / folder).rglob("*.py"):
            if "__pycache__" not in module.parts:
                assert f"{installed_as}/{module.relative_to(ROOT / folder).as_posix()}" in names, module


def test_the_installed_package_is_the_one_imported(installed):
    out = subprocess.run([str(installed["python"]), "-c", "import oraclebench.benchmark as b, oraclebench as o; "
                          "print(o.__file__); print(list(b.__path__)[0])"],
                         cwd=installed["empty"], env=installed["env"], capture_output=True, text=True, check=True)
    for line in out.stdout.split():
        assert Path(line).resolve().is_relative_to(installed["site"].resolve()), line


def test_run_scores_every_task_at_100_percent_from_an_empty_folder(installed):
    res = oraclebench(installed, "run", "--model", "oracle", "-q")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    (summary_path,) = (installed["empty"] / "results" / "runs").glob("*/summary.json")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert sorted(summary["tasks"]) == sorted(TASKS)
    for task in TASKS:
        cell = summary["tasks"][task]["all"]
        assert cell["n"] == frozen_size(task), task
        assert cell["correct"] == cell["n"], task
        assert cell["accuracy"] == 1.0, task
    assert summary["complete"] is True or all(summary["complete"].values()), summary["complete"]
    assert (installed["empty"] / "results" / "leaderboard.md").is_file()


def test_run_passes_pytest_arguments_through(installed):
    res = oraclebench(installed, "run", "--model", "oracle", "-m", "causal", "-x", "--results", "only-causal", "-q")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    (summary_path,) = (installed["empty"] / "only-causal" / "runs").glob("*/summary.json")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert list(summary["tasks"]) == ["causal"]
    assert summary["tasks"]["causal"]["all"]["n"] == frozen_size("causal")


def test_run_exit_status_is_pytests(installed):
    res = oraclebench(installed, "run")  # no --model: pytest's usage error
    assert res.returncode == 4
    assert "--model is required" in res.stdout + res.stderr
    assert "Traceback" not in res.stdout + res.stderr


def test_tasks_lists_the_shipped_sets(installed):
    res = oraclebench(installed, "tasks")
    assert res.returncode == 0, res.stderr
    for task in TASKS:
        assert f"| {task} " in res.stdout
        assert str(frozen_size(task)) in res.stdout
    assert "missing" not in res.stdout


def test_freeze_refuses_to_write_into_the_installed_package(installed):
    res = oraclebench(installed, "freeze", "causal")
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "--out" in res.stderr, res.stderr
    res = oraclebench(installed, "freeze", "causal", "--out", "sets")
    assert res.returncode == 0, res.stderr
    (written,) = (installed["empty"] / "sets").glob("causal-v*.jsonl")
    shipped = installed["site"] / "oraclebench" / "benchmark" / "sets" / written.name
    assert written.read_bytes() == shipped.read_bytes()  # the same seed freezes the same set


def test_run_scores_a_python_callable_of_the_current_folder(installed, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    # "0" is no causal answer (that needs four values and two sums): every instance is scored wrong
    (folder / "pipeline.py").write_text("def answer(prompts):\n    return ['0' for _ in prompts]\n", encoding="utf-8")
    res = subprocess.run([str(installed["bin"] / "oraclebench"), "run", "--model", "python:pipeline:answer",
                          "-m", "causal", "-q"], cwd=folder, env=installed["env"], capture_output=True, text=True,
                         timeout=240)
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]  # pytest's: tests failed
    (summary_path,) = (folder / "results" / "runs").glob("*/summary.json")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert summary["model"] == "python:pipeline:answer"
    cell = summary["tasks"]["causal"]["all"]
    assert (cell["n"], cell["correct"], cell["errors"]) == (frozen_size("causal"), 0, 0)


def test_the_other_commands_work_installed(installed, tmp_path):
    """report, compare, explore, try, generate and models from a folder of their own, on the wheel's files."""
    folder = tmp_path / "cmds"
    folder.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess:
        res = subprocess.run([str(installed["bin"] / "oraclebench"), *args], cwd=folder, env=installed["env"],
                             capture_output=True, text=True, timeout=240)
        assert res.returncode == 0, (args, res.stdout[-2000:], res.stderr[-2000:])
        return res

    for _ in range(2):
        cli("run", "--model", "oracle", "-m", "causal", "-q")
    runs = sorted(p.name for p in (folder / "results" / "runs").iterdir())
    report = cli("report")
    assert (folder / "results" / "report" / "report.html").is_file(), report.stdout  # the packaged templates
    cells = json.loads(cli("compare", *runs, "--json").stdout)["cells"]
    all_cell = next(c for c in cells if c["task"] == "causal" and c["split"] == "all")
    assert (all_cell["n"], all_cell["both"], all_cell["diff"]) == (32, 32, 0.0)  # the oracle twice: all right both times
    assert "causal" in cli("explore", "causal", "--model", "oracle", "--budget", "20").stdout
    tried = cli("try", "causal", "1,0,1,0,1", "--model", "oracle")
    assert "correct" in tried.stdout
    cli("generate", "causal", "--n", "20", "--out", "gen")
    assert len((folder / "gen" / "train.jsonl").read_text(encoding="utf-8").splitlines()) == 20
    assert "oracle" in cli("models").stdout
