"""Speed of the `hf:` adapter against a plain batched `model.generate` loop and the whole pytest run.

    python scripts/bench_speed.py [--task multiplication|abcd] [--n 2000] [--model DIR] [--batch 64]

Scores the same model on the same N distinct prompts three ways in one run and prints instances per
second for each and the ratios: (1) the `hf:` adapter, (2) a hand-written batched `model.generate`
loop (left padding, greedy, stop strings cut afterwards), (3) `pytest benchmark --model hf:DIR
--fresh N` end to end (model loading, scoring and results included, no cache). Without `--model`
it builds a 0.8M-parameter GPT-2 from config (random weights: the speed of decoding does not depend
on what the weights say, and every path decodes the same tokens).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_model(task, problems, out: Path) -> Path:
    from models.charlm import build_tokenizer, save, tiny_gpt2

    texts = [task.render(p).prompt + task.render_answer(p, task.solve(p)) for p in problems]
    tokenizer = build_tokenizer(texts)
    return save(tiny_gpt2(tokenizer, n_embd=128, n_layer=4, n_head=4, n_positions=2048), tokenizer, out)


def plain_generate(path: Path, requests, batch: int) -> tuple[list[str], float]:
    """The baseline a researcher would write: batches in order, `model.generate`, cut at the stop."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    texts: list[str] = []
    t0 = time.perf_counter()
    for start in range(0, len(requests), batch):
        chunk = requests[start:start + batch]
        enc = tok([r.prompt for r in chunk], return_tensors="pt", padding=True)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max(r.max_tokens for r in chunk), do_sample=False,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        for r, row in zip(chunk, out[:, enc["input_ids"].shape[1]:]):
            text = tok.decode(row[:r.max_tokens], skip_special_tokens=True)  # the batch ran to its longest budget
            for s in r.stop:
                text = text.split(s)[0]
            texts.append(text)
    return texts, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="multiplication")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--model", default=None, help="a local checkpoint (default: a 0.8M GPT-2 built here)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from models.hf import HFModel
    from tasks import get_task

    task = get_task(args.task)
    instances = task.fresh(args.n, args.seed)  # exactly what `pytest benchmark --fresh N --seed S` scores
    requests = [task.request(i) for i in instances]
    print(f"{len(requests)} {args.task} prompts, {len({r.prompt for r in requests})} distinct")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.model) if args.model else build_model(task, [task.decode(i.problem) for i in instances],
                                                               Path(tmp) / "model")
        adapter = HFModel(str(path), {"batch_size": args.batch})
        t0 = time.perf_counter()
        ours = [r.text for r in adapter.generate(requests)]
        t_adapter = time.perf_counter() - t0
        plain, t_plain = plain_generate(path, requests, args.batch)
        same = sum(a == b for a, b in zip(ours, plain))

        cmd = [sys.executable, "-m", "pytest", "benchmark", "-q", "-p", "no:cacheprovider", "--model", f"hf:{path}",
               "--task", args.task, "--fresh", str(args.n), "--seed", str(args.seed), "--no-cache",
               "--model-opt", f"batch_size={args.batch}", "--results", str(Path(tmp) / "results")]
        t0 = time.perf_counter()
        run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        t_pytest = time.perf_counter() - t0
        if run.returncode not in (0, 1):
            print(run.stdout[-2000:], run.stderr[-2000:])
            return 1

    n = len(requests)
    rows = [("hf: adapter (generation)", t_adapter), ("plain model.generate loop", t_plain),
            ("pytest benchmark (whole run)", t_pytest)]
    for name, seconds in rows:
        print(f"{name:32s} {seconds:8.2f} s  {n / seconds:9.1f} instances/s")
    print(f"identical answers adapter vs plain loop: {same}/{n}")
    print(f"ratio adapter / plain loop:              {t_plain / t_adapter:6.2f}x")
    print(f"ratio pytest whole run / plain loop:     {t_plain / t_pytest:6.2f}x")
    print(f"pytest overhead beyond the adapter:      {100 * (t_pytest - t_adapter) / t_pytest:5.1f}% of the run "
          f"(model load, collection, scoring, results)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
