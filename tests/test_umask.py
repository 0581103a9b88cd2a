"""Result files, reports and checkpoints follow the process umask (issue 21): 0644 under the usual
022, as ``open`` would make them, not the 0600 of ``tempfile.mkstemp`` and safetensors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from oraclebench.files import atomic_write, current_umask, follow_umask

ROOT = Path(__file__).resolve().parent.parent


def modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def umask():
    """Set the process umask for one test, and put the old one back."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_gives_the_mode_open_gives(tmp_path, umask, mask, mode):
    umask(mask)
    assert current_umask() == mask
    atomic_write(tmp_path / "summary.json", "{}\n")
    with open(tmp_path / "plain.txt", "w") as fh:  # what a plain open makes: the definition
        fh.write("x")
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "summary.json").stat().st_mode) == mode


def test_follow_umask_fixes_files_written_0600_and_leaves_folders(tmp_path, umask):
    umask(0o022)
    (tmp_path / "sub").mkdir()
    for name in ("model.safetensors", "sub/tokenizer.json"):
        (tmp_path / name).write_text("x")
        os.chmod(tmp_path / name, 0o600)
    follow_umask(tmp_path)
    assert modes(tmp_path) == {"model.safetensors": 0o644, "sub/tokenizer.json": 0o644}
    assert stat.S_IMODE((tmp_path / "sub").stat().st_mode) == 0o755


def test_every_file_a_run_and_its_report_write_follows_the_umask(tmp_path):
    """Records, summary, leaderboard, cache, report and figures of a real run, under umask 027."""
    pytest.importorskip("pandas")
    result = subprocess.run(
        [sys.executable, "-c", "import os, sys; os.umask(0o027); from oraclebench.cli import main; "
         "sys.exit(main(['run', '--model', 'oracle', '-m', 'causal', '--report', '-p', 'no:cacheprovider']))"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    written = modes(tmp_path / "results")
    assert any(name.endswith("records.jsonl") for name in written) and "report/report.html" in written
    assert "cache.sqlite" in written and any(name.startswith("report/figures/") for name in written)
    assert {name: oct(m) for name, m in written.items() if m != 0o640} == {}


@pytest.mark.slow
def test_a_trained_checkpoint_follows_the_umask(tmp_path, umask, monkeypatch):
    pytest.importorskip("torch")
    from oraclebench.training.recipes import train

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    umask(0o022)
    path = train("gpt2-causal", tmp_path / "causal", steps=2, progress=False)
    written = modes(path)
    assert "model.safetensors" in written and "manifest.json" in written and "loss.png" in written
    assert {name: oct(m) for name, m in written.items() if m != 0o644} == {}
