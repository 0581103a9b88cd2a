"""`oraclebench run` in a checkout, the extras a feature needs, and where `freeze` may write.

The installed wheel's side of the same promises is tests/test_wheel.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from oraclebench import extras
from oraclebench.commands.freeze import in_checkout
from oraclebench.commands.run import pytest_args
from oraclebench.models import EXTRAS as MODEL_EXTRAS
from oraclebench.models import ModelError, load_model

ROOT = Path(__file__).resolve().parent.parent
HEAVY = sorted(extras.PROVIDER)

# Runs the `oraclebench` command as the core install alone has it: every heavy import fails as if the
# package were not installed (a meta-path finder: such modules are never in sys.modules, as when absent).
CORE_ONLY = f"""
import sys
HEAVY = {HEAVY!r}
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in HEAVY:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Absent())
from oraclebench.cli import main
sys.exit(main(sys.argv[1:]))
"""


def core_only(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ORACLEBENCH_HOME": str(tmp_path / "home")}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-c", CORE_ONLY, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def requirement_names(extra: str, table: dict) -> set[str]:
    """The distributions ``pip install "oraclebench[EXTRA]"`` asks for, self-references followed."""
    names = set()
    for req in table[extra]:
        name = re.match(r"[A-Za-z0-9_.-]+", req).group(0).lower()
        if name == "oraclebench":
            for sub in re.search(r"\[(.*)\]", req).group(1).split(","):
                names |= requirement_names(sub.strip(), table)
        else:
            names.add(name)
    return names


PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_every_hint_names_an_extra_that_installs_the_module():
    table = PYPROJECT["optional-dependencies"]
    for module, extra in extras.PROVIDER.items():
        if module in ("numpy", "safetensors", "tokenizers"):  # brought by pandas/matplotlib, transformers
            continue
        assert module in requirement_names(extra, table), (module, extra)
    for extra, modules in extras.EXTRAS.items():
        assert set(modules) <= requirement_names(extra, table), extra
    assert set(MODEL_EXTRAS.values()) <= set(table)


def test_the_core_install_is_pytest_hypothesis_tabulate_and_dev_has_everything():
    core = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in PYPROJECT["dependencies"]}
    assert core == {"pytest", "hypothesis", "tabulate"}
    dev = requirement_names("dev", PYPROJECT["optional-dependencies"])
    for extra in ("local", "served", "report", "web"):
        assert requirement_names(extra, PYPROJECT["optional-dependencies"]) <= dev, extra
    torch = next(r for r in PYPROJECT["optional-dependencies"]["local"] if r.startswith("torch"))
    assert torch == "torch>=2.4,<2.15"  # the README's set-up installs torch==2.13.0 first


def test_a_model_whose_extra_is_missing_is_one_line_naming_it(monkeypatch):
    real = extras.installed
    monkeypatch.setattr(extras, "installed", lambda m: m != "torch" and real(m))
    with pytest.raises(ModelError) as err:
        load_model("hf:/some/checkpoint")
    assert str(err.value) == 'hf: needs torch: pip install "oraclebench[local]"'
    with pytest.raises(ModelError, match=r'^gpt2-causal needs torch: pip install "oraclebench\[local\]"$'):
        load_model("gpt2-causal")
    assert load_model("oracle").identity  # the core's models need no extra


@pytest.mark.parametrize("args, code, line", [
    (["report"], 2, 'oraclebench report: needs pandas: pip install "oraclebench[report]"'),
    (["serve"], 2, 'oraclebench serve: error: needs flask: pip install "oraclebench[web]"'),
    (["train", "gpt2-causal"], 2, 'pip install "oraclebench[local]"'),
    (["try", "causal", "1,0,1,0,1", "--model", "gpt2-causal"], 2,
     'oraclebench try: error: gpt2-causal needs torch: pip install "oraclebench[local]"'),
    (["run", "--model", "hf:/x"], 4, 'ERROR: hf: needs torch: pip install "oraclebench[local]"'),
    (["run", "--model", "vllm:m@http://127.0.0.1:9/v1"], 4, 'ERROR: vllm: needs openai: pip install "oraclebench[served]"'),
    (["run", "--model", "oracle", "--report"], 4, 'ERROR: --report needs pandas: pip install "oraclebench[report]"'),
])
def test_a_missing_extra_is_one_line(tmp_path, args, code, line):
    (tmp_path / "results").mkdir()
    res = core_only(tmp_path, *args)
    assert res.returncode == code, res.stdout[-2000:] + res.stderr[-2000:]
    out = res.stdout + res.stderr
    assert "Traceback" not in out
    assert [ln for ln in out.splitlines() if "oraclebench[" in ln] == [next(ln for ln in out.splitlines() if line in ln)]


def test_the_core_install_scores_the_oracle(tmp_path):
    res = core_only(tmp_path, "run", "--model", "oracle", "-m", "causal", "-q")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    (summary,) = (tmp_path / "results" / "runs").glob("*/summary.json")
    cell = json.loads(summary.read_text(encoding="utf-8"))["tasks"]["causal"]["all"]
    assert cell["n"] == cell["correct"] == 32  # all 2^5 inputs of the causal world


def test_run_isolates_pytest_from_the_folders_around(tmp_path):
    args = pytest_args(["-m", "judge", "-x"], tmp_path)
    bench = Path(args[-1])
    assert (bench / "test_judge.py").is_file() and args[:4] == ["-p", "oraclebench.plugin", "--import-mode=importlib", "-c"]
    assert Path(args[4]).name == "run.ini"
    assert args[args.index("--confcutdir") + 1] == str(bench)
    assert f"cache_dir={tmp_path.resolve() / '.pytest_cache'}" in args
    assert args[-4:-1] == ["-m", "judge", "-x"]  # the user's arguments, as given


def test_run_ignores_a_pytest_configuration_in_the_current_folder(tmp_path):
    # a user's project whose own pytest settings would break or change the benchmark run
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --this-option-does-not-exist\n", encoding="utf-8")
    (tmp_path / "conftest.py").write_text("raise SystemExit('a user conftest was imported')\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_ADDOPTS", None)
    res = subprocess.run([sys.executable, "-m", "oraclebench.cli", "run", "--model", "oracle", "-m", "causal", "-q"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "32 passed" in res.stdout
    assert (tmp_path / "results" / "leaderboard.md").is_file() and (tmp_path / ".pytest_cache").is_dir()


def test_the_plugin_named_twice_is_registered_once(tmp_path):
    # the checkout's conftest.py loads the plugin, and -p names it too: every instance once
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_ADDOPTS", None)
    res = subprocess.run([sys.executable, "-m", "pytest", "-p", "oraclebench.plugin", "benchmark", "--model", "oracle",
                          "-m", "causal", "-q", "--results", str(tmp_path / "results"), "-p", "no:cacheprovider"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "32 passed" in res.stdout
    (summary,) = (tmp_path / "results" / "runs").glob("*/summary.json")
    assert json.loads(summary.read_text(encoding="utf-8"))["tasks"]["causal"]["all"]["n"] == 32


def test_freeze_writes_only_into_a_checkout(tmp_path):
    assert in_checkout(ROOT / "benchmark" / "sets") == ((ROOT / ".git").exists())
    clone = tmp_path / "clone"
    (clone / "benchmark" / "sets").mkdir(parents=True)
    (clone / "pyproject.toml").write_text("", encoding="utf-8")
    assert not in_checkout(clone / "benchmark" / "sets")  # no .git: an unpacked source tree
    (clone / ".git").mkdir()
    assert in_checkout(clone / "benchmark" / "sets")
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "oraclebench" / "benchmark" / "sets"
    site.mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    assert not in_checkout(site)  # inside an environment, even one kept in a checkout
