"""``oraclebench train NAME``: train a reference model here, from scratch, deterministically under its seed.

    oraclebench train gpt2-causal [--omit '1,0,1,0,1;1,1,1,1,1'] [--steps N | --epochs N]
                                  [--out DIR] [--device cpu] [--seed S]

``gpt2-causal``, ``gpt2-abcd``, ``gpt2-mult`` and ``gpt2-mult-scratchpad`` come from
``oraclebench.training.recipes`` (a progress bar with step, loss and ETA; ``loss.png`` beside the model);
``judge-transplant`` from ``oraclebench.training.judge``, which adds its own flags.
``ORACLEBENCH_TRAIN_SCALE`` scales the number of training examples.
"""

from __future__ import annotations

HELP = "train a reference model (gpt2-causal, gpt2-abcd, gpt2-mult, gpt2-mult-scratchpad, judge-transplant)"
RECIPE_MODULES = {"judge-transplant": "oraclebench.training.judge"}


def add_arguments(parser) -> None:
    from oraclebench.training.recipes import RECIPES

    recipes = parser.add_subparsers(dest="name", metavar="NAME", required=True)
    for name, recipe in RECIPES.items():
        p = recipes.add_parser(name, help=f"a GPT-2 on {recipe.task} ({recipe.heldout})")
        p.add_argument("--omit", default=None, help="causal: sequences held out, e.g. '1,0,1,0,1;1,1,1,1,1'")
        p.add_argument("--heldout", default=None, help="the task's held-out spec, e.g. lengths=1-12 or digits=2x2")
        group = p.add_mutually_exclusive_group()
        group.add_argument("--steps", type=int, default=None, help="optimizer steps (instead of the recipe's epochs)")
        group.add_argument("--epochs", type=float, default=None, help="epochs over the training examples")
        p.add_argument("--out", default=None, help="output folder (default $ORACLEBENCH_HOME/models/NAME)")
        p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps")
        p.add_argument("--seed", type=int, default=0)
        if recipe.task == "causal":
            p.add_argument("--world", default=None, metavar="FILE",
                           help="causal: train on this world (a TOML file; default: the-experiment's)")
    for name, module in RECIPE_MODULES.items():
        p = recipes.add_parser(name, help="the judge chooser with hidden-state transplant (a small Llama)")
        __import__(module, fromlist=["add_arguments"]).add_arguments(p)


def run(args) -> int:
    import json

    from oraclebench.models.base import ModelError
    from oraclebench.training.recipes import RECIPES, train
    from oraclebench.errors import UsageError

    if args.name in RECIPE_MODULES:
        return int(__import__(RECIPE_MODULES[args.name], fromlist=["run"]).run(args) or 0)
    if args.omit and args.heldout:
        raise UsageError("give --omit or --heldout, not both")
    if args.omit and RECIPES[args.name].task != "causal":
        raise UsageError(f"--omit is for gpt2-causal; for {args.name} use --heldout (see `oraclebench tasks`)")
    for flag in ("steps", "epochs"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            raise UsageError(f"--{flag} must be positive, not {value}")
    heldout = f"omitted={args.omit}" if args.omit else args.heldout
    if getattr(args, "world", None):  # the world goes into the held-out spec, and so into the manifest
        heldout = f"{heldout or ''} world={args.world}".strip()
    try:
        out = train(args.name, args.out, heldout, args.seed, args.steps, args.epochs, args.device)
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    info = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    done = info["train"]
    print(f"{args.name}: {done['steps']} steps over {done['examples']} examples in {done['seconds']:.0f} s, "
          f"final loss {done['final_loss']:.4f}; saved to {out} (manifest.json, loss.png)")
    print(f"score it: {score_command(out, RECIPES[args.name].task, getattr(args, 'world', None))}")
    return 0


def score_command(out, task: str, world: str | None = None) -> str:
    """The command that scores a model trained into ``out`` on ``task``, runnable as printed.

    Args:
        out: the model's folder; task: the task it was trained on (``-m TASK``: the others mean nothing
            to it); world: the world file it was trained on, if any (a run without ``--world`` is refused).
    Returns:
        ``pytest benchmark --model hf:OUT -m TASK [--world FILE]`` with absolute, shell-quoted paths, so it
        runs from a checkout's root wherever training ran (``oraclebench run`` takes the same arguments).
    """
    import shlex
    from pathlib import Path

    words = ["pytest", "benchmark", "--model", f"hf:{Path(out).resolve()}", "-m", task]
    if world:
        words += ["--world", str(Path(world).expanduser().resolve())]
    return shlex.join(words)
