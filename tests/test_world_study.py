"""``scripts/world_study.py``'s table: each world's seen and held-out accuracy from its model's latest summary."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("world_study", ROOT / "scripts" / "world_study.py")
world_study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(world_study)


def _summary(out: Path, run: str, model: str, causal: dict) -> None:
    folder = out / "results" / "runs" / run
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"model": model, "tasks": {"causal": causal}}))


def test_the_table_counts_trained_and_unseen_as_seen_and_names_failed_requests(tmp_path):
    # trained 6/8 and unseen 2/4 (1 failed request): seen is 8/12; held out 1/4 with 2 failed requests.
    model = f"hf:{tmp_path / 'models' / 'v1-d2'}"
    _summary(tmp_path, "2026-01-01T00-00-00-aaaa", model, {
        "trained": {"n": 8, "correct": 6, "accuracy": 0.75, "ci": [0.4, 0.9], "errors": 0},
        "unseen": {"n": 4, "correct": 2, "accuracy": 0.5, "ci": [0.1, 0.9], "errors": 1},
        "heldout": {"n": 4, "correct": 1, "accuracy": 0.25, "ci": [0.05, 0.7], "errors": 2}})
    row = {"name": "v1-d2", "measures": {"variables": 6, "equations": 3, "depth": 2, "dependent_outputs": 1,
                                         "input_space": 16}}
    text = world_study.table(tmp_path, [row], 1500, 0.1)
    line = next(li for li in text.splitlines() if li.startswith("| v1-d2 |"))
    seen, heldout = line.split("|")[7:9]
    assert seen.strip() == "66.7 [39.1, 86.2] (n=12, 1 failed)"  # Wilson 95% of 8/12, by hand
    assert heldout.strip() == "25.0 [5.0, 70.0] (n=4, 2 failed)"
