"""``oraclebench train judge-transplant``: seed 004's experiment, re-run here on a small Llama trained from scratch.

1. Pretraining: a Llama built from config (``models.charlm.tiny_llama``) with a task-token tokenizer
   (``charlm.build_tokenizer``) learns the judge task's text as a language model: each training
   question followed by its correct and its wrong chain of thought (the arguer's text), so that the
   arguer's hidden states over an explanation carry what the model makes of its arithmetic.
2. Chooser fine-tuning, seed 004's procedure: per instance, two arguer passes (question + each
   candidate explanation), their hidden states written over the explanation tokens of the choice
   prompt at the transplanted layers (``models.transplant``), and a cross-entropy loss on the one
   choice token (``1``/``2``) after ``candidate_``. Full fine-tuning by default (the model is
   small and trained here: there is no general ability to preserve, and it is cheaper per step on
   CPU), ``--lora`` for peft's LoRA as the seed did its 7B model; ``--masked`` for the seed's masked
   arguments; ``--no-transplant`` for the control (the same procedure with nothing transplanted).
3. Held-out generalization: the judge manifest (``--heldout``, the *seen* templates and error kinds)
   restricts every training problem; train/test accuracy curves (``curves.png``, ``history.json``)
   show the training instances, seen-template and held-out test instances, and the argument's base
   rate, over the number of examples trained.

``--base DIR`` skips step 1 and fine-tunes a local HF causal LM (a real Llama on a GPU box, best with
``--lora``) with its own tokenizer. The output directory holds the fine-tuned weights (merged when
LoRA was used), so ``transplant:DIR`` scores it with the layers recorded in ``manifest.json`` and
``hf:DIR`` reads the same weights with nothing transplanted; ``base/`` (the pretrained model),
``lora/`` (the adapter over it, with ``--lora``), ``curves.png``, ``history.json`` and the manifest.
The default (pretraining 300 steps, chooser 1200 steps of 8) takes 10-15 minutes on 2 CPU cores.
Deterministic under ``--seed`` on one machine; ``ORACLEBENCH_TRAIN_SCALE`` scales the step counts,
training set and curve sizes (CI uses a small fraction).
"""

from __future__ import annotations

import functools
import json
import os
import random
import shlex
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from oraclebench.errors import UsageError
from oraclebench.files import follow_umask
from oraclebench.training.loop import run_steps, schedule, step_meter

NAME = "judge-transplant"
HELP = "train the judge transplant model (seed 004) on CPU: pretrain, fine-tune the chooser, plot curves"
# Seen by training: 9 of the 12 templates and 3 of the 4 error kinds; the rest is held out.
DEFAULT_SEEN = ("templates=tickets,addition,subtraction,multiplication,division,rates,money,percent,average;"
                "errors=slip,operation,dropped")


@dataclass(frozen=True)
class Recipe:
    """Every setting that changes the trained model; all of it goes into the manifest."""

    seed: int = 0
    heldout: str = DEFAULT_SEEN  # the judge spec of what training may see
    masked: bool = False
    transplant: bool = True
    layers: str = "all"
    finetune: str = "full"  # or "lora"
    lora_rank: int = 8
    hidden: int = 64
    n_layers: int = 3
    heads: int = 4
    pretrain_steps: int = 300
    pretrain_batch: int = 16
    pretrain_lr: float = 3e-3
    steps: int = 1200
    batch: int = 8
    lr: float = 1e-3
    train_n: int = 3000
    eval_every: int = 100
    eval_n: int = 96
    arguer_grad: bool = False
    base: str | None = None


def add_arguments(parser) -> None:
    """The recipe's flags (``oraclebench train judge-transplant --help``)."""
    d = Recipe()
    parser.add_argument("--out", default=None, help="output directory (default $ORACLEBENCH_HOME/models/judge-transplant"
                                                    "[-masked][-control][-lora], ORACLEBENCH_HOME=~/.cache/oraclebench)")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--heldout", default=d.heldout, metavar="SPEC",
                        help="what training sees, as a judge spec (templates=a,b;errors=x,y); the rest is held out")
    parser.add_argument("--masked", action="store_true", help="train and test on masked choice arguments (Candidate _)")
    parser.add_argument("--no-transplant", dest="transplant", action="store_false",
                        help="the control: the same fine-tuning with nothing transplanted")
    parser.add_argument("--layers", default=d.layers, help="layers to transplant: all, 1-2, 0,2 (default all)")
    parser.add_argument("--lora", dest="finetune", action="store_const", const="lora", default="full",
                        help="fine-tune the chooser with LoRA (peft), as the seed did its 7B model, instead of fully "
                             "(the default for the small model built here; use --lora with a large --base)")
    parser.add_argument("--lora-rank", type=int, default=d.lora_rank)
    parser.add_argument("--hidden", type=int, default=d.hidden, help="width of the Llama built from config")
    parser.add_argument("--n-layers", type=int, default=d.n_layers, help="decoder layers of the Llama built from config")
    parser.add_argument("--pretrain-steps", type=int, default=d.pretrain_steps)
    parser.add_argument("--steps", type=int, default=d.steps, help=f"chooser fine-tuning steps (default {d.steps})")
    parser.add_argument("--batch", type=int, default=d.batch, help="chooser instances per step")
    parser.add_argument("--lr", type=float, default=d.lr, help="chooser learning rate")
    parser.add_argument("--train-n", type=int, default=d.train_n, help="training instances (cycled)")
    parser.add_argument("--eval-every", type=int, default=d.eval_every, help="steps between curve points")
    parser.add_argument("--eval-n", type=int, default=d.eval_n, help="instances per curve (train, seen, held out)")
    parser.add_argument("--arguer-grad", action="store_true", help="backpropagate through the arguer passes too")
    parser.add_argument("--base", default=None, metavar="DIR",
                        help="fine-tune this local HF causal LM (with its tokenizer) instead of pretraining one")
    parser.add_argument("--device", default=None, help="cpu (default without CUDA), cuda, ...")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (default 1: these matrices are tiny, and a busy machine slows more threads)")


def recipe_from_args(args) -> Recipe:
    """The recipe the flags ask for, scaled by ``ORACLEBENCH_TRAIN_SCALE``."""
    fields = {k: getattr(args, k) for k in asdict(Recipe()) if hasattr(args, k)}
    recipe = Recipe(**fields)
    for name in ("steps", "pretrain_steps", "train_n", "batch", "eval_every", "eval_n", "lora_rank", "hidden", "n_layers"):
        if getattr(recipe, name) <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive, not {getattr(recipe, name)}")
    if recipe.hidden % recipe.heads:
        raise UsageError(f"--hidden {recipe.hidden} must be a multiple of {recipe.heads} (the attention heads)")
    return scaled(recipe, train_scale())


def train_scale() -> float:
    """``ORACLEBENCH_TRAIN_SCALE``, read by the reference recipes' one rule (``recipes.train_scale``); a bad
    value is a ``UsageError`` here (the ``train`` command's)."""
    from oraclebench.models.base import ModelError
    from oraclebench.training.recipes import train_scale as shared

    try:
        return shared()
    except ModelError as exc:
        raise UsageError(str(exc)) from None


def scaled(recipe: Recipe, scale: float) -> Recipe:
    if scale == 1:
        return recipe
    def s(n: int, least: int) -> int:
        return max(least, round(n * scale))
    return replace(recipe, steps=s(recipe.steps, 2), pretrain_steps=s(recipe.pretrain_steps, 2),
                   train_n=s(recipe.train_n, 16), eval_every=s(recipe.eval_every, 1), eval_n=s(recipe.eval_n, 4))


def default_out(recipe: Recipe, scale: float = 1.0) -> Path:
    """``$ORACLEBENCH_HOME/models/judge-transplant[-masked][-control][-lora][-scale<S>]``: a reduced scale never
    takes the full recipe's folder (as ``models.reference.checkpoint_path`` for the reference models)."""
    home = Path(os.environ.get("ORACLEBENCH_HOME") or "~/.cache/oraclebench").expanduser()
    suffix = ("-masked" if recipe.masked else "") + ("" if recipe.transplant else "-control") + (
        "-lora" if recipe.finetune == "lora" else "") + ("" if scale == 1 else f"-scale{scale:g}")
    return home / "models" / (NAME + suffix)


# --------------------------------------------------------------------------- data


@dataclass
class Data:
    """Problems for training and for the curves, with their requests and target option indices."""

    manifest: dict
    train: list
    curves: dict[str, list]  # "train", "seen", "heldout" -> problems


def training_data(recipe: Recipe, manifest: dict) -> dict:
    """The chooser's training problems, as manifests say it (``Task.training_problems`` reads it back)."""
    # Only the problems the chooser is shown are trained on: --steps 100 of 8 shows 800 of 3,000 (each epoch
    # is a permutation of all of them, so steps x batch >= count shows every one).
    return {"stream": "train", "seed": recipe.seed, "count": min(recipe.train_n, recipe.steps * recipe.batch),
            "split": manifest, "config": {"masked": recipe.masked}}


def make_data(recipe: Recipe) -> Data:
    """Training problems from the seen templates/errors only; curve problems from every template."""
    from oraclebench.tasks import get_task

    task = get_task("judge")
    # The chooser trains on one masking only (``--masked`` or not): the other masking is held out.
    manifest = task.manifest_from_spec(recipe.heldout) | {"masked": recipe.masked}
    # Each purpose its own stream (tasks.base.stream_random): curves never reuse training problems.
    train = list(task.training_problems(training_data(recipe, manifest)))
    full = replace(task.Config(), masked=recipe.masked)
    curves: dict[str, list] = {"train": train[: recipe.eval_n], "seen": [], "heldout": []}
    i = 0
    while min(len(curves["seen"]), len(curves["heldout"])) < recipe.eval_n:
        p = task.sample(recipe.seed, i, full, stream="curve")
        split = task.split(p, manifest)
        if len(curves[split]) < recipe.eval_n:
            curves[split].append(p)
        i += 1
    return Data(manifest, train, curves)


def arguer_texts(problems) -> list[str]:
    """The pretraining text: each question with each of its two explanations (the arguer's input)."""
    from oraclebench.tasks import get_task

    task = get_task("judge")
    out = []
    for p in problems:
        r = task.render(p)
        out += [prompt + span for prompt, span in zip(r.span_prompts, r.spans)]
    return out


@functools.lru_cache(maxsize=4)
def vocabulary_texts(seed: int, n: int = 240) -> tuple[str, ...]:
    """Texts whose pieces make the tokenizer's vocabulary: ``n`` instances over every template (held-out
    words must not be <unk>), masked and not, plus all digits. Only their pieces are used, never trained on."""
    from oraclebench.tasks import get_task

    task = get_task("judge")
    texts = ["0123456789 $ . % _ 1 2"]
    for i in range(n):
        r = task.render(task.sample(seed, i, stream="vocab"))
        texts += [r.prompt, *r.span_prompts, *r.spans]
    return tuple(texts)


# --------------------------------------------------------------------------- the two stages


def pretrain(model, tokenizer, texts: list[str], recipe: Recipe, progress) -> list[float]:
    """Language-model training on ``texts`` (each ended by EOS); returns the loss per step."""
    import torch

    from oraclebench.models.transplant import pad_right

    rng = random.Random(recipe.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.pretrain_lr, weight_decay=0.01)
    eos = tokenizer.eos_token_id
    order: list[int] = []
    losses = []
    model.train()

    def loss_at(step: int):
        nonlocal order
        if len(order) < recipe.pretrain_batch:
            order += rng.sample(range(len(texts)), len(texts))
        batch, order = order[: recipe.pretrain_batch], order[recipe.pretrain_batch:]
        rows = [tokenizer(texts[i], add_special_tokens=False)["input_ids"] + [eos] for i in batch]
        ids, mask = pad_right(rows, tokenizer.pad_token_id, model.device)
        labels = ids.masked_fill(mask == 0, -100)
        return model(input_ids=ids, attention_mask=mask, labels=labels).loss, int(mask.sum())

    def on_step(step: int, loss: float, tokens: int) -> None:
        losses.append(loss)
        progress(f"pretrain loss {sum(losses[-20:]) / len(losses[-20:]):.3f}")

    run_steps(model.parameters(), opt, _schedule(opt, recipe.pretrain_steps), recipe.pretrain_steps, loss_at,
              on_step=on_step)
    model.eval()
    return losses


def _schedule(opt, steps: int):
    """The one schedule (``training.loop.schedule``) in this recipe's shape: linear warm-up over 5% of
    the steps, then cosine decay to 10%."""
    return schedule(opt, steps, max(1, steps // 20), decay="cosine", floor=0.1)


class Chooser:
    """The transplant forward pass over judge problems: log-probabilities of the two options."""

    def __init__(self, model, tokenizer, layers: list[int]):
        from oraclebench.models.transplant import lead_ids

        self.model, self.tokenizer, self.layers = model, tokenizer, layers
        self.lead = lead_ids(tokenizer)
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._encoded: dict = {}  # problem -> (Encoded, index of the right option)

    def encode(self, problems) -> tuple[list, list[int]]:
        from oraclebench.models.transplant import encode
        from oraclebench.tasks import get_task

        task = get_task("judge")
        for p in problems:
            if p not in self._encoded:
                self._encoded[p] = (encode(self.tokenizer, task.render(p), self.lead), task.solve(p) - 1)
        return [self._encoded[p][0] for p in problems], [self._encoded[p][1] for p in problems]

    def option_logprobs(self, problems, batch_size: int, arguer_grad: bool = False):
        """A ``(len(problems), 2)`` tensor of option log-probabilities (over the vocabulary), and the targets."""
        import torch

        from oraclebench.models.transplant import arguer_states, chooser_logprobs

        encs, targets = self.encode(problems)
        states = None
        if self.layers:
            with torch.set_grad_enabled(arguer_grad and torch.is_grad_enabled()):
                states = arguer_states(self.model, encs, self.layers, 2 * batch_size, self.pad)
        else:
            encs = [e.plain() for e in encs]
        logp = chooser_logprobs(self.model, encs, states, batch_size, self.pad)
        ids = torch.tensor([e.choice_ids for e in encs], device=logp.device)
        return logp.gather(1, ids), torch.tensor(targets, device=logp.device)

    def accuracy(self, problems, batch_size: int) -> dict:
        """Accuracy, how often the choice follows the argument, and the argument's base rate."""
        import torch

        from oraclebench.tasks.judge import argued

        with torch.no_grad():
            scores, targets = self.option_logprobs(problems, batch_size)
        chosen = scores.argmax(1).tolist()
        n = len(problems)
        return {"accuracy": sum(c == t for c, t in zip(chosen, targets.tolist())) / n,
                "follows": sum(c + 1 == argued(p) for c, p in zip(chosen, problems)) / n,
                "argument": sum(p.argument_correct for p in problems) / n}


def finetune(model, chooser: Chooser, data: Data, recipe: Recipe, progress) -> list[dict]:
    """Chooser fine-tuning with the loss on the choice token; returns the curve points."""
    import torch

    rng = random.Random(recipe.seed + 1)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=0.01)
    history, order, losses = [], [], []
    t0 = time.perf_counter()

    def point(step: int) -> None:
        model.eval()
        row = {"step": step, "examples": step * recipe.batch, "loss": _mean(losses[-recipe.eval_every:]),
               "seconds": round(time.perf_counter() - t0, 1)}
        for name, problems in data.curves.items():
            for key, value in chooser.accuracy(problems, recipe.batch).items():
                row[f"{name}_{key}"] = value
        history.append(row)
        progress(f"step {step}: train {row['train_accuracy']:.2f} seen {row['seen_accuracy']:.2f} "
                 f"heldout {row['heldout_accuracy']:.2f}", point=True)
        model.train()

    def loss_at(step: int):
        nonlocal order
        if len(order) < recipe.batch:
            order += rng.sample(range(len(data.train)), len(data.train))
        batch, order = order[: recipe.batch], order[recipe.batch:]
        scores, targets = chooser.option_logprobs([data.train[i] for i in batch], recipe.batch, recipe.arguer_grad)
        return torch.nn.functional.nll_loss(scores, targets), len(batch)  # -log p(correct option), full vocabulary

    def on_step(step: int, loss: float, tokens: int) -> None:
        losses.append(loss)
        progress(f"chooser loss {_mean(losses[-20:]):.3f}")
        if step % recipe.eval_every == 0 or step == recipe.steps:
            point(step)

    point(0)
    run_steps(params, opt, _schedule(opt, recipe.steps), recipe.steps, loss_at, on_step=on_step)
    model.eval()
    return history


def _mean(xs) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


# --------------------------------------------------------------------------- the whole recipe


def build_base(recipe: Recipe, data: Data, out: Path, progress, device: str):
    """(model, tokenizer): the local ``--base`` model, or a Llama built from config and pretrained here."""
    import torch

    if recipe.base:
        from oraclebench.models.transplant import load

        model, tokenizer = load(recipe.base, device=device)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return model, tokenizer, None
    from oraclebench.models.charlm import build_tokenizer, save, tiny_llama

    tokenizer = build_tokenizer(vocabulary_texts(recipe.seed))
    torch.manual_seed(recipe.seed)
    model = tiny_llama(tokenizer, hidden_size=recipe.hidden, layers=recipe.n_layers, heads=recipe.heads,
                       intermediate=4 * recipe.hidden, seed=recipe.seed).to(device)
    losses = pretrain(model, tokenizer, arguer_texts(data.train), recipe, progress)
    save(model, tokenizer, out / "base")
    return model, tokenizer, losses


def lora_targets(model) -> list[str]:
    from oraclebench.models.hooks import unwrap

    kind = unwrap(model).config.model_type
    return ["c_attn", "c_proj", "c_fc"] if kind == "gpt2" else [
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def train(recipe: Recipe, out: Path, device: str | None = None, quiet: bool = False) -> dict:
    """Run the recipe into ``out``; returns the manifest (also written to ``out/manifest.json``)."""
    import torch

    from oraclebench.models.charlm import save
    from oraclebench.models.hooks import decoder_layers, parse_layers
    from oraclebench.judge_report import plot_curves

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    for stale in ("lora", "base"):  # from an earlier run into the same folder: they would mislead
        shutil.rmtree(out / stale, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    data = make_data(recipe)
    bar = step_meter((0 if recipe.base else recipe.pretrain_steps) + recipe.steps, NAME, not quiet)

    def progress(text: str, point: bool = False) -> None:
        if point:
            bar.write(text) if not quiet else None
        else:
            bar.set_postfix_str(text, refresh=False)
            bar.update(1)

    t0 = time.perf_counter()
    model, tokenizer, pretrain_losses = build_base(recipe, data, out, progress, device)
    layers = parse_layers(recipe.layers, len(decoder_layers(model))) if recipe.transplant else []
    if recipe.finetune == "lora":
        from peft import LoraConfig, get_peft_model

        from oraclebench.models.transplant import quiet_peft

        torch.manual_seed(recipe.seed + 2)
        with quiet_peft():
            model = get_peft_model(model, LoraConfig(r=recipe.lora_rank, lora_alpha=2 * recipe.lora_rank,
                                                     lora_dropout=0.0, target_modules=lora_targets(model)))
    history = finetune(model, Chooser(model, tokenizer, layers), data, recipe, progress)
    bar.close()
    if recipe.finetune == "lora":
        model.save_pretrained(out / "lora")
        model = model.merge_and_unload()
    save(model, tokenizer, out)
    last = history[-1]
    manifest = {
        "name": NAME, "task": "judge", "split": data.manifest, "training_data": training_data(recipe, data.manifest),
        "transplant": {"layers": layers, "arguer_grad": recipe.arguer_grad},
        "variant": {"masked": recipe.masked, "transplant": recipe.transplant, "finetune": recipe.finetune},
        "recipe": asdict(recipe), "seed": recipe.seed, "scale": train_scale(),
        "base": recipe.base or "base/ (Llama from config, pretrained here)",
        "lora": "lora/ (over the base model)" if recipe.finetune == "lora" else None,
        "final": {k: last[k] for k in last if k.endswith(("accuracy", "follows", "argument"))},
        "pretrain_final_loss": _mean(pretrain_losses[-20:]) if pretrain_losses else None,
        "seconds": round(time.perf_counter() - t0, 1), "device": device,
        # each runnable as printed: the transplant, and the same weights without it (the control)
        "usage": shlex.join(["pytest", "benchmark", "--model", f"transplant:{Path(out).resolve()}", "-m", "judge"]),
        "control_usage": shlex.join(["pytest", "benchmark", "--model", f"hf:{Path(out).resolve()}", "-m", "judge"]),
    }
    (out / "history.json").write_text(json.dumps({"curve": history, "pretrain_loss": pretrain_losses}, indent=1) + "\n")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    plot_curves(history, out / "curves.png", title=_title(recipe))
    follow_umask(out)  # the weights are written 0600 (safetensors); the whole folder follows the umask
    return manifest


def _title(recipe: Recipe) -> str:
    what = "transplant layers " + recipe.layers if recipe.transplant else "no transplant (control)"
    return f"judge chooser, {'masked' if recipe.masked else 'unmasked'} arguments, {what}, {recipe.finetune}"


def run(args) -> int:
    """The command: parse the recipe, train, print where the model went and its final curve point."""
    import torch

    recipe = recipe_from_args(args)
    if recipe.base and not (Path(recipe.base) / "config.json").is_file():
        raise UsageError(f"--base {recipe.base}: not a HuggingFace model directory (no config.json)")
    out = Path(args.out).expanduser() if args.out else default_out(recipe, train_scale())
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, getattr(args, "threads", 1)))
    try:
        manifest = train(recipe, out, device=getattr(args, "device", None))
    finally:
        torch.set_num_threads(threads)
    final = manifest["final"]
    print(f"{NAME}: saved to {out} in {manifest['seconds']:.0f} s; final curve point: "
          f"train {final['train_accuracy']:.3f}, seen {final['seen_accuracy']:.3f}, "
          f"held out {final['heldout_accuracy']:.3f} (argument base rate {final['seen_argument']:.3f})")
    print(f"score it: {manifest['usage']}")
    print(f"its control (no transplant): {manifest['control_usage']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m oraclebench.training.judge [flags]`` (the same as ``oraclebench train judge-transplant``)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog=f"oraclebench train {NAME}", description=HELP)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UsageError as exc:
        print(f"oraclebench train {NAME}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
