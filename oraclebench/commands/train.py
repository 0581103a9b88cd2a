"""``oraclebench train NAME``: train a reference model here, from scratch, deterministically under its seed.

``gpt2-causal``, ``gpt2-abcd``, ``gpt2-mult`` and ``gpt2-mult-scratchpad`` come from
``models.reference``; ``judge-transplant`` from ``oraclebench.judge_recipe``, which adds its own flags.
"""

from __future__ import annotations

HELP = "train a reference model (gpt2-causal, gpt2-abcd, gpt2-mult, gpt2-mult-scratchpad, judge-transplant)"
RECIPE_MODULES = {"judge-transplant": "oraclebench.judge_recipe"}


def add_arguments(parser) -> None:
    from models.reference import RECIPES

    recipes = parser.add_subparsers(dest="name", metavar="NAME", required=True)
    for name, recipe in RECIPES.items():
        p = recipes.add_parser(name, help=f"a GPT-2 on {recipe.task}, {recipe.heldout} held out")
        p.add_argument("--omit", default=None, help="causal: sequences held out, e.g. '1,0,1,0,1;1,1,1,1,1'")
        p.add_argument("--heldout", default=None, help="the task's held-out spec, e.g. lengths=1-12 or digits=2x2")
        group = p.add_mutually_exclusive_group()
        group.add_argument("--steps", type=int, default=None, help="optimizer steps (instead of the recipe's epochs)")
        group.add_argument("--epochs", type=float, default=None, help="epochs over the training data")
        p.add_argument("--out", default=None, help="output directory (default $ORACLEBENCH_HOME/models/NAME)")
        p.add_argument("--device", default="cpu")
        p.add_argument("--seed", type=int, default=None)
    for name, module in RECIPE_MODULES.items():
        p = recipes.add_parser(name, help="the judge chooser with hidden-state transplant (a small Llama)")
        __import__(module, fromlist=["add_arguments"]).add_arguments(p)


def run(args) -> int:
    from models.base import ModelError
    from models.reference import RECIPES, train
    from oraclebench.errors import UsageError

    if args.name in RECIPE_MODULES:
        return int(__import__(RECIPE_MODULES[args.name], fromlist=["run"]).run(args) or 0)
    if args.omit and args.heldout:
        raise UsageError("give --omit or --heldout, not both")
    if args.omit and RECIPES[args.name].task != "causal":
        raise UsageError(f"--omit is for gpt2-causal; for {args.name} use --heldout")
    for flag in ("steps", "epochs"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            raise UsageError(f"--{flag} must be positive, not {value}")
    heldout = f"omitted={args.omit}" if args.omit else args.heldout
    try:
        if heldout:  # validate before minutes of training
            from tasks import get_task

            get_task(RECIPES[args.name].task).manifest_from_spec(heldout)
        out = train(args.name, args.out, heldout, args.seed, args.steps, args.epochs, args.device)
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    print(f"{args.name}: saved to {out} (manifest.json, loss.png); score it with "
          f"pytest benchmark --model hf:{out}")
    return 0
