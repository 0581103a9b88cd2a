"""How much the served adapter's concurrency buys: the same prompts sequentially, then concurrently.

    python scripts/bench_served.py                                  # a tiny local model on transformers serve
    python scripts/bench_served.py --checkpoint PATH --serve-arg=--continuous-batching
    python scripts/bench_served.py --url http://127.0.0.1:8000/v1 --model NAME   # a server already running

Both passes score the same multiplication prompts through ``vllm:MODEL@URL`` (no cache), first with
``concurrency=1`` (one request at a time) and then with ``--concurrency`` (default 16), after a
warm-up request; it prints both rates and their ratio, and checks that both gave the same answers.
Without ``--checkpoint`` or ``--url`` an untrained tiny GPT-2 is built (speed does not depend on
training). The gain depends on the server: vLLM batches concurrent requests; ``transformers serve``
without ``--continuous-batching`` generates one at a time, so there it only hides HTTP round trips.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def tiny_checkpoint(out: Path) -> Path:
    """An untrained tiny GPT-2 whose tokenizer covers the multiplication prompts."""
    from oraclebench.models.charlm import build_tokenizer, save, tiny_gpt2

    texts = ["Q: What is 0123456789 × 0123456789? Show your work. A:\n= (carries ,)\n", "abcdef"]
    tok = build_tokenizer(texts)
    return save(tiny_gpt2(tok, n_embd=64, n_layer=2, n_head=4, n_positions=128), tok, out)


def instances(n: int, seed: int):
    from oraclebench.tasks import get_task

    task = get_task("multiplication")
    return task.fresh(n, seed, task.config(a_digits=(1, 3), b_digits=(1, 3)))


def timed_pass(spec: str, concurrency: int, insts) -> tuple[float, list[str], int]:
    """(seconds, completions, errors) for one pass over ``insts``."""
    from oraclebench.models import load_model
    from oraclebench.runner import evaluate

    model = load_model(spec, {"concurrency": str(concurrency)})
    t0 = time.perf_counter()
    records = evaluate(model, insts, f"bench-c{concurrency}")
    return time.perf_counter() - t0, [r.completion for r in records], sum(r.error is not None for r in records)


def measure(spec: str, args: argparse.Namespace) -> int:
    insts = instances(args.n, args.seed)
    timed_pass(spec, 1, insts[:2])  # warm-up: connections, first-call allocations in the server
    seq_s, seq_out, seq_err = timed_pass(spec, 1, insts)
    con_s, con_out, con_err = timed_pass(spec, args.concurrency, insts)
    print(f"server: {spec}")
    print(f"prompts: {len(insts)} multiplication (1-3 digits), greedy, no cache")
    print(f"sequential (concurrency=1):  {seq_s:7.2f} s  {len(insts) / seq_s:7.2f} requests/s  errors {seq_err}")
    print(f"concurrent (concurrency={args.concurrency}): {con_s:7.2f} s  {len(insts) / con_s:7.2f} requests/s  "
          f"errors {con_err}")
    print(f"speed-up: {seq_s / con_s:.2f}x")
    same = seq_out == con_out
    print(f"same answers in both passes: {same}")
    return 0 if same and not (seq_err or con_err) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="base URL of a running OpenAI-compatible server (with --model)")
    parser.add_argument("--model", default="", help="served model name (default: the one the server lists)")
    parser.add_argument("--checkpoint", type=Path, help="serve this checkpoint with transformers serve")
    parser.add_argument("--serve-arg", action="append", default=[], help="extra transformers serve argument")
    parser.add_argument("--n", type=int, default=64, help="prompts per pass (default 64)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the local server (default 1)")
    args = parser.parse_args()
    if args.url:
        prefix = f"{args.model}@" if args.model else ""
        return measure(f"vllm:{prefix}{args.url}", args)

    from oraclebench.testing.serve import transformers_serve

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or tiny_checkpoint(Path(tmp) / "tiny")
        with transformers_serve(checkpoint, args=args.serve_arg, threads=args.threads) as url:
            return measure(f"vllm:{checkpoint}@{url}/v1", args)


if __name__ == "__main__":
    sys.exit(main())
