"""Reference fine-tunes trained here from scratch: ``gpt2-causal``, ``gpt2-abcd``, ``gpt2-mult``, ``gpt2-mult-scratchpad``.

Each recipe builds a task-token tokenizer and a small GPT-2 from config (no hub weights), trains it
on the task's own generated data with some of the task held out, and saves model, tokenizer,
``manifest.json`` and ``loss.png`` under ``$ORACLEBENCH_HOME/models/NAME`` (default
``~/.cache/oraclebench``). ``load_reference`` reuses a checkpoint only when its manifest records
the same recipe (held-out spec, budget, seed, scale); otherwise it says so in one line and trains.

``ORACLEBENCH_TRAIN_SCALE`` (default 1) scales the training budget: CI trains at a fraction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from models.base import ModelError


@dataclass(frozen=True)
class Recipe:
    """What a reference model is: task, what it never sees, data, shape and optimiser budget."""

    task: str
    heldout: str  # the task's held-out spec: what training never shows
    examples: int  # distinct training problems drawn
    epochs: float = 3.0
    batch_size: int = 16
    lr: float = 5e-4
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_positions: int = 512
    scratchpad: bool = False
    seed: int = 0
    minutes: float = 2.0  # rough CPU time of the full recipe, for the one-line notice


RECIPES: dict[str, Recipe] = {
    # the-experiment: 20,000 examples, 3 epochs, batch 16, lr 5e-4, 128-dim, 4 layers, 4 heads.
    "gpt2-causal": Recipe("causal", "omitted=1,0,1,0,1;1,1,1,1,1;0,0,0,0,0", examples=20_000, minutes=2),
    # Nets of 1..12 tokens in training; 13..21 held out. Traces are long: more positions.
    "gpt2-abcd": Recipe("abcd", "lengths=1-12", examples=6_000, epochs=2, lr=1e-3, n_positions=2048, minutes=12),
    # Operands up to 2x2 digits in training; 3-digit cases held out.
    "gpt2-mult": Recipe("multiplication", "digits=2x2", examples=20_000, epochs=4, lr=1e-3, minutes=3),
    "gpt2-mult-scratchpad": Recipe("multiplication", "digits=2x2", examples=20_000, epochs=4, lr=1e-3,
                                   scratchpad=True, minutes=6),
}


def home() -> Path:
    return Path(os.environ.get("ORACLEBENCH_HOME", Path.home() / ".cache" / "oraclebench")).expanduser()


def train_scale() -> float:
    text = os.environ.get("ORACLEBENCH_TRAIN_SCALE", "1")
    try:
        scale = float(text)
    except ValueError:
        raise ModelError(f"ORACLEBENCH_TRAIN_SCALE={text!r} is not a number; use e.g. 1 or 0.1") from None
    if not 0 < scale <= 100:
        raise ModelError(f"ORACLEBENCH_TRAIN_SCALE={scale} must be in (0, 100]")
    return scale


def recipe_for(name: str, heldout: str | None = None, seed: int | None = None) -> Recipe:
    if name not in RECIPES:
        raise ModelError(f"unknown reference model {name!r}; known: {', '.join(sorted(RECIPES))}")
    recipe = RECIPES[name]
    changes = {k: v for k, v in (("heldout", heldout), ("seed", seed)) if v is not None}
    return dataclasses.replace(recipe, **changes)


def settings(recipe: Recipe, scale: float) -> dict:
    """What must match for a stored checkpoint to stand for this recipe."""
    return {**dataclasses.asdict(recipe), "scale": scale}


def training_problems(recipe: Recipe, scale: float):
    """The task, its held-out manifest, and the training problems (problem i from ``Random(seed + i)``)."""
    from tasks import get_task

    task = get_task(recipe.task)
    manifest = task.manifest_from_spec(recipe.heldout)
    config = task.train_config(manifest)
    if recipe.scratchpad:
        config = dataclasses.replace(config, scratchpad=True)
    n = max(64, int(recipe.examples * scale))
    return task, manifest, [task.sample(recipe.seed, i, config) for i in range(n)]


def train(name: str, out: Path | str | None = None, heldout: str | None = None, seed: int | None = None,
          steps: int | None = None, epochs: float | None = None, device: str = "cpu", progress: bool = True) -> Path:
    """Train reference model ``name`` and save it (HF layout + manifest + loss PNG); returns its folder."""
    import torch

    from models.charlm import build_tokenizer, save, tiny_gpt2
    from oraclebench.training import TrainConfig, plot_losses, train_lm

    recipe = recipe_for(name, heldout, seed)
    scale = train_scale()
    out = Path(out) if out else home() / "models" / name
    if device == "cpu":
        # Models this small gain nothing from a second thread, and two threads that share a busy
        # machine spin-wait: measured here, 63 ms a step on one thread against 1.5 s on two.
        torch.set_num_threads(int(os.environ.get("ORACLEBENCH_THREADS", "1")))
    task, manifest, problems = training_problems(recipe, scale)
    pairs = [(task.render(p).prompt, task.render_answer(p, task.solve(p))) for p in problems]
    # Held-out prompts must tokenize too (never <unk>): the vocabulary also reads the frozen set.
    frozen = [task.decode(i.problem) for i in task.frozen()]
    if recipe.scratchpad:
        frozen = [dataclasses.replace(p, scratchpad=True) for p in frozen]
    vocab_texts = [p + c for p, c in pairs] + [task.render(p).prompt + task.render_answer(p, task.solve(p))
                                                for p in frozen]
    tokenizer = build_tokenizer(vocab_texts)
    model = tiny_gpt2(tokenizer, recipe.n_embd, recipe.n_layer, recipe.n_head, recipe.n_positions, seed=recipe.seed)
    config = TrainConfig(epochs=epochs or recipe.epochs * 1.0, steps=steps, batch_size=recipe.batch_size,
                         lr=recipe.lr, seed=recipe.seed, device=device, group_by_length=True, warmup=0.02)
    torch.manual_seed(recipe.seed)
    result = train_lm(model, tokenizer, pairs, config, progress=progress, desc=name)
    save(model.to("cpu"), tokenizer, out)
    digest = hashlib.sha256("".join(p + "\x00" + c + "\x01" for p, c in pairs).encode()).hexdigest()
    info = {
        "name": name, "task": task.name, "split": manifest, "recipe": settings(recipe, scale),
        "overrides": {"steps": steps, "epochs": epochs}, "seed": recipe.seed,
        "hyperparameters": dataclasses.asdict(config), "dataset_sha256": digest, "examples": len(pairs),
        "parameters": sum(p.numel() for p in model.parameters()), "train": result.to_json(),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / "manifest.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    plot_losses(result.losses, out / "loss.png", f"{name}: {len(pairs)} examples, {result.steps} steps")
    return out


def matches(path: Path, recipe: Recipe, scale: float) -> bool:
    try:
        stored = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stored.get("recipe") == settings(recipe, scale) and not any(stored.get("overrides", {}).values())


def load_reference(name: str, options: dict | None = None):
    """The ``hf:`` adapter over reference model ``name``, trained first if no matching checkpoint exists.

    Options: ``heldout`` (the task's spec, e.g. ``omitted=1,1,1,1,1``), ``seed``, plus the ``hf:``
    adapter's own (device, dtype, batch_size).
    """
    from models.hf import HFModel

    options = dict(options or {})
    heldout = options.pop("heldout", None)
    seed = int(options.pop("seed")) if "seed" in options else None
    recipe, scale = recipe_for(name, heldout, seed), train_scale()
    suffix = "" if (heldout is None and seed is None) else "-" + hashlib.sha256(
        json.dumps([heldout, seed]).encode()).hexdigest()[:8]
    path = home() / "models" / (name + suffix)
    if not matches(path, recipe, scale):
        why = "no checkpoint" if not path.exists() else "the checkpoint there was trained with another recipe"
        minutes = max(0.1, recipe.minutes * scale)
        print(f"{name}: {why} at {path}; training it now (about {minutes:.1f} minutes on CPU)", file=sys.stderr,
              flush=True)
        train(name, path, heldout, seed, progress=sys.stderr.isatty())
    model = HFModel(str(path), options)
    model.name = name
    return model
