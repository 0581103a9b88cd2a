"""``oraclebench generate TASK --n N --seed S [--omit ...] --out DIR [--format jsonl|openai-chat]``.

Writes ``train``/``valid``/``test`` files of prompt/completion rows drawn from the task's strategy,
restricted to what the manifest says the model may see (``--omit`` for causal, ``--heldout`` for
any task), and ``manifest.json`` recording what was held out, the seed, counts, the training rows
(``training_data``: stream, seed, count, split; what ``--fresh`` leaves out for a model trained on
them) and a hash of the data. The same arguments always give the same files.

Each file has its own stream (``train``, ``valid``, ``test``; see ``tasks.base.stream_random``), apart
from the frozen sets and from ``pytest benchmark --fresh``: a fresh re-test is never the training data.
``valid`` and ``test`` are samples of the training distribution, not held out, and a small space
repeats problems across files (causal has 32 inputs); the command says how many of their rows are
also training rows (``also_in_train`` in the manifest). What a model never saw is scored by
``pytest benchmark`` through the manifest (``--fresh N --split unseen``, the held-out split).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HELP = "write train/valid/test files and a manifest for a task"

SPLITS = ("train", "valid", "test")  # each drawn from the stream of that name


def add_arguments(parser) -> None:
    parser.add_argument("task", help="a task name (`oraclebench tasks` lists them)")
    parser.add_argument("--n", type=int, default=20_000, help="training rows (valid and test get n/10 each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--omit", default=None,
                        help="causal: input sequences never generated, e.g. '1,1,1,1,1;0,0,0,0,0'")
    parser.add_argument("--heldout", default=None, help="the task's held-out spec, e.g. lengths=1-12 or digits=2x2")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--format", choices=("jsonl", "openai-chat"), default="jsonl")
    add_variant_arguments(parser)


def add_variant_arguments(parser) -> None:
    """``--world FILE`` (and any other task variant option): see ``oraclebench.tasks.VARIANT_OPTIONS``."""
    from oraclebench.tasks import VARIANT_OPTIONS

    for option, (help_text, _) in VARIANT_OPTIONS.items():
        parser.add_argument(f"--{option}", default=None, metavar="FILE", help=help_text)


def bind_variants(args) -> None:
    """Bind the variants the command line names (``--world``) for this command."""
    from oraclebench.tasks import VARIANT_OPTIONS, use_variants

    use_variants({option: getattr(args, option, None) for option in VARIANT_OPTIONS})


def rows(task, config, seed: int, n: int, chat: bool = False, stream: str = "train") -> list[dict]:
    """``n`` prompt/completion rows (``chat``: OpenAI chat rows): problem i is ``task.sample(seed, i, config, stream)``."""
    out = []
    for i in range(n):
        problem = task.sample(seed, i, config, stream)
        answer = task.solve(problem)
        out.append(as_chat(task.chat(problem), task.chat_answer(problem, answer)) if chat else
                   {"prompt": task.render(problem).prompt, "completion": task.render_answer(problem, answer)})
    return out


def as_chat(form, answer: str) -> dict:
    """CleverGPT's fine-tuning format for the OpenAI API, with the task's chat form: the messages that
    ``openai:``/``vllm:`` send a chat model when it is scored, so a fine-tune is scored as it was trained."""
    return {"messages": [{"role": "system", "content": form.instruction}, {"role": "user", "content": form.user},
                         {"role": "assistant", "content": answer}]}


def manifest_for(task, omit: str | None, heldout: str | None) -> dict:
    from oraclebench.errors import UsageError

    if omit and heldout:
        raise UsageError("give --omit or --heldout, not both")
    if omit and task.name != "causal":
        raise UsageError(f"--omit is for causal; for {task.name} use --heldout (see `oraclebench tasks`)")
    spec = omit or heldout
    return task.manifest_from_spec(spec) if spec else {}


def run(args) -> int:
    from oraclebench.errors import UsageError
    from oraclebench.tasks import get_task

    bind_variants(args)
    task = get_task(args.task)
    if args.n <= 0:
        raise UsageError(f"--n must be positive, not {args.n}")
    manifest = task.variant_manifest(manifest_for(task, args.omit, args.heldout) or None) or {}
    config = task.train_config(manifest or None)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a directory (made if missing) for the three files and manifest.json")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot make the directory ({exc.strerror}); give a directory you can write") from None
    counts, digest, lines = {}, hashlib.sha256(), {}
    for split in SPLITS:
        n = args.n if split == "train" else max(1, args.n // 10)
        data = rows(task, config, args.seed, n, chat=args.format == "openai-chat", stream=split)
        lines[split] = [json.dumps(r, ensure_ascii=False) for r in data]
        text = "\n".join(lines[split]) + "\n"
        digest.update(text.encode())
        (out / f"{split}.jsonl").write_text(text, encoding="utf-8")
        counts[split] = n
    trained = set(lines["train"])  # a row is its prompt and completion: the same problem writes the same row
    also = {split: sum(line in trained for line in lines[split]) for split in SPLITS[1:]}
    training = {"stream": "train", "seed": args.seed, "count": counts["train"], "split": manifest or None, "config": {}}
    info = {"task": task.name, "split": manifest, "seed": args.seed, "counts": counts, "also_in_train": also,
            "format": args.format, "training_data": training, "dataset_sha256": digest.hexdigest()}
    (out / "manifest.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"{task.name}: wrote {counts} rows ({args.format}) and manifest.json to {out}")
    print(f"valid and test sample the training distribution (not held out): {also['valid']} of {counts['valid']} "
          f"valid rows and {also['test']} of {counts['test']} test rows are also training rows; "
          "`pytest benchmark --fresh N --split unseen` and the held-out split score what the model never saw")
    return 0
