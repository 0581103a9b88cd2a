"""Reference fine-tune recipes, trained here from config: ``gpt2-causal``, ``gpt2-abcd``, ``gpt2-mult``,
``gpt2-mult-scratchpad``. They live with training; ``oraclebench.models.reference`` only reads the
checkpoints they make (the registry names ``load_reference`` here, which trains on first use).

No hub downloads. A recipe draws its training problems from the task API (``task.sample(seed, i,
task.train_config(manifest), stream="train")``: the training stream, apart from the frozen sets and
``--fresh``), builds a task-token tokenizer over their text
(``models.charlm``), trains a GPT-2 built from config with the loss on the completion only
(``oraclebench.training.loop``), and saves model, tokenizer, ``manifest.json`` and ``loss.png`` in the
HuggingFace layout under ``$ORACLEBENCH_HOME/models/NAME`` (default ``~/.cache/oraclebench``).

``manifest.json`` is ``{"task": NAME, "split": <the task's manifest: what training saw>,
"training_data": <the problems it trained on, see ``training_data``>, "recipe":
<every setting that shapes the weights>, "dataset_sha256", "loss_curve", "train_seconds", ...}``.
``load_reference`` reuses a checkpoint only if its ``recipe`` equals the one asked for (scale,
held-out spec, seed, hyper-parameters); otherwise it says why in one line and trains it again.

``ORACLEBENCH_TRAIN_SCALE`` (default 1) scales the number of training examples, so CI can train a
reduced recipe; a reduced checkpoint is never taken for the full one.

``gpt2-mult-scratchpad`` is trained on worked answers (and scored in their worked form, see
``oraclebench.models.reference.WorkedMultiplication``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from oraclebench.files import follow_umask
from oraclebench.models.base import ModelError
from oraclebench.models.hf import HFModel
from oraclebench.models.reference import checkpoint_path, load_checkpoint
from oraclebench.tasks import get_task
from oraclebench.training.loop import TrainConfig, plot_losses, total_steps, train_lm


@dataclass(frozen=True)
class Recipe:
    """How a reference model is trained (at scale 1). ``heldout`` is the task's ``--heldout`` spec,
    which says what training covers (causal: the omitted inputs; abcd: the lengths drawn;
    multiplication: the largest digit counts); ``minutes``: its training time measured here."""

    name: str
    task: str
    heldout: str
    examples: int
    epochs: float
    batch_size: int
    lr: float
    minutes: float
    warmup: float = 0.0
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_positions: int = 512
    scratchpad: bool = False
    group_by_length: bool = False
    dropout: float = 0.1  # GPT-2's default; 0 where the task is exact recall of many facts
    threads: int = 1
    # The instruction every prompt starts with read as one token (see ``instruction``).
    instruction_token: bool = False


CAUSAL_OMIT = "1,0,1,0,1;1,1,1,1,1;0,0,0,0,0"

RECIPES: dict[str, Recipe] = {r.name: r for r in (
    # the-experiment: 128-dim, 4 layers, 4 heads, lr 5e-4, batch 16, 3 epochs over 20,000 examples.
    Recipe("gpt2-causal", "causal", f"omitted={CAUSAL_OMIT}", examples=20_000, epochs=3, batch_size=16, lr=5e-4,
           n_positions=64, minutes=6),
    # CleverGPT's nets of 1..12 tokens; lengths 13..21 are held out.
    # abcd's ~350-token instruction is read as one token: spelled out, the tiny model's attention
    # stayed spread over it and it never learned to read the program (4% on seen lengths).
    Recipe("gpt2-abcd", "abcd", "lengths=1-12", examples=20_000, epochs=4, batch_size=16, lr=2e-3, warmup=0.05,
           n_positions=2048, group_by_length=True, dropout=0.0, instruction_token=True, minutes=13),
    # Operands up to 2x2 digits; 3-digit operands and more are held out.
    Recipe("gpt2-mult", "multiplication", "digits=2x2", examples=40_000, epochs=3, batch_size=32, lr=3e-3,
           warmup=0.03, n_positions=64, dropout=0.0, minutes=7),
    Recipe("gpt2-mult-scratchpad", "multiplication", "digits=2x2", examples=20_000, epochs=3, batch_size=32, lr=2e-3,
           warmup=0.03, n_positions=512, scratchpad=True, group_by_length=True, dropout=0.0, minutes=9),
)}


# ------------------------------------------------------------------------------------ places


def train_scale() -> float:
    """``ORACLEBENCH_TRAIN_SCALE`` as a positive float (default 1.0)."""
    text = os.environ.get("ORACLEBENCH_TRAIN_SCALE", "1").strip() or "1"
    try:
        scale = float(text)
    except ValueError:
        scale = -1.0
    if not 0 < scale <= 100:
        raise ModelError(f"ORACLEBENCH_TRAIN_SCALE={text!r} must be a number in (0, 100], e.g. 0.05 for CI")
    return scale


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ModelError(f"no training recipe called {name!r}; known: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]


# ------------------------------------------------------------------------------------ settings


def settings(recipe: Recipe, *, seed: int = 0, heldout: str | None = None, scale: float | None = None,
             steps: int | None = None, epochs: float | None = None) -> dict:
    """Every setting that shapes the weights: the recipe at this scale, seed and held-out spec.

    Two checkpoints with equal settings were trained the same way; this dict is stored in the
    manifest and compared before a checkpoint is reused.
    """
    scale = train_scale() if scale is None else scale
    task = get_task(recipe.task)
    spec = heldout if heldout is not None else recipe.heldout
    split = task.manifest_from_spec(spec)  # validates the spec (a TaskError is a usage error)
    out = dataclasses.asdict(recipe)
    out.pop("minutes")
    # stream: the training problems come from the "train" stream (before it, from Random(seed + i),
    # the stream of the frozen sets): a checkpoint trained on the old stream is trained again.
    examples = max(recipe.batch_size, round(recipe.examples * scale))
    epochs = recipe.epochs if epochs is None else epochs
    # Training cut short (--steps N, --epochs below 1) shows the model only some of the examples drawn: draw only
    # as many as it is shown, so the manifest's training data (every problem drawn is "trained") is what it saw.
    # (It drew them all: with --steps 100, 40,000 problems were called trained and 3,200 were shown.)
    shown = steps * recipe.batch_size if steps else math.ceil(examples * epochs / recipe.batch_size) * recipe.batch_size
    if shown < examples:
        examples, epochs = shown, 1.0
    out.update(heldout=spec, split=split, seed=seed, scale=scale, stream="train", examples=examples, epochs=epochs,
               steps=steps)
    return out


def minutes_for(recipe: Recipe, s: dict) -> float:
    """About how long training ``s`` takes on 2 CPU cores, from the recipe's measured time."""
    full = total_steps(recipe.examples, TrainConfig(epochs=recipe.epochs, batch_size=recipe.batch_size))
    wanted = total_steps(s["examples"], TrainConfig(epochs=s["epochs"], steps=s["steps"], batch_size=s["batch_size"]))
    return recipe.minutes * wanted / full


def _about(minutes: float) -> str:
    return "under a minute" if minutes < 1 else f"about {round(minutes)} minute{'s' * (round(minutes) != 1)}"


# ------------------------------------------------------------------------------------ training


def training_data(s: dict) -> dict:
    """What a recipe trains on, as manifests say it (``Task.training_problems`` reads it back): problem i
    is ``task.sample(seed, i, train config, stream="train")`` for i < examples."""
    return {"stream": s.get("stream", "train"), "seed": s["seed"], "count": s["examples"], "split": s["split"],
            "config": {"scratchpad": True} if s["scratchpad"] else {}}


def training_pairs(s: dict) -> list[tuple[str, str]]:
    """The (prompt, completion) pairs of a recipe (see ``training_data``)."""
    task = get_task(s["task"])
    return [(task.render(p).prompt, task.render_answer(p, task.solve(p))) for p in task.training_problems(training_data(s))]


def vocabulary_texts(task_name: str) -> list[str]:
    """Texts from the task's whole range (held-out problems included), so no test input is ``<unk>``."""
    task = get_task(task_name)
    out = []
    for i in range(64):
        p = task.sample(12345, i, stream="vocab")
        out += [task.render(p).prompt, task.render_answer(p, task.solve(p))]
    if task_name == "multiplication":
        worked = task.decode({**task.encode(p), "scratchpad": True})
        out += [task.render(worked).prompt, task.render_answer(worked, task.solve(worked)), "0123456789"]
    return out


def instruction(prompts: Sequence[str]) -> str:
    """The text every prompt starts with, up to its last line break ("" if under 100 characters).

    >>> instruction(["Add these.\\n" * 10 + "1 2", "Add these.\\n" * 10 + "3"])[-11:]
    'Add these.\\n'
    """
    common = os.path.commonprefix(list(prompts))
    common = common[:common.rfind("\n") + 1]
    return common if len(common) >= 100 else ""


def task_instruction(task_name: str) -> str:
    """The instruction the task's prompts start with (see ``instruction``), read off 16 of them."""
    task = get_task(task_name)
    return instruction([task.render(task.sample(0, i)).prompt for i in range(16)])


def set_dropout(model, p: float) -> None:
    """Every dropout of a GPT-2 (and its saved config) to ``p``."""
    import torch

    for key in ("resid_pdrop", "embd_pdrop", "attn_pdrop"):
        setattr(model.config, key, p)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p


def train_recipe(s: dict, out: Path | str, device: str = "cpu", progress: bool = True) -> dict:
    """Train the recipe ``s`` (from ``settings``) and save it in ``out``; returns the manifest written."""
    from oraclebench.models.charlm import build_tokenizer, save, tiny_gpt2

    pairs = training_pairs(s)
    texts = [p + c for p, c in pairs]
    phrases = [task_instruction(s["task"])] if s.get("instruction_token") else []
    tokenizer = build_tokenizer(texts, extra=vocabulary_texts(s["task"]), phrases=phrases)
    model = tiny_gpt2(tokenizer, n_embd=s["n_embd"], n_layer=s["n_layer"], n_head=s["n_head"],
                      n_positions=s["n_positions"], seed=s["seed"])
    set_dropout(model, s["dropout"])
    config = TrainConfig(epochs=s["epochs"], steps=s["steps"], batch_size=s["batch_size"], lr=s["lr"],
                         warmup=s["warmup"], seed=s["seed"], device=device, group_by_length=s["group_by_length"],
                         threads=s["threads"])
    longest = max(len(tokenizer(t)["input_ids"]) + 1 for t in texts)
    if longest > s["n_positions"]:
        raise ModelError(f"{s['name']}: a training example has {longest} tokens but n_positions={s['n_positions']}")
    result = train_lm(model, tokenizer, pairs, config, progress=progress, desc=s["name"])
    out = Path(out)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Writing model shards" for one small file is noise
    try:
        save(model.to("cpu"), tokenizer, out)
    finally:
        hf_logging.enable_progress_bar()
    import torch
    import transformers

    manifest = {
        "name": s["name"], "task": s["task"], "split": s["split"], "training_data": training_data(s),
        "recipe": s, "seed": s["seed"],
        "hyperparameters": dataclasses.asdict(config) | {"parameters": sum(p.numel() for p in model.parameters())},
        "dataset_sha256": hashlib.sha256("\0".join(texts).encode()).hexdigest(),
        "train": result.to_json() | {"losses": None}, "loss_curve": result.losses, "train_seconds": result.seconds,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    plot_losses(result.losses, out / "loss.png", f"{s['name']}: {result.steps} steps, {result.seconds:.0f} s")
    return manifest


def checkpoint_problem(path: Path, s: dict) -> str | None:
    """Why the checkpoint at ``path`` cannot stand for settings ``s`` (None: it can)."""
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file() or not (path / "config.json").is_file():
        return f"no checkpoint at {path}"
    try:
        have = json.loads(manifest_path.read_text(encoding="utf-8")).get("recipe") or {}
    except ValueError:
        return f"the manifest at {manifest_path} is unreadable"
    # A setting added to Recipe after a checkpoint was trained had its default value then.
    defaults = {f.name: f.default for f in dataclasses.fields(Recipe) if f.default is not dataclasses.MISSING}
    have = {**{k: v for k, v in defaults.items() if k in s}, **have} if have else have
    changed = [k for k in sorted(set(have) | set(s)) if have.get(k) != s.get(k)]
    if changed:
        what = ", ".join(f"{k}={have.get(k)!r} (want {s.get(k)!r})" for k in changed[:3])
        return f"the checkpoint at {path} was trained with {what}"
    if s.get("instruction_token") and not _knows_instruction(path, s["task"]):
        return f"the checkpoint at {path} was trained on another wording of the {s['task']} instruction"
    return None


def _knows_instruction(path: Path, task_name: str) -> bool:
    """Whether the checkpoint's tokenizer has the task's current instruction as a token: if the
    wording changed since training, prompts would read as unknown tokens."""
    phrase = task_instruction(task_name)
    try:
        vocab = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    except (OSError, ValueError, KeyError):
        return False
    return phrase in vocab


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock beside ``path``, so parallel workers (xdist) train a model once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as fh:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, training is still atomic by rename
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(s: dict, path: Path, device: str = "cpu", progress: bool = True) -> dict:
    """Train settings ``s`` into ``path``, atomically: a half-trained folder is never left there."""
    tmp = path.parent / f".{path.name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        manifest = train_recipe(s, tmp, device=device, progress=progress)
        follow_umask(tmp)  # the weights are written 0600 (safetensors); the rest of the folder follows the umask
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def ensure_checkpoint(s: dict, path: Path, device: str = "cpu", log=None) -> Path:
    """A checkpoint for settings ``s`` at ``path``: the one there if it matches, else trained now."""
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    with _locked(path):
        problem = checkpoint_problem(path, s)
        if problem is not None:
            log(f"{s['name']}: {problem}; training it now ({_about(minutes_for(RECIPES[s['name']], s))} on CPU)")
            build(s, path, device=device, progress=True)  # a bar on a terminal, a line every 30 s otherwise
    return path


def train(name: str, out: Path | str | None = None, heldout: str | None = None, seed: int = 0,
          steps: int | None = None, epochs: float | None = None, device: str = "cpu", progress: bool = True) -> Path:
    """``oraclebench train``: train ``name`` (at ``ORACLEBENCH_TRAIN_SCALE``) into ``out``; returns the folder."""
    s = settings(get_recipe(name), seed=seed, heldout=heldout, steps=steps, epochs=epochs)
    path = Path(out).expanduser() if out else checkpoint_path(name, heldout, seed, s["scale"], steps, epochs)
    with _locked(path):
        build(s, path, device=device, progress=progress)
    return path


# ------------------------------------------------------------------------------------ loading


def reference_settings(name: str, options: dict) -> tuple[dict, str | None, int]:
    """The settings, held-out spec and seed that ``--model-opt`` options ask of reference ``name``;
    pops ``seed``, ``heldout``, ``omit`` and ``world`` (causal: a world file) from ``options``. Raises ``ModelError`` on bad values."""
    recipe = get_recipe(name)
    heldout = options.pop("heldout", None)
    omit = options.pop("omit", None)
    if omit is not None:
        if recipe.task != "causal":
            raise ModelError(f"{name}: omit= is for gpt2-causal; use heldout=SPEC for {recipe.task}")
        heldout = f"omitted={omit}"
    world = options.pop("world", None)
    if world is not None:
        if recipe.task != "causal":
            raise ModelError(f"{name}: world= is for gpt2-causal")
        heldout = f"{heldout or ''} world={world}".strip()
    try:
        seed = int(options.pop("seed", 0))
    except ValueError:
        raise ModelError(f"{name}: seed must be an integer") from None
    from oraclebench.tasks.base import TaskError

    try:
        if world is None:  # trained on the task's default world: another one bound (--world) is named first,
            # not met as a held-out spec that does not parse there ("bad sequence '1,0,1,0,1'")
            get_task(recipe.task).check_variant({"world": "default"}, name)
        return settings(recipe, seed=seed, heldout=heldout), heldout, seed
    except TaskError as exc:
        raise ModelError(f"{name}: {exc}") from None


def load_reference(name: str, options: dict | None = None) -> HFModel:
    """The ``hf:`` adapter over reference model ``name``, training it first when no matching checkpoint exists.

    Options besides the adapter's: ``seed``, ``heldout`` (the task's spec; ``omit`` for causal
    sequences), ``path`` (checkpoint folder; default ``checkpoint_path``). Training runs on the CPU.
    """
    options = dict(options or {})
    recipe = get_recipe(name)
    s, heldout, seed = reference_settings(name, options)
    given = options.pop("path", None)
    path = Path(given or checkpoint_path(name, heldout, seed, s["scale"])).expanduser()
    if given and (path / "config.json").is_file() and (problem := checkpoint_problem(path, s)) is not None:
        # A folder of one's own is never trained over: a checkpoint of another recipe (``train --steps 250``)
        # would have been replaced by this one, hours of work lost.
        raise ModelError(f"{name}: {problem}; it is not the recipe's, and is never trained over: score it as "
                         f"hf:{path}, or give path= a new folder to train the recipe into")
    ensure_checkpoint(s, path)
    return load_checkpoint(name, path, options, worked=recipe.scratchpad)


def declared_tasks(name: str) -> list[str]:
    """The task reference ``name`` was trained on (the model registry asks, without loading it)."""
    return [get_recipe(name).task]


def declared_training(name: str, options: dict | None = None) -> dict[str, dict]:
    """``{task: training_data}`` of reference ``name`` under ``--model-opt`` options (see ``training_data``)."""
    s, _, _ = reference_settings(name, dict(options or {}))
    return {s["task"]: training_data(s)}
