"""Speed of the ``hf:`` adapter against a plain batched ``model.generate`` loop and the whole pytest run.

    python scripts/bench_speed.py                       # multiplication, 2,000 fresh prompts
    python scripts/bench_speed.py --task abcd --n 300   # long traces
    python scripts/bench_speed.py --model PATH --batch 64 --threads 2 --repeat 2

Scores the same model on the same N distinct prompts three ways, each in a fresh Python process
(imports, model loading, generation and scoring: a whole run), and prints instances per second:

1. the ``hf:`` adapter through ``oraclebench.runner.evaluate`` (what the plugin calls);
2. a plain loop a researcher would write: prompts in order, batches of ``--batch``, left padding,
   greedy ``model.generate`` up to the batch's largest budget, each row cut to its own budget and
   at the stop string, scored;
3. ``pytest benchmark --model hf:PATH --task T --fresh N --no-cache`` into a fresh results folder.

For 1 and 2 it also prints generation alone, and it checks that 1 and 2 gave the same answers. The
ratios: adapter over plain loop (generation, whole run), and the plugin's own overhead: the share
of the pytest run not spent in a bare adapter run (collection, one test item per instance, records),
and how much of that pytest itself costs for as many empty items with as many failures (its floor:
one to three milliseconds an item here), leaving the plugin's own share.

The model: ``--model`` (a folder or a reference name), else the trained reference checkpoint for the
task if there is one (``gpt2-mult``, ``gpt2-abcd``: answers that stop where a model stops), else a
0.8M-parameter GPT-2 built from config with random weights (every answer runs to its budget).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REFERENCE = {"multiplication": "gpt2-mult", "abcd": "gpt2-abcd", "causal": "gpt2-causal"}


# ------------------------------------------------------------------------------------- workers


def instances(task_name: str, n: int, seed: int):
    from oraclebench.tasks import get_task

    return get_task(task_name).fresh(n, seed)  # exactly what `pytest benchmark --fresh N --seed S` scores


def worker_adapter(args) -> dict:
    from oraclebench.models.hf import HFModel
    from oraclebench.runner import RunStats, evaluate

    from oraclebench.tasks import get_task
    from oraclebench.tasks.reading import cut_at_stop

    model = HFModel(args.path, {"batch_size": args.batch})
    stats = RunStats()
    insts = instances(args.task, args.n, args.seed)
    records = evaluate(model, insts, "bench", stats=stats)
    task = get_task(args.task)
    # Records keep the raw continuation; the answers compared are the scored ones, cut at the stop strings.
    return {"generate_s": stats.seconds, "correct": sum(r.correct for r in records),
            "texts": [cut_at_stop(r.completion, task.request(i).stop) for r, i in zip(records, insts)]}


def worker_plain(args) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from oraclebench.tasks import get_task
    from oraclebench.tasks.reading import cut_at_stop

    task = get_task(args.task)
    insts = instances(args.task, args.n, args.seed)
    requests = [task.request(i) for i in insts]
    tok = AutoTokenizer.from_pretrained(args.path)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(args.path).eval()
    texts: list[str] = []
    t0 = time.perf_counter()
    for start in range(0, len(requests), args.batch):
        chunk = requests[start:start + args.batch]
        enc = tok([r.prompt for r in chunk], return_tensors="pt", padding=True)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max(r.max_tokens for r in chunk), do_sample=False,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        for r, row in zip(chunk, out[:, enc["input_ids"].shape[1]:]):
            row = row[:r.max_tokens]
            if (row == tok.eos_token_id).any():  # what came after this row's EOS is padding
                row = row[:int((row == tok.eos_token_id).nonzero()[0])]
            texts.append(cut_at_stop(tok.decode(row, skip_special_tokens=True), r.stop))
    seconds = time.perf_counter() - t0
    from oraclebench.tasks.base import Response

    correct = sum(task.assess(task.decode(i.problem), r, Response(text=t)).correct
                  for i, r, t in zip(insts, requests, texts))
    return {"generate_s": seconds, "correct": correct, "texts": texts}


# ------------------------------------------------------------------------------------- driver


def model_path(args, tmp: Path) -> tuple[Path, str]:
    """The checkpoint to time, and how it was chosen."""
    from oraclebench.training.recipes import RECIPES, checkpoint_path

    if args.model:
        path = checkpoint_path(args.model) if args.model in RECIPES else Path(args.model.removeprefix("hf:"))
        return path, f"--model {args.model}"
    ref = REFERENCE.get(args.task)
    if ref and (checkpoint_path(ref) / "manifest.json").is_file():
        return checkpoint_path(ref), f"the trained {ref} checkpoint"
    from oraclebench.models.charlm import build_tokenizer, save, tiny_gpt2
    from oraclebench.tasks import get_task

    task = get_task(args.task)
    texts = [task.render(p).prompt + task.render_answer(p, task.solve(p))
             for p in (task.decode(i.problem) for i in instances(args.task, args.n, args.seed))]
    tok = build_tokenizer(texts)
    return save(tiny_gpt2(tok, n_positions=4096), tok, tmp / "random"), "a random-weight 0.8M GPT-2 (no checkpoint)"


def timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    return time.perf_counter() - t0, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="multiplication", choices=("multiplication", "abcd", "causal"))
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--model", default=None, help="a checkpoint folder or a reference name (default: see above)")
    parser.add_argument("--batch", type=int, default=64, help="rows per batch, the same for every way")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads in every process (OMP_NUM_THREADS)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each way; the fastest counts")
    parser.add_argument("--worker", choices=("adapter", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = (worker_adapter if args.worker == "adapter" else worker_plain)(args)
        Path(args.out).write_text(json.dumps(result), encoding="utf-8")
        return 0

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    # Bytecode caching as a user has it: with PYTHONDONTWRITEBYTECODE (set on some sandboxes)
    # pytest re-compiles every module it assertion-rewrites on every run, about a second here.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path, how = model_path(args, tmp)
        from oraclebench.tasks import get_task

        insts = instances(args.task, args.n, args.seed)
        n = len(insts)  # fewer than --n where the task has fewer problems (causal: 32)
        prompts = {get_task(args.task).request(i).prompt for i in insts}
        print(f"{args.task}: {n} fresh instances ({len(prompts)} distinct prompts), model {path} ({how}), "
              f"batch {args.batch}, threads {args.threads or 'default'}")
        best: dict[str, tuple[float, dict]] = {}
        for rep in range(args.repeat):
            for way in ("adapter", "plain", "pytest"):
                out = tmp / f"{way}.json"
                if way == "pytest":
                    cmd = [sys.executable, "-m", "pytest", "benchmark", "-q", "-p", "no:cacheprovider", "--model",
                           f"hf:{path}", "--task", args.task, "--fresh", str(args.n), "--seed", str(args.seed),
                           "--no-cache", "--model-opt", f"batch_size={args.batch}", "--results", str(tmp / f"r{rep}")]
                else:
                    cmd = [sys.executable, __file__, "--worker", way, "--path", str(path), "--task", args.task,
                           "--n", str(args.n), "--seed", str(args.seed), "--batch", str(args.batch), "--out", str(out)]
                seconds, run = timed(cmd, env)
                if run.returncode not in (0, 1):
                    print(f"{way} failed ({run.returncode}):\n{run.stdout[-1500:]}\n{run.stderr[-1500:]}")
                    return 1
                if way == "pytest":
                    summary = json.loads(next((tmp / f"r{rep}" / "runs").glob("*/summary.json")).read_text())
                    result = {"correct": summary["tasks"][args.task]["all"]["correct"],
                              "generate_s": summary["timing"][args.task]["seconds"]}
                else:
                    result = json.loads(out.read_text())
                print(f"  run {rep + 1}: {way:8s} {seconds:7.2f} s whole run", flush=True)
                if way not in best or seconds < best[way][0]:
                    best[way] = (seconds, result)
        failures = n - best["pytest"][1]["correct"]
        floor = min(pytest_floor(tmp / f"floor{rep}", n, failures, env) for rep in range(args.repeat))
    report(n, best, floor, failures)
    return 0


def pytest_floor(tmp: Path, n: int, failures: int, env: dict) -> float:
    """Seconds pytest itself takes for ``n`` empty parametrized items, ``failures`` of them failing
    with a six-line message as a wrong answer does, minus a bare interpreter start: the part of the
    pytest run that any one-item-per-instance design pays, whatever its plugin does.

    The items run under the same settings as the benchmark (``-ra``, importlib mode) and with the
    plugin loaded, so a failure takes the same cheap report path as a wrong answer; the test asks
    for a fixture of the plugin's name that has no model behind it.
    """
    test = tmp / "test_floor.py"
    tmp.mkdir()
    test.write_text(FLOOR_TEST % (n, failures))
    seconds, run = timed([sys.executable, "-m", "pytest", "-q", "-ra", "--import-mode=importlib", "-p",
                          "oraclebench.plugin", "-p", "no:cacheprovider", str(test)], env)
    if run.returncode not in (0, 1):
        raise RuntimeError(f"the floor run failed ({run.returncode}):\n{run.stdout[-1500:]}")
    bare, _ = timed([sys.executable, "-c", "pass"], env)
    return seconds - bare


FLOOR_TEST = """import pytest


@pytest.fixture
def oraclebench_record():
    return None


@pytest.mark.parametrize("i", range(%d))
def test_item(i, oraclebench_record):
    if i < %d:
        pytest.fail("wrong answer\\n  prompt:\\n  expected:\\n  answer:\\n  parsed:\\n  reason:", pytrace=False)
"""


def report(n: int, best: dict[str, tuple[float, dict]], floor: float, failures: int) -> None:
    (ta, ra), (tp, rp), (tt, rt) = best["adapter"], best["plain"], best["pytest"]
    print(f"\n{'way':34s} {'whole run':>22s} {'generation alone':>24s}")
    for name, whole, gen in (("hf: adapter (runner.evaluate)", ta, ra["generate_s"]),
                             ("plain batched model.generate", tp, rp["generate_s"]),
                             ("pytest benchmark --model hf:", tt, rt["generate_s"])):
        gen_text = f"{gen:7.2f} s {n / gen:8.0f}/s" if gen else ""
        print(f"{name:34s} {whole:7.2f} s {n / whole:8.0f}/s   {gen_text:>24s}")
    same = sum(a == b for a, b in zip(ra["texts"], rp["texts"]))
    print(f"\nsame answers, adapter vs plain loop: {same}/{n}; correct: adapter {ra['correct']}, "
          f"plain {rp['correct']}, pytest {rt['correct']}")
    print(f"adapter / plain loop, generation alone: {rp['generate_s'] / ra['generate_s']:5.2f}x faster")
    print(f"adapter / plain loop, whole run:        {tp / ta:5.2f}x faster")
    print(f"pytest whole run / plain loop whole run: {tp / tt:5.2f}x faster")
    print(f"plugin overhead (pytest run beyond a bare adapter run): {tt - ta:6.2f} s = {100 * (tt - ta) / tt:4.1f}% "
          "of the pytest run")
    # Outside generation, so that generation's run-to-run noise is not counted as overhead.
    beyond = (tt - rt["generate_s"]) - (ta - ra["generate_s"])
    own = beyond - floor
    print(f"  outside generation: {beyond:6.2f} s, of which pytest itself ({n} empty items, {failures} failing) "
          f"{floor:6.2f} s and the plugin's own {own:6.2f} s = {100 * own / tt:4.1f}% of the pytest run")


if __name__ == "__main__":
    sys.exit(main())
