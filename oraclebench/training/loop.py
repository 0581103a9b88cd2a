"""The one training loop and the one learning-rate schedule behind every recipe, and the trainer of a
small causal LM on prompt/completion pairs (loss on the completion only, seeded).

``run_steps`` is the loop (zero grads, backward, clip, optimizer step, schedule step, report) and
``lr_factor``/``schedule`` the schedule (linear warm-up, then a linear or cosine decay to a floor);
the reference recipes (``train_lm``) and both stages of the judge transplant recipe
(``oraclebench.training.judge``) drive them with their own batches and losses.

``train_lm`` is the generic trainer behind the reference recipes (``oraclebench/training/recipes.py``) and ``oraclebench
train``. An example is ``prompt + completion + <eos>``, tokenized as the adapter will see it at
test time: the prompt on its own, then the completion. Labels are ``-100`` over the prompt and the
padding, so the model is taught to answer, not to recite prompts (the seed's script also trained on
the padding). AdamW with linear warm-up and decay, gradient clipping at 1, as transformers'
``Trainer`` does by default.

Deterministic under its seed on one machine: the model's initial weights come from the caller's
seed, the batch order from ``random.Random(seed)``, dropout from ``torch.manual_seed(seed)``.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class TrainConfig:
    """``steps`` (optimizer steps) wins over ``epochs`` when given; ``group_by_length`` batches
    examples of similar length together (less padding) while keeping the order random."""

    epochs: float = 3.0
    steps: int | None = None
    batch_size: int = 16
    lr: float = 5e-4
    weight_decay: float = 0.0
    warmup: float = 0.0  # fraction of the steps
    max_grad_norm: float = 1.0
    seed: int = 0
    device: str = "cpu"
    group_by_length: bool = False
    log_every: int = 10
    share_prefix: int = 32  # run a prompt prefix shared by a whole batch once if it is this long (0: never)
    threads: int | None = None  # torch threads while training; None leaves the process setting alone

    def __post_init__(self) -> None:
        if self.steps is not None and self.steps <= 0:
            raise ValueError(f"steps={self.steps} must be positive")
        if self.epochs <= 0 or self.batch_size <= 0 or self.lr <= 0:
            raise ValueError("epochs, batch_size and lr must be positive")


@dataclass
class TrainResult:
    """What a run did: steps, wall time, the loss curve ``[(step, mean loss since the last point)]``."""

    steps: int
    seconds: float
    examples: int
    tokens: int
    losses: list[tuple[int, float]] = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        return self.losses[-1][1] if self.losses else math.nan

    def to_json(self) -> dict:
        return {**asdict(self), "final_loss": self.final_loss}


def encode_pairs(tokenizer, pairs: Sequence[tuple[str, str]]) -> list[tuple[list[int], int]]:
    """``(token ids of prompt + completion + eos, prompt length)`` per pair."""
    prompts = tokenizer([p for p, _ in pairs])["input_ids"]
    completions = tokenizer([c for _, c in pairs], add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    return [(p + c + [eos], len(p)) for p, c in zip(prompts, completions)]


def collate(batch: Sequence[tuple[list[int], int]], pad: int):
    """Right-padded ``input_ids``, ``attention_mask`` and ``labels`` (-100 off the completions)."""
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    for k, (row, prompt_len) in enumerate(batch):
        ids[k, :len(row)] = torch.tensor(row)
        mask[k, :len(row)] = 1
        labels[k, prompt_len:len(row)] = torch.tensor(row[prompt_len:])
    return ids, mask, labels


def shared_prefix(batch: Sequence[tuple[list[int], int]]) -> int:
    """Tokens that every example of ``batch`` starts with, stopping short of each prompt's last token."""
    first = batch[0][0]
    n = min(prompt_len for _, prompt_len in batch) - 1
    for ids, _ in batch[1:]:
        k = 0
        while k < n and ids[k] == first[k]:
            k += 1
        n = k
    return max(0, n)


def batch_loss(model, batch: Sequence[tuple[list[int], int]], pad: int, device: str = "cpu", share_prefix: int = 32):
    """(mean cross-entropy over the completion tokens of ``batch``, tokens the model ran on).

    A prompt prefix shared by the whole batch (abcd's ~350-token instruction) is run once, on one
    row; its keys/values are repeated for every row (gradients flow back through the repeat) and
    each row's tail continues from it. The loss is the same as over the full rows: the prefix holds
    prompt tokens only, which carry no loss.
    """
    import torch

    prefix = shared_prefix(batch) if share_prefix else 0
    if prefix < max(1, share_prefix):
        ids, mask, labels = (t.to(device) for t in collate(batch, pad))
        return model(input_ids=ids, attention_mask=mask, labels=labels).loss, int(mask.sum())
    from transformers import DynamicCache

    from oraclebench.models.hf import kv_cache

    cache = DynamicCache(config=model.config)
    model(input_ids=torch.tensor([batch[0][0][:prefix]], device=device), **kv_cache(model, cache), use_cache=True,
          logits_to_keep=1)
    cache.batch_repeat_interleave(len(batch))
    ids, mask, labels = collate([(row[prefix:], prompt_len - prefix) for row, prompt_len in batch], pad)
    full = torch.cat([torch.ones(len(batch), prefix, dtype=mask.dtype), mask], dim=1)
    positions = torch.arange(prefix, prefix + ids.shape[1]).expand(len(batch), -1)
    out = model(input_ids=ids.to(device), attention_mask=full.to(device), position_ids=positions.to(device),
                **kv_cache(model, cache), use_cache=True, labels=labels.to(device))
    return out.loss, prefix + int(mask.sum())


def batch_order(lengths: Sequence[int], config: TrainConfig, steps: int) -> list[list[int]]:
    """``steps`` batches of example indices: epoch after epoch, each shuffled under the seed.

    With ``group_by_length``, each run of 50 batches is sorted by length before it is cut, and the
    batches are shuffled again, so a batch holds similar lengths and the order stays random.
    """
    rng = random.Random(config.seed)
    n, size = len(lengths), config.batch_size
    batches: list[list[int]] = []
    while len(batches) < steps:
        order = list(range(n))
        rng.shuffle(order)
        if config.group_by_length:
            chunk = 50 * size
            grouped = []
            for start in range(0, n, chunk):
                part = sorted(order[start:start + chunk], key=lambda i: lengths[i])
                grouped += [part[k:k + size] for k in range(0, len(part), size)]
            rng.shuffle(grouped)
            batches += grouped
        else:
            batches += [order[k:k + size] for k in range(0, n, size)]
    return batches[:steps]


def total_steps(n_examples: int, config: TrainConfig) -> int:
    return config.steps or max(1, math.ceil(n_examples * config.epochs / config.batch_size))


def lr_factor(step: int, steps: int, warm: int, decay: str = "linear", floor: float = 0.0) -> float:
    """The learning-rate multiplier at 0-based ``step`` of ``steps``: linear warm-up over the first
    ``warm`` steps, then ``decay`` ("linear" to 0, or "cosine") from 1 down to ``floor``.

    >>> [round(lr_factor(s, 10, 2), 3) for s in (0, 1, 2, 9)]
    [0.5, 1.0, 1.0, 0.125]
    >>> lr_factor(0, 100, 5, "cosine", 0.1) == 0.2 and round(lr_factor(99, 100, 5, "cosine", 0.1), 3) == 0.1
    True
    """
    if step < warm:
        return (step + 1) / warm
    if decay == "cosine":
        return floor + (1 - floor) / 2 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))
    if decay != "linear":
        raise ValueError(f"decay={decay!r}: use 'linear' or 'cosine'")
    return floor + (1 - floor) * max(0.0, (steps - step) / max(1, steps - warm))


def schedule(optimizer, steps: int, warm: int, decay: str = "linear", floor: float = 0.0):
    """A torch ``LambdaLR`` over ``optimizer`` following ``lr_factor``."""
    import torch

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, steps, warm, decay, floor))


def run_steps(params, optimizer, sched, steps: int, loss_at, max_grad_norm: float = 1.0, on_step=None) -> None:
    """The training loop every recipe uses: for step 1..``steps``, ``loss_at(step)`` gives ``(loss,
    tokens)``; gradients are zeroed, the loss back-propagated, ``params``' gradient norm clipped to
    ``max_grad_norm``, then the optimizer and the schedule step; ``on_step(step, loss value, tokens)``
    reports (losses, progress, evaluation points)."""
    import torch

    params = list(params)
    for step in range(1, steps + 1):
        loss, tokens = loss_at(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        optimizer.step()
        sched.step()
        if on_step is not None:
            on_step(step, loss.item(), tokens)
    optimizer.zero_grad(set_to_none=True)


def train_lm(model, tokenizer, pairs: Sequence[tuple[str, str]], config: TrainConfig, progress: bool = True,
             desc: str = "train") -> TrainResult:
    """Train ``model`` in place on ``(prompt, completion)`` pairs; returns the loss curve and timing.

    ``progress`` shows how training goes on stderr: a tqdm bar on a terminal; piped or in CI, where a
    bar is a wall of carriage returns, a line with step, loss, rate and time left every 30 s
    (``oraclebench.progress``).
    """
    import torch

    encoded = encode_pairs(tokenizer, pairs)
    steps = total_steps(len(encoded), config)
    batches = batch_order([len(ids) for ids, _ in encoded], config, steps)
    torch.manual_seed(config.seed)
    threads = torch.get_num_threads()
    if config.threads:
        # A tiny model trains faster on one thread than on a pool that other processes also load.
        torch.set_num_threads(config.threads)
    if getattr(model, "loss_type", "") is None:
        model.loss_type = "ForCausalLM"  # what GPT2LMHeadModel falls back to anyway, minus a warning per run
    model.to(config.device).train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    rest = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": rest, "weight_decay": 0.0}], lr=config.lr)
    sched = schedule(optimizer, steps, int(config.warmup * steps))
    result = TrainResult(steps=steps, seconds=0.0, examples=len(encoded), tokens=0)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    window: list[float] = []
    t0 = time.perf_counter()
    bar = step_meter(steps, desc, progress)

    def loss_at(step: int):
        return batch_loss(model, [encoded[i] for i in batches[step - 1]], pad, config.device, config.share_prefix)

    def on_step(step: int, loss: float, tokens: int) -> None:
        result.tokens += tokens
        window.append(loss)
        if step % config.log_every == 0 or step == steps:
            result.losses.append((step, round(sum(window) / len(window), 5)))
            window.clear()
            bar.set_postfix(loss=f"{result.losses[-1][1]:.4f}")
        bar.update(1)

    try:
        run_steps(model.parameters(), optimizer, sched, steps, loss_at, config.max_grad_norm, on_step)
    finally:
        bar.close()
        torch.set_num_threads(threads)
    result.seconds = round(time.perf_counter() - t0, 2)
    model.eval()
    return result


class _Lines:
    """``step_meter`` off a terminal: ``Progress`` lines behind tqdm's few methods that ``train_lm`` calls."""

    def __init__(self, steps: int, desc: str):
        from oraclebench.progress import Progress

        self.meter = Progress(desc, steps, "steps").start(f"{desc}: training {steps} steps ...")
        self.loss = ""

    def set_postfix(self, loss: str) -> None:
        self.loss = f"loss {loss}"

    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        self.loss = text

    def write(self, text: str) -> None:
        self.meter.write(text)

    def update(self, n: int) -> None:
        self.meter.advance(n, self.loss or None)

    def close(self) -> None:
        self.meter.finish()


def step_meter(steps: int, desc: str, progress: bool):
    """What shows training steps on stderr: a tqdm bar on a terminal, lines otherwise, nothing without ``progress``."""
    import sys

    from tqdm.auto import tqdm

    if progress and not sys.stderr.isatty():
        return _Lines(steps, desc)
    return tqdm(total=steps, desc=desc, unit="step", disable=not progress, dynamic_ncols=True)


def plot_losses(losses: Sequence[tuple[int, float]], path: Path | str, title: str) -> Path:
    """A loss-curve PNG (matplotlib's Agg canvas: no display, no global backend switch)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    steps, values = zip(*losses) if losses else ((), ())
    ax.plot(steps, values, color="#1f77b4")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (completion tokens)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path
