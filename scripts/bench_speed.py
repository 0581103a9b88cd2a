"""Speed of the ``hf:`` adapter against a plain batched ``model.generate`` loop, lm-evaluation-harness's CLI
and the whole pytest run.

    python scripts/bench_speed.py                       # multiplication, 2,000 fresh prompts, 3 repeats
    python scripts/bench_speed.py --task abcd --n 300   # long traces
    python scripts/bench_speed.py --model PATH --batch 64 --threads 2 --repeat 5
    python scripts/bench_speed.py --task abcd --n 400 --xdist 2   # pytest -n 0 against -n 2 only
    python scripts/bench_speed.py --device cuda --dtype bfloat16  # every way on the GPU, in bfloat16

Scores the same model on the same N distinct prompts (``--fresh N --seed S``'s, less any the checkpoint
trained on) several ways, each in a fresh Python process (imports, model loading, generation and
scoring: a whole run), ``--repeat`` times interleaved (adapter, plain, pytest, lm-eval, adapter, ...):

1. the ``hf:`` adapter through ``oraclebench.runner.evaluate`` (what the plugin calls);
2. a plain loop a researcher would write: prompts in order, batches of ``--batch``, left padding,
   greedy ``model.generate`` up to the batch's largest budget, each row cut to its own budget and
   at the stop string, scored;
3. ``pytest benchmark --model hf:PATH --task T --fresh N --no-cache`` into a fresh results folder;
4. when lm-evaluation-harness is installed (it is no dependency of oraclebench; ``pip install
   lm-eval``), its CLI: ``lm_eval run --model hf --batch_size B`` over task YAMLs written here with the
   same prompts (local JSONL files), stop strings and token budgets (one task per distinct pair),
   ``HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1``: nothing is downloaded.

With ``--xdist N`` it runs only the pytest run, without and with ``-n N`` (pytest-xdist: each worker answers
its share of the task), interleaved, and prints both whole runs and their ratio.

It prints each way's whole run (min and median), generation alone for 1 and 2, whether the answers
are the same as the adapter's, the ratios per repeat (min and median: the runs of one repeat ran
close in time on a machine whose speed drifts), the pytest run's time outside generation (and how
much of it pytest itself costs for as many empty items with as many failures), and the adapter's
efficiency against the machine's matmul limit on ``--device`` (in ``--dtype`` on a GPU, float32 on the
CPU; the best of twenty ``torch.mm``, 1024^3 on the CPU and 8192^3 on a GPU, measured in each adapter
run's own process right after its run, on the same threads): per phase from ``HFModel.work``,
decoding (the step loop after prefill, its Python bookkeeping included: the generated tokens fed
back) and prefill (the prompt tokens), each token's arithmetic counted as
2N + 2 x layers x width x its context (Kaplan et al. 2020, Table 1), and generation as a whole
(generated tokens x 2N over all of it, prefill included: what the first version printed).

Every way runs on ``--device`` (default ``cpu``, also on a machine with a GPU) in ``--dtype`` (default
float32): the adapter and the pytest run with ``--model-opt device=... dtype=...``, the plain loop with
the model and its inputs moved there, lm-eval with ``--device`` and ``dtype=``. A tiny model leaves a
GPU nearly idle, so its percentages there are small; what a GPU run shows is the ratios, and whether
the answers agree.

The model: ``--model`` (a folder or a trained reference name), else the trained reference checkpoint
for the task if there is one (``gpt2-mult``, ``gpt2-abcd``: answers that stop where a model stops), else a
0.8M-parameter GPT-2 built from config with random weights (every answer runs to its budget, and its
answers mean nothing for correctness: ``oraclebench train gpt2-mult`` first for the README's numbers).
The header says which, and how many of ``--n``'s draws were left after dropping those the checkpoint
trained on (a warning when far fewer than asked: a comparison over a handful of prompts means little).
"""

from __future__ import annotations

import argparse
import dataclasses
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


def instances(task_name: str, n: int, seed: int, path: Path | str | None = None):
    """Exactly what ``pytest benchmark --model hf:PATH --fresh N --seed S`` scores: fresh draws, less
    those the checkpoint's manifest says it trained on (the plugin's ``training_identities``)."""
    return draws(task_name, n, seed, path)[0]


def draws(task_name: str, n: int, seed: int, path: Path | str | None = None):
    """(``instances``' list, how many distinct draws were dropped as the checkpoint's training data)."""
    from oraclebench.models import declared_training
    from oraclebench.tasks import get_task

    task = get_task(task_name)
    data = (declared_training(f"hf:{path}", {}) or {}).get(task_name) if path else None
    exclude = task.training_identities(data) if data else frozenset()
    return task.fresh_draws(n, seed, exclude=exclude)


def first_cut(text: str | None, stop) -> str | None:
    """``text`` up to its first stop string, wherever it is (lm-eval's ``until``)."""
    if text is None:
        return None
    at = min((i for s in stop if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:at]


SHOWN = 5  # differing answers printed per way (the first ones)
FEW = 0.5  # below this share of --n the header warns: the comparison runs over far fewer prompts than asked


def count_line(task: str, asked: int, got: int, dropped: int) -> str:
    """How many of ``--n``'s prompts are timed and why any are missing: dropped as training data, or
    the task has no more distinct problems (causal: 32 inputs)."""
    why = [f"{dropped} dropped: in the checkpoint's training data"] if dropped else []
    if got + dropped < asked:
        why.append(f"the task has only {got + dropped} distinct problems")
    line = f"{task}: {got} of --n {asked} fresh instances timed" + (f" ({'; '.join(why)})" if why else "")
    if got < FEW * asked:
        line += (f"\nWARNING: only {got} prompts of the {asked} asked for: a speed comparison over so few means "
                 f"little (fixed costs dominate); use a task with more unseen problems or a larger --n")
    return line


def worker_adapter(args) -> dict:
    from oraclebench.gcfreeze import freeze_long_lived
    from oraclebench.models.hf import HFModel
    from oraclebench.runner import RunStats, evaluate

    from oraclebench.tasks import get_task
    from oraclebench.tasks.reading import cut_at_stop

    placement = {"device": args.device, "dtype": args.dtype}
    model = HFModel(args.path, placement | ({"batch_size": args.adapter_batch} if args.adapter_batch else {}))
    # As the plugin does once the model is loaded: this run and the pytest run then differ by pytest and
    # the plugin alone (without it this process pays ~0.6 s more at exit, scanning torch's objects).
    freeze_long_lived()
    stats = RunStats()
    insts = instances(args.task, args.n, args.seed, args.path)
    records = evaluate(model, insts, "bench", stats=stats)
    task = get_task(args.task)
    # Records keep the raw continuation; the answers compared are the scored ones, cut at the stop strings.
    tokens = model.work.generated_tokens  # the end-of-text token that ended a row included
    config = model.model.config  # transformers' config, or a native GPT-2's gpt2.Config (GPT-2's names only)
    layers = getattr(config, "num_hidden_layers", None) or config.n_layer
    width = getattr(config, "hidden_size", None) or config.n_embd
    return {"generate_s": stats.seconds, "correct": sum(r.correct for r in records),
            "texts": [cut_at_stop(r.completion, task.request(i).stop) for r, i in zip(records, insts)],
            "tokens": tokens, "flops_per_token": flops_per_token(model.model), "work": dataclasses.asdict(model.work),
            "attention_flops": 2 * layers * width,
            # Measured in this process right after the run: the same threads, and the machine's load of the moment.
            "limit": matmul_limit(args.threads, args.device, args.dtype)}


def phase_flops(r: dict, phase: str) -> float:
    """Arithmetic of one generation phase: per token 2N (``flops_per_token``) plus the attention over
    its context, 2 x layers x width x context (Kaplan et al. 2020, "Scaling Laws for Neural Language
    Models", Table 1: forward pass per token ~ 2N + 2 n_layer n_ctx d_attn)."""
    w = r["work"]
    return w[f"{phase}_tokens"] * r["flops_per_token"] + w[f"{phase}_context"] * r["attention_flops"]


def flops_per_token(model) -> int:
    """Multiply-adds x 2 of one decoded token through the model's weight matrices: 2 x the parameters
    that a token's forward multiplies by (all but the position-embedding table; a tied input embedding
    counts once, as the output head). Attention over the cache is left out: a lower bound."""
    skip = {id(p) for name, p in model.named_parameters() if name.endswith("wpe.weight")}
    return 2 * sum(p.numel() for p in model.parameters() if id(p) not in skip)


def worker_plain(args) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from oraclebench.tasks import get_task
    from oraclebench.tasks.reading import cut_at_stop

    task = get_task(args.task)
    insts = instances(args.task, args.n, args.seed, args.path)
    requests = [task.request(i) for i in insts]
    tok = AutoTokenizer.from_pretrained(args.path)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(args.path, dtype=getattr(torch, args.dtype)).to(args.device).eval()
    texts: list[str] = []
    synchronize(args.device)
    t0 = time.perf_counter()
    for start in range(0, len(requests), args.batch):
        chunk = requests[start:start + args.batch]
        enc = tok([r.prompt for r in chunk], return_tensors="pt", padding=True).to(args.device)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max(r.max_tokens for r in chunk), do_sample=False,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        for r, row in zip(chunk, out[:, enc["input_ids"].shape[1]:].cpu()):
            row = row[:r.max_tokens]
            if (row == tok.eos_token_id).any():  # what came after this row's EOS is padding
                row = row[:int((row == tok.eos_token_id).nonzero()[0])]
            texts.append(cut_at_stop(tok.decode(row, skip_special_tokens=True), r.stop))
    synchronize(args.device)
    seconds = time.perf_counter() - t0
    from oraclebench.tasks.base import Response

    correct = sum(task.assess(task.decode(i.problem), r, Response(text=t)).correct
                  for i, r, t in zip(insts, requests, texts))
    return {"generate_s": seconds, "correct": correct, "texts": texts}


# ------------------------------------------------------------------------------------- driver


class BadInput(Exception):
    """Input the script cannot use: its message names the problem and the fix, printed as one line (exit 2)."""


class WayFailed(Exception):
    """One way's run failed: its message is the run's own last line (exit 1)."""


def given_model(model: str) -> Path:
    """The checkpoint folder ``--model`` names, checked before anything runs. Raises ``BadInput`` for a
    reference name not trained yet, or a folder that is missing or holds no model."""
    from oraclebench.training.recipes import RECIPES, checkpoint_path

    if model in RECIPES:
        path = checkpoint_path(model)
        if not (path / "manifest.json").is_file():  # written last by training, as the default choice reads it
            raise BadInput(f"--model {model}: not trained yet (no checkpoint at {path}); "
                           f"train it first: oraclebench train {model}")
        return path
    path = Path(model.removeprefix("hf:"))
    if not path.is_dir():
        raise BadInput(f"--model {model}: no such model directory; give a checkpoint folder or a reference name "
                       f"({', '.join(sorted(RECIPES))})")
    if not (path / "config.json").is_file():
        raise BadInput(f"--model {model}: no config.json in it, not a model directory; give a folder written "
                       f"by save_pretrained")
    return path


def model_path(args, tmp: Path) -> tuple[Path, str]:
    """The checkpoint to time, and how it was chosen (for the header). Raises ``BadInput`` as
    ``given_model`` says."""
    from oraclebench.training.recipes import checkpoint_path

    ref = REFERENCE.get(args.task)
    if args.model:
        other = next((t for t, r in REFERENCE.items() if r == args.model and t != args.task), None)
        note = f"; note: {args.model} is trained for {other}, not {args.task}" if other else ""
        return given_model(args.model), f"--model {args.model}{note}"
    if ref and (checkpoint_path(ref) / "manifest.json").is_file():
        return checkpoint_path(ref), f"the trained {ref} checkpoint"
    from oraclebench.models.charlm import build_tokenizer, save, tiny_gpt2
    from oraclebench.tasks import get_task

    task = get_task(args.task)
    texts = [task.render(p).prompt + task.render_answer(p, task.solve(p))
             for p in (task.decode(i.problem) for i in instances(args.task, args.n, args.seed))]
    tok = build_tokenizer(texts)
    return save(tiny_gpt2(tok, n_positions=4096), tok, tmp / "random"), random_note(ref)


def random_note(ref: str) -> str:
    """The header's words for the random-weight model: what its answers are worth, and how to get the real one."""
    return (f"a random-weight 0.8M GPT-2: no trained {ref} checkpoint, so its answers are meaningless for "
            f"correctness and run to their budgets; for the README's numbers train it first: oraclebench train {ref}")


def last_line(run: subprocess.CompletedProcess) -> str:
    """A failed run's own one-line error: the last non-blank line of its stderr (a traceback's exception,
    pytest's ERROR line), else of its stdout."""
    for text in (run.stderr, run.stdout):
        lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
        if lines:
            return lines[-1]
    return "no output"


def timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    return time.perf_counter() - t0, run


WAYS = ("adapter", "plain", "pytest", "lm-eval")


def main() -> int:
    from oraclebench.plugin import positive_int  # the plugin's own option type: the same words for the same mistake

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="multiplication", choices=("multiplication", "abcd", "causal"))
    parser.add_argument("--n", type=positive_int, default=2000)
    parser.add_argument("--model", default=None, help="a checkpoint folder or a reference name (default: see the description above)")
    parser.add_argument("--batch", type=positive_int, default=64, help="rows per batch of the plain loop and lm-eval")
    parser.add_argument("--adapter-batch", type=positive_int, default=None,
                        help="batch_size of the adapter and the pytest run (default: theirs, chosen from memory)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="torch device of every way: cpu (default), cuda, cuda:1")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"),
                        help="the model's arithmetic in every way, and the matmul limit's (default float32)")
    parser.add_argument("--threads", type=positive_int, default=None, help="torch threads in every process (OMP_NUM_THREADS)")
    parser.add_argument("--repeat", type=positive_int, default=3, help="interleaved runs of every way (min and median shown)")
    parser.add_argument("--xdist", type=positive_int, default=None, metavar="N",
                        help="compare only the pytest run without and with -n N (pytest-xdist workers)")
    parser.add_argument("--no-lm-eval", action="store_true", help="leave lm-evaluation-harness out even if installed")
    parser.add_argument("--worker", choices=("adapter", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        try:
            result = (worker_adapter if args.worker == "adapter" else worker_plain)(args)
        except Exception as exc:  # noqa: BLE001 - any failure reaches the driver as this run's one line
            from oraclebench.models import ModelError

            what = "" if isinstance(exc, ModelError) else f"{type(exc).__name__}: "  # its message names itself
            print(what + " ".join(str(exc).split()), file=sys.stderr)
            return 1
        Path(args.out).write_text(json.dumps(result), encoding="utf-8")
        return 0

    # Nothing is fetched from a hub: the model is a local folder, lm-eval's data a local JSONL file.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    # Bytecode caching as a user has it: with PYTHONDONTWRITEBYTECODE (set on some sandboxes)
    # pytest re-compiles every module it assertion-rewrites on every run, about a second here.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    try:
        return drive(args, env)
    except (BadInput, WayFailed) as exc:
        print(f"bench_speed.py: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, BadInput) else 1


def drive(args, env: dict) -> int:
    """Every way, ``--repeat`` times interleaved, then the report. Raises ``BadInput``, ``WayFailed``."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env["HF_HOME"] = str(tmp / "hf")  # lm-eval's datasets cache: in the scratch folder, not the user's
        check_device(args.device)
        path, how = model_path(args, tmp)  # a model that is not there is the one line, before anything else
        # --xdist runs only pytest: no word about lm-eval, which it never runs.
        ways = ["pytest", "pytest-xdist"] if args.xdist else [w for w in WAYS if w != "lm-eval" or lm_eval_available(args)]
        from oraclebench.tasks import get_task

        insts, dropped = draws(args.task, args.n, args.seed, path)
        n = len(insts)  # fewer than --n where the task has fewer problems (causal: 32) or the model trained on them
        if not n:
            raise BadInput(f"--task {args.task} --n {args.n}: nothing to time, all {dropped} draws are in the "
                           f"checkpoint's training data; use another --model or --seed")
        requests = [get_task(args.task).request(i) for i in insts]
        print(f"{count_line(args.task, args.n, n, dropped)}\n"
              f"prompts: {len({r.prompt for r in requests})} distinct; model {path} ({how})\n"
              f"batch {args.batch} (adapter: {args.adapter_batch or 'its own choice'}), threads {args.threads or 'default'}, "
              f"{args.device}, {args.dtype}, {args.repeat} interleaved repeats")
        lm_tasks = write_lm_eval_tasks(tmp / "lm_eval_tasks", requests) if "lm-eval" in ways else []
        runs: dict[str, list[tuple[float, dict]]] = {w: [] for w in ways}
        for rep in range(args.repeat):
            for way in ways:
                seconds, result = run_way(way, args, path, tmp, rep, env, lm_tasks)
                print(f"  run {rep + 1}: {way:8s} {seconds:7.2f} s whole run", flush=True)
                runs[way].append((seconds, result))
        if args.xdist:
            report_xdist(args.xdist, n, runs)
            return 0
        failures = n - runs["pytest"][0][1]["correct"]
        floors = [pytest_floor(tmp / f"floor{rep}", n, failures, env) for rep in range(args.repeat)]
    report(n, runs, floors, failures, matmul_limit(args.threads, args.device, args.dtype),
           f"{limit_dtype(args.device, args.dtype)} matmul limit on {args.device}", [r.stop for r in requests])
    return 0


def run_way(way: str, args, path: Path, tmp: Path, rep: int, env: dict, lm_tasks: list[str]):
    """(seconds of the whole run in a fresh process, what it answered). Raises ``WayFailed`` with the run's
    own last line if it failed: a worker must exit 0; pytest may exit 1 (wrong answers fail their items)."""
    out = tmp / f"{way}.json"
    if way.startswith("pytest"):
        cmd = [sys.executable, "-m", "pytest", "benchmark", "-q", "-p", "no:cacheprovider", "--model",
               f"hf:{path}", "--task", args.task, "--fresh", str(args.n), "--seed", str(args.seed),
               "--no-cache", "--results", str(tmp / f"r{rep}")]
        cmd += ["--model-opt", f"device={args.device}", "--model-opt", f"dtype={args.dtype}"]
        cmd += ["--model-opt", f"batch_size={args.adapter_batch}"] if args.adapter_batch else []
        cmd += ["-n", str(args.xdist if way == "pytest-xdist" else 0)] if args.xdist else []
        cmd[cmd.index("--results") + 1] += f"-{way}"
    elif way == "lm-eval":
        cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf", "--model_args",
               f"pretrained={path},dtype={args.dtype}", "--device", args.device, "--batch_size", str(args.batch),
               "--tasks", ",".join(lm_tasks), "--include_path", str(tmp / "lm_eval_tasks"), "--log_samples",
               "--output_path", str(tmp / f"lm{rep}")]
    else:
        cmd = [sys.executable, __file__, "--worker", way, "--path", str(path), "--task", args.task,
               "--n", str(args.n), "--seed", str(args.seed), "--batch", str(args.batch), "--out", str(out)]
        cmd += ["--device", args.device, "--dtype", args.dtype]
        cmd += ["--adapter-batch", str(args.adapter_batch)] if args.adapter_batch else []
    seconds, run = timed(cmd, env)
    if run.returncode != 0 and not (way.startswith("pytest") and run.returncode == 1):
        raise WayFailed(f"the {way} run failed (exit {run.returncode}): {last_line(run)}")
    if way.startswith("pytest"):
        found = sorted((tmp / f"r{rep}-{way}" / "runs").glob("*/summary.json"))
        if not found:
            raise WayFailed(f"the {way} run wrote no summary.json (exit {run.returncode}): {last_line(run)}")
        summary = json.loads(found[0].read_text())
        return seconds, {"correct": summary["tasks"][args.task]["all"]["correct"],
                         "generate_s": summary["timing"][args.task]["seconds"]}
    if way == "lm-eval":
        return seconds, {"texts": lm_eval_texts(tmp / f"lm{rep}", args.n), "generate_s": None}
    return seconds, json.loads(out.read_text())


# ------------------------------------------------------------------------------------- lm-eval


def lm_eval_available(args) -> bool:
    """Whether lm-evaluation-harness can be run (it is not a dependency of oraclebench)."""
    import importlib.util

    if args.no_lm_eval:
        return False
    if importlib.util.find_spec("lm_eval") is None:
        print("lm-eval: not installed, left out (pip install lm-eval to compare with its CLI)")
        return False
    return True


def write_lm_eval_tasks(folder: Path, requests) -> list[str]:
    """lm-eval task YAMLs over exactly these prompts: one task per distinct (stop strings, token budget),
    since lm-eval's budget and ``until`` are per task; the data are local JSONL files (no hub).

    Each YAML is written as JSON (valid YAML), so no prompt needs YAML quoting.
    """
    folder.mkdir(parents=True)
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault((tuple(r.stop), r.max_tokens), []).append(i)
    names = []
    for g, ((stop, budget), idx) in enumerate(sorted(groups.items(), key=lambda kv: kv[0][1])):
        name = f"oraclebench_speed_{g}"
        data = folder / f"{name}.jsonl"
        data.write_text("".join(json.dumps({"idx": i, "prompt": requests[i].prompt, "target": ""}) + "\n"
                                for i in idx), encoding="utf-8")
        config = {"task": name, "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": str(data)}},
                  "test_split": "test", "output_type": "generate_until", "doc_to_text": "{{prompt}}",
                  "doc_to_target": "{{target}}",
                  "generation_kwargs": {"until": list(stop), "max_gen_toks": budget, "do_sample": False},
                  "metric_list": [{"metric": "exact_match"}]}
        (folder / f"{name}.yaml").write_text(json.dumps(config, indent=1), encoding="utf-8")
        names.append(name)
    return names


def lm_eval_texts(out: Path, n: int) -> list[str | None]:
    """lm-eval's completions (already cut at ``until``) in request order, from its logged samples."""
    texts: list[str | None] = [None] * n
    for path in out.rglob("samples_oraclebench_speed_*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            texts[sample["doc"]["idx"]] = sample["resps"][0][0]
    return texts


def limit_dtype(device: str, dtype: str) -> str:
    """The dtype the matmul limit is measured in: the run's on a GPU; float32 on the CPU, where a
    16-bit matmul of that size ran at 1 GFLOP/s here (no 16-bit units) while the model's small ones did
    better, which made percentages above 100."""
    return dtype if device.startswith("cuda") else "float32"  # cpu:0 too


def matmul_limit(threads: int | None, device: str = "cpu", dtype: str = "float32") -> float:
    """Multiply-add throughput of ``device`` in ``limit_dtype(device, dtype)``, FLOP/s: the best of
    twenty square torch matmuls (1024 on the CPU, on as many threads as the runs get; 8192 on a GPU,
    which a smaller one leaves idle), after a warm-up."""
    import torch

    dtype = limit_dtype(device, dtype)
    if threads:
        torch.set_num_threads(threads)
    size = 8192 if device.startswith("cuda") else 1024  # cpu:0 is the CPU too
    a, b = (torch.randn(size, size, device=device, dtype=getattr(torch, dtype)) for _ in range(2))
    best = float("inf")
    torch.mm(a, b)
    for _ in range(20):
        synchronize(device)
        t0 = time.perf_counter()
        torch.mm(a, b)
        synchronize(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * size ** 3 / best


def synchronize(device: str) -> None:
    """Waits for the GPU's queued work, so that a wall-clock time covers it (nothing on the CPU)."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)


def check_device(device: str) -> None:
    """Raises ``BadInput`` for a ``--device`` that is not a torch device, or a GPU this machine lacks."""
    import torch

    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        raise BadInput(f"--device {device}: not a torch device; use cpu, cuda or cuda:1") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise BadInput(f"--device {device}: no CUDA device here (torch sees none); use --device cpu")
    if kind == "cuda" and (torch.device(device).index or 0) >= torch.cuda.device_count():
        raise BadInput(f"--device {device}: torch sees {torch.cuda.device_count()} CUDA device(s), "
                       f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    if kind not in ("cpu", "cuda"):
        raise BadInput(f"--device {device}: only cpu and cuda are measured; use --device cpu")


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
        raise WayFailed(f"the pytest floor run failed (exit {run.returncode}): {last_line(run)}")
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


FASTER = {"adapter": "above 1: the adapter is faster", "pytest": "above 1: the pytest run is faster",
          "pytest-xdist": "above 1: the workers are faster"}  # what a ratio against this way means, read alone


def report_xdist(workers: int, n: int, runs: dict[str, list[tuple[float, dict]]]) -> None:
    """``--xdist N``: the pytest run's whole run without and with N workers, and their ratio per repeat."""
    import statistics

    for way, name in (("pytest", "pytest benchmark (one process)"), ("pytest-xdist", f"pytest benchmark -n {workers}")):
        whole = [s for s, _ in runs[way]]
        print(f"{name:34s} min {min(whole):7.2f} s  median {statistics.median(whole):7.2f} s  "
              f"correct {runs[way][0][1]['correct']}/{n}")
    xs = [a / b for (a, _), (b, _) in zip(runs["pytest"], runs["pytest-xdist"])]
    print(f"-n {workers} vs one process, whole run: min {min(xs):5.2f}x  median {statistics.median(xs):5.2f}x  "
          f"({len(xs)} repeats; {FASTER['pytest-xdist']})")


def plugin_own(overhead: list[float], floors: list[float]) -> str:
    """The plugin's own time, the median of (pytest's time outside generation beyond the adapter's) minus
    (pytest alone), one per repeat: a difference of noisy timings, printed as a time only when it is
    above zero and above their spread over the repeats (the noise); else said to be below the noise."""
    import statistics

    own = statistics.median(o - f for o, f in zip(overhead, floors))
    spread = (max(overhead) - min(overhead)) + (max(floors) - min(floors))
    if len(overhead) < 2:
        if own > 0:
            return f"{own:6.2f} s (one repeat: its noise unknown)"
        return f"below the noise ({own:+.2f} s from one repeat: a difference of noisy timings, not a cost)"
    if own < -spread:
        return (f"below zero ({own:+.2f} s, beyond the {spread:.2f} s the timings spread over {len(overhead)} repeats: "
                "the pytest run saves more elsewhere than pytest and the plugin cost, not a negative cost)")
    if own <= spread:
        return f"below the noise ({own:+.2f} s, within the {spread:.2f} s the timings spread over {len(overhead)} repeats)"
    return f"{own:6.2f} s"


def report(n: int, runs: dict[str, list[tuple[float, dict]]], floors: list[float], failures: int,
           limit: float, limit_name: str = "float32 matmul limit on cpu", stops: list | None = None) -> None:
    """Per way: the whole run's min and median; ratios per repeat (runs of one repeat ran side by side
    in time), min and median; answers compared (``stops``: each request's stop strings, for lm-eval's
    cut); decoding efficiency against the matmul limit."""
    import statistics

    def med(xs):
        return statistics.median(xs)

    names = {"adapter": "hf: adapter (runner.evaluate)", "plain": "plain batched model.generate",
             "pytest": "pytest benchmark --model hf:", "lm-eval": "lm-eval CLI (hf, --batch)"}
    print(f"\n{'way':34s} {'whole run min':>14s} {'median':>9s} {'generation min':>16s}")
    for way, rs in runs.items():
        whole = [s for s, _ in rs]
        gens = [r["generate_s"] for _, r in rs if r.get("generate_s")]
        gen_text = f"{min(gens):7.2f} s" if gens else ""
        print(f"{names[way]:34s} {min(whole):9.2f} s {med(whole):7.2f} s {gen_text:>16s}")
    ra = runs["adapter"][0][1]
    for way in ("plain", "lm-eval"):
        if way in runs:
            texts = runs[way][0][1]["texts"]
            same = sum(a == b for a, b in zip(ra["texts"], texts))
            # lm-eval cuts at a stop string even inside the leading whitespace (" \n" reads " "), oraclebench
            # does not (README, "How answers are read"): equal once that whitespace is stripped.
            alike = sum((a or "").strip() == (b or "").strip() for a, b in zip(ra["texts"], texts))
            line = f"same answers, adapter vs {way}: {same}/{n} as cut; {alike}/{n} with whitespace stripped"
            ours = ra["texts"]
            if way == "lm-eval" and stops:
                # The same continuation read by lm-eval's rule (cut at the first stop string, the leading
                # whitespace included: "\n3" is ""): ours is cut later or at the same place, so cutting
                # it again at its first stop string gives what lm-eval's cut of the same tokens gives.
                ours = [first_cut(a, stop) for a, stop in zip(ours, stops)]
                line += f"; {sum(a == b for a, b in zip(ours, texts))}/{n} cut by lm-eval's rule"
            print(line)
            for i in [i for i, (a, b) in enumerate(zip(ours, texts)) if (a or "").strip() != (b or "").strip()][:SHOWN]:
                print(f"  differs at #{i}: adapter {ours[i]!r}, {way} {texts[i]!r}")
    print(f"correct: adapter {ra['correct']}, plain {runs['plain'][0][1]['correct']}, "
          f"pytest {runs['pytest'][0][1]['correct']}")

    def ratio(line: str, num: str, den: str, key=lambda s, r: s) -> None:
        xs = [key(*a) / key(*b) for a, b in zip(runs[num], runs[den]) if key(*a) and key(*b)]
        if xs:
            print(f"{line:52s} min {min(xs):5.2f}x  median {med(xs):5.2f}x  ({len(xs)} repeats; {FASTER[den]})")

    print()
    gen = lambda s, r: r.get("generate_s")  # noqa: E731
    ratio("adapter vs plain loop, generation alone:", "plain", "adapter", gen)
    ratio("adapter vs plain loop, whole run:", "plain", "adapter")
    ratio("pytest whole run vs plain loop whole run:", "plain", "pytest")
    if "lm-eval" in runs:
        ratio("pytest whole run vs lm-eval CLI whole run:", "lm-eval", "pytest")
    overhead = [(tt - rt["generate_s"]) - (ta - r_a["generate_s"])
                for (tt, rt), (ta, r_a) in zip(runs["pytest"], runs["adapter"])]
    print(f"pytest run outside generation, beyond a bare adapter run: median {med(overhead):6.2f} s, of which pytest "
          f"itself ({n} empty items, {failures} failing) {med(floors):6.2f} s, the plugin's own {plugin_own(overhead, floors)}")
    adapter = [r for _, r in runs["adapter"]]
    limits = ", ".join(f"{r['limit'] / 1e9:.0f}" for r in adapter)
    print(f"{limit_name}, measured in each adapter run's process right after it: {limits} GFLOP/s "
          f"(this process now: {limit / 1e9:.0f})")
    for phase, line in (("decode", "decoding (the step loop, its Python included)"), ("prefill", "prefill (prompts)")):
        eff = [phase_flops(r, phase) / r["work"][f"{phase}_seconds"] / r["limit"] for r in adapter]
        w = ra["work"]
        print(f"{line + ':':48s} {w[f'{phase}_tokens']} tokens, {phase_flops(ra, phase) / 1e9:.1f} GFLOP, "
              f"{100 * max(eff):.1f}% (best), {100 * med(eff):.1f}% (median) of the limit")
    eff = [r["tokens"] * r["flops_per_token"] / r["generate_s"] / r["limit"] for r in adapter]
    print(f"{'generation as a whole (generated tokens x 2N):':48s} {ra['tokens']} tokens, "
          f"{100 * max(eff):.1f}% (best), {100 * med(eff):.1f}% (median) of the limit")


if __name__ == "__main__":
    sys.exit(main())
