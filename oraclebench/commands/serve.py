"""``oraclebench serve [--results DIR] [--port N] [--host 127.0.0.1]``: browse results in a local web page.

Lists the runs; shows a run's accuracy by task, split and bucket and its instances (filters: wrong
only, held-out only, a task, a bucket); an instance field by field; and, for a local model, a box to
type an input and compare the model's answer with the oracle's. The server only reads the results.
"""

from __future__ import annotations

from pathlib import Path

HELP = "browse results in a local web page"


def add_arguments(parser) -> None:
    parser.add_argument("--results", default="results", help="results directory (default results/)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; the page can run models)")
    from oraclebench.commands.generate import add_variant_arguments

    add_variant_arguments(parser)  # the try box reads inputs of this world


def run(args) -> int:
    from oraclebench.commands.generate import bind_variants
    from oraclebench.errors import UsageError

    bind_variants(args)
    results = Path(args.results)
    if not results.is_dir():
        raise UsageError(f"no results directory {results}; run `pytest benchmark --model NAME` first or pass --results DIR")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, not {args.port}")
    from oraclebench.extras import require

    require("web", "")  # one line naming the extra: "oraclebench serve: error: needs flask: ..."
    from oraclebench.web import serve
    try:
        server = serve(results, args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); pick another --port") from None
    print(f"oraclebench: browsing {results.resolve()} at http://{args.host}:{server.server_port}/ (Ctrl-C stops)",
          flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
