"""The report's output: its figures (accuracy curves with intervals, digit heat maps, gap forest
plots) and the page they go in (``Doc``: HTML and markdown side by side).

Every function takes small, already aggregated frames (one row per model and x value) and returns a
matplotlib ``Figure`` built without pyplot (no global state, no GUI backend: safe in any process
and thread). ``png(fig)`` renders one to PNG bytes. Colours are fixed per model (``palette``) so a
model looks the same in every figure; ten models get ten distinct colours.

Margins are fixed in inches (``_margins``) and long labels wrapped or shortened to fit them, so a
figure is drawn once: matplotlib's constrained layout or ``bbox_inches="tight"`` would measure every
text again and cost more than the drawing itself.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import numbers
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from oraclebench.stats import TINY_N, tiny
from oraclebench.tasks.exchange import shown_share
from oraclebench.textsafe import md_cell, md_fence, md_inline

# Training-range shades, one per distinct range in a figure (most figures have one).
SHADES = ("#7f7f7f", "#bcbd22", "#17becf", "#e377c2")
MAX_LEGEND_MODELS = 3
LEGEND_INCHES = 2.9  # the right margin that holds a legend
LEGEND_CHARS = 36  # legend text per line at font size 8 in that margin (40 ran past the PNG's edge)


@dataclass(frozen=True)
class TrainingRange:
    """What some models saw in training, along one axis: a predicate and a description."""

    models: tuple[str, ...]
    contains: Callable[[object], bool]
    text: str

    def label(self) -> str:
        names = ", ".join(self.models[:MAX_LEGEND_MODELS])
        more = f" +{len(self.models) - MAX_LEGEND_MODELS}" if len(self.models) > MAX_LEGEND_MODELS else ""
        return textwrap.fill(f"trained ({names}{more}): {self.text}", LEGEND_CHARS, max_lines=3, placeholder=" ...")


def short(text: str, limit: int = LEGEND_CHARS) -> str:
    """``text`` cut in the middle to ``limit`` characters (model names can be long paths)."""
    return text if len(text) <= limit else text[: limit // 2 - 1] + "..." + text[-(limit - limit // 2 - 2):]


def _margins(fig: Figure, left: float, right: float, bottom: float, top: float, **space) -> None:
    """Fixed margins in inches around the axes area."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h, **space)


def palette(models: Sequence[str]) -> dict[str, str]:
    """A fixed colour per model (matplotlib's tab10, then tab20 for more than ten)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(models) <= 10 else "tab20"]
    return {m: cmap(i % cmap.N) for i, m in enumerate(models)}


def png(fig: Figure, dpi: int = 96) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive True positions, as (first, last) indices."""
    out, start = [], None
    for i, flag in enumerate(list(flags) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def _shade(ax, xs: Sequence, positions: Sequence[float], ranges: Sequence[TrainingRange]) -> None:
    """Shade, per training range, the stretches of plotted x values it contains."""
    for k, rng in enumerate(ranges[: len(SHADES)]):
        flags = [bool(rng.contains(x)) for x in xs]
        for n, (i, j) in enumerate(_runs(flags)):
            ax.axvspan(positions[i] - 0.5, positions[j] + 0.5, color=SHADES[k], alpha=0.13, lw=0,
                       label=rng.label() if n == 0 else None, zorder=0)


def curve_figure(frame, knob: str, title: str, colors: dict, ranges: Sequence[TrainingRange] = (),
                 categorical: bool = False, ax_width: float = 9.0) -> Figure:
    """Accuracy against one knob, one line per model with 95% Wilson bars, training ranges shaded.

    ``frame`` columns: model, x, accuracy, lo, hi, n, and optionally errors (a point with failed requests
    is labelled with how many). Categorical x values are spread evenly and
    each model is nudged sideways so that ten models' bars do not hide each other.
    """
    xs = sorted(frame["x"].unique(), key=sort_key)
    positions = list(range(len(xs))) if categorical else [float(x) for x in xs]
    where = dict(zip(xs, positions))
    models = list(dict.fromkeys(frame["model"]))
    width = max(ax_width, 0.28 * len(xs) + 4) if categorical else ax_width
    rotate = categorical and len(xs) > 6
    longest = max((len(str(x)) for x in xs), default=1)
    bottom = 0.6 + (0.065 * min(longest, 24) if rotate else 0.0)
    fig = Figure(figsize=(width, 3.4 + bottom))
    _margins(fig, 0.75, LEGEND_INCHES, bottom, 0.35)
    ax = fig.add_subplot()
    _shade(ax, xs, positions, ranges)
    step = min(0.6 / max(len(models), 1), 0.12 if categorical else 0.08)
    any_tiny = False
    for k, model in enumerate(models):
        part = frame[frame["model"] == model].copy()
        part["_order"] = part["x"].map(sort_key)
        part = part.sort_values("_order")
        offset = (k - (len(models) - 1) / 2) * step
        px = [where[x] + offset for x in part["x"]]
        acc = part["accuracy"].to_numpy()
        few = np.array([tiny(int(n)) for n in part["n"]], dtype=bool)
        # Clipped at 0: at 0% or 100% a Wilson bound can sit a rounding error past the estimate.
        err = [(acc - part["lo"].to_numpy()).clip(0), (part["hi"].to_numpy() - acc).clip(0)]
        ax.plot(px, 100 * acc, color=colors[model], marker="o", ms=3.5, lw=1.3, label=short(model),
                ls="-" if not categorical else "none")  # categories have no order to draw a line along
        keep = ~few
        if keep.any():
            ax.errorbar(np.asarray(px)[keep], 100 * acc[keep], yerr=[100 * e[keep] for e in err], fmt="none",
                        ecolor=colors[model], capsize=2, elinewidth=0.9)
        any_tiny = any_tiny or bool(few.any())
        errors = part["errors"].to_numpy() if "errors" in part else np.zeros(len(part), dtype=int)
        for x, y, k, n, e, small in zip(px, acc, part["correct"].to_numpy(), part["n"].to_numpy(), errors, few):
            # right/n where n is too small for an interval; "N err" where requests failed (not measured)
            text = ", ".join([f"{int(k)}/{int(n)}"] * bool(small) + [f"{int(e)} err"] * bool(e))
            if text:
                _count_label(ax, x, 100 * y, text, colors[model])
    if any_tiny:  # the plot says why some points have no bar
        ax.plot([], [], ls="none", marker="", label=f"1/1, 0/1 beside a point: right of n,\nwhere n < {TINY_N} "
                "is too few for an interval")
    ax.set_ylim(-3, 103)
    ax.set_ylabel("accuracy % (95% CI)" if not any_tiny else f"accuracy % (95% CI where n >= {TINY_N})")
    ax.set_xlabel(knob)
    ax.set_title(title, fontsize=11)
    if categorical:
        ax.set_xticks(positions, [short(str(x), 24) for x in xs], rotation=60 if rotate else 0,
                      ha="right" if rotate else "center", rotation_mode="anchor" if rotate else "default", fontsize=8)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def _count_label(ax, x: float, y: float, text: str, color) -> None:
    """``right/n`` beside a point of too few instances for an interval: above it, or below one near 100%."""
    high = y > 50
    ax.annotate(text, (x, y), xytext=(0, -5 if high else 5), textcoords="offset points", rotation=90, fontsize=6,
                ha="center", va="top" if high else "bottom", color=color)


def is_number(value) -> bool:
    """A real number (numpy's too), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def sort_key(value):
    # Numbers in numeric order, then everything else as text: bucket values may mix types.
    return (0, float(value), "") if is_number(value) else (1, 0, str(value))


def heatmap_figure(frame, models: Sequence[str], seen: dict[str, Callable[[int, int], bool] | None],
                   title: str, ncols: int = 5, labels: tuple[str, str] = ("a digits", "b digits")) -> Figure:
    """Accuracy per pair of two knobs (a_digits, b_digits), one small panel per model, the training range outlined.

    ``frame`` columns: model, a, b, accuracy, correct, n (a cell of fewer than ``TINY_N`` shows its count),
    and optionally errors (a cell with failed requests says how many under its accuracy).
    ``seen[model]`` says whether a cell is in the
    model's training range (None: no manifest, nothing outlined).
    """
    a_vals = sorted(frame["a"].unique())
    b_vals = sorted(frame["b"].unique())
    ncols = min(ncols, len(models))
    nrows = -(-len(models) // ncols)
    fig = Figure(figsize=(2.6 * ncols + 1.4, 2.5 * nrows + 0.5))
    _margins(fig, 0.55, 1.3, 0.45, 0.5, wspace=0.35, hspace=0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    image = None
    for k, model in enumerate(models):
        ax = axes[k // ncols][k % ncols]
        grid = np.full((len(a_vals), len(b_vals)), np.nan)
        cells: dict[tuple[int, int], str] = {}
        for row in frame[frame["model"] == model].itertuples():
            i, j = a_vals.index(row.a), b_vals.index(row.b)
            grid[i, j] = 100 * row.accuracy
            # Too few instances for a percentage to mean much: the count, right of all (1/1, 2/3).
            cells[i, j] = f"{int(row.correct)}/{int(row.n)}" if tiny(int(row.n)) else shown_share(row.accuracy, 0)
            if getattr(row, "errors", 0):  # failed requests: not measured, so the cell says how many
                cells[i, j] += f"\n{int(row.errors)} err"
        image = ax.imshow(grid, vmin=0, vmax=100, cmap="viridis", origin="lower", aspect="auto")
        for (i, j), text in cells.items():
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="black" if grid[i, j] > 60 else "white")
        inside = seen.get(model)
        if inside is not None:
            _outline(ax, [[inside(int(a), int(b)) for b in b_vals] for a in a_vals])
        ax.set_title(short(model, 30), fontsize=8)
        ax.set_xticks(range(len(b_vals)), [str(v) for v in b_vals], fontsize=7)
        ax.set_yticks(range(len(a_vals)), [str(v) for v in a_vals], fontsize=7)
        ax.set_xlabel(labels[1], fontsize=7)
        ax.set_ylabel(labels[0], fontsize=7)
    for k in range(len(models), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    if image is not None:
        w, h = fig.get_size_inches()
        fig.colorbar(image, cax=fig.add_axes((1 - 1.0 / w, 0.45 / h, 0.18 / w, 1 - 0.95 / h)), label="accuracy %")
    fig.suptitle(title, fontsize=10)
    return fig


def _outline(ax, inside: list[list[bool]]) -> None:
    """Draw the border between cells in the training range and cells outside it (one line object)."""
    rows, cols = len(inside), len(inside[0]) if inside else 0
    xs: list[float] = []
    ys: list[float] = []
    for i in range(rows):
        for j in range(cols):
            if not inside[i][j]:
                continue
            for di, dj, ex, ey in ((-1, 0, (j - .5, j + .5), (i - .5, i - .5)), (1, 0, (j - .5, j + .5), (i + .5, i + .5)),
                                   (0, -1, (j - .5, j - .5), (i - .5, i + .5)), (0, 1, (j + .5, j + .5), (i - .5, i + .5))):
                ni, nj = i + di, j + dj
                if not (0 <= ni < rows and 0 <= nj < cols and inside[ni][nj]):
                    xs += [*ex, float("nan")]
                    ys += [*ey, float("nan")]
    if xs:
        ax.plot(xs, ys, color="#d62728", lw=2.2, solid_capstyle="butt")


def gap_figure(frame, colors: dict, name: str = "seen - held out") -> Figure:
    """One gap (``name``: its first split minus its second, e.g. trained - unseen) with Newcombe intervals:
    a panel per task, a row per model.

    ``frame`` columns: model, task, gap, lo, hi.
    """
    tasks = sorted(frame["task"].unique())
    models = list(dict.fromkeys(frame["model"]))
    fig = Figure(figsize=(2.7 * len(tasks) + 2.2, 0.28 * len(models) + 1.5))
    _margins(fig, 2.0, 0.2, 0.95, 0.35, wspace=0.12)  # room for the x label on two lines
    axes = fig.subplots(1, len(tasks), sharey=True, squeeze=False)[0]
    for ax, task in zip(axes, tasks):
        for row in frame[frame["task"] == task].itertuples():
            y = models.index(row.model)
            ax.errorbar([100 * row.gap], [y], xerr=[[100 * max(0.0, row.gap - row.lo)], [100 * max(0.0, row.hi - row.gap)]],
                        color=colors[row.model], marker="s", ms=4, capsize=2, lw=1.2)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlim(-105, 105)
        ax.set_title(task, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(range(len(models)), [short(str(m), 28) for m in models], fontsize=8)
    axes[0].set_ylim(len(models) - 0.5, -0.5)
    width = fig.get_size_inches()[0]
    label = f"{name} accuracy, points (95% Newcombe interval); > 0: better on {name.split(' - ')[0]}"
    # Wrapped to the figure's width (about 13 characters an inch at size 9): one task's figure is
    # narrower than the label, whose ends were cut off in the PNG.
    fig.supxlabel(textwrap.fill(label, max(20, int(width * 13))), fontsize=9)
    return fig


def lines_figure(frame, colors: dict, xlabel: str, ylabel: str, title: str, percent: bool = True) -> Figure:
    """Simple lines per model over a small categorical x (digit positions, first bad step)."""
    xs = sorted(frame["x"].unique(), key=sort_key)
    where = {x: i for i, x in enumerate(xs)}
    fig = Figure(figsize=(max(6.0, 0.45 * len(xs) + 1.5) + LEGEND_INCHES, 3.4))
    _margins(fig, 0.75, LEGEND_INCHES, 0.6, 0.35)
    ax = fig.add_subplot()
    for model, part in frame.groupby("model", sort=False):
        part = part.assign(_pos=part["x"].map(where)).sort_values("_pos")
        ax.plot(part["_pos"], (100 if percent else 1) * part["y"], marker="o", ms=3.5, lw=1.3,
                color=colors[model], label=short(str(model)))
    ax.set_xticks(range(len(xs)), [str(x) for x in xs], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if percent:
        ax.set_ylim(-3, 103)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def complexity_figure(frame, measure: str, title: str) -> Figure:
    """Seen and held-out accuracy with 95% intervals against a world complexity measure (one point
    per model and world; points of one x are spread apart so none hides another).

    ``frame`` columns: label, x (the measure), split (seen/heldout), acc, lo, hi.
    """
    fig = Figure(figsize=(7.0 + LEGEND_INCHES, 3.6))
    _margins(fig, 0.75, LEGEND_INCHES, 0.65, 0.35)
    ax = fig.add_subplot()
    styles = {"trained": ("#1f77b4", "o", -0.12), "unseen": ("#2ca02c", "D", -0.04), "seen": ("#1f77b4", "o", -0.08),
              "heldout": ("#d62728", "s", 0.08), "unknown": ("#7f7f7f", "^", 0.0)}
    for split, part in frame.groupby("split", sort=False):
        color, marker, shift = styles.get(split, styles["unknown"])
        offsets = part.groupby("x").cumcount() * 0.05
        xs = part["x"].astype(float) + shift + offsets
        ax.errorbar(xs, 100 * part["acc"], yerr=[100 * (part["acc"] - part["lo"]).clip(lower=0),
                                                 100 * (part["hi"] - part["acc"]).clip(lower=0)],
                    fmt=marker, color=color, ms=5, capsize=3, lw=1.2, label="held out" if split == "heldout" else split)
    xs = sorted(frame["x"].unique())
    ax.set_xticks(xs, [str(x) for x in xs], fontsize=8)
    ax.set_xlabel(measure.replace("_", " "))
    ax.set_ylabel("accuracy % (95% Wilson interval)")
    ax.set_ylim(-3, 103)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


# --------------------------------------------------------------------------------------- document


def slug(text: str) -> str:
    """``text`` as a safe HTML id and file name: letters, digits and ``_.-`` kept, the rest ``-``,
    with a short hash when anything was replaced (so two names never share a slug).

    >>> slug("task-abcd"), slug('task-"><script>')[:12]
    ('task-abcd', 'task----scri')
    """
    safe = re.sub(r"[^A-Za-z0-9_.-]", "-", text)
    if safe == text and text and not text.startswith("."):
        return text
    return f"{safe.lstrip('.') or 'x'}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


class Doc:
    """The report being written, as HTML and markdown side by side."""

    def __init__(self, figures_dir: Path):
        self.figures_dir = figures_dir
        self.html: list[str] = []
        self.md: list[str] = []
        self.toc: list[tuple[str, str]] = []

    def h2(self, title: str, anchor: str) -> None:
        anchor = slug(anchor)
        self.toc.append((anchor, title))
        self.html.append(f'<h2 id="{anchor}">{html.escape(title)}</h2>')
        self.md.append(f"\n## {md_inline(title)}\n")

    def h3(self, title: str) -> None:
        self.html.append(f"<h3>{html.escape(title)}</h3>")
        self.md.append(f"\n### {md_inline(title)}\n")

    def p(self, text: str) -> None:
        self.html.append(f"<p>{html.escape(text)}</p>")
        self.md.append(md_inline(text) + "\n")

    def table(self, frame, collapsed: str | None = None) -> None:
        """A table; ``collapsed`` puts it in a closed ``<details>`` with that summary (long tables)."""
        if frame.empty:
            self.p("(no data)")
            return
        body = '<div class="scroll">' + frame.to_html(index=False, escape=True, border=0, classes="t", na_rep="-") + "</div>"
        if collapsed:
            body = f"<details><summary>{html.escape(collapsed)}</summary>{body}</details>"
            self.md.append(f"{md_inline(collapsed)}:\n")
        self.html.append(body)
        # Column by column: DataFrame.map is pandas 2.1, the report extra takes 2.0.
        shown = frame.apply(lambda column: column.map(md_cell)).rename(columns=md_cell)
        # An empty cell reads "-" in both renderings (tabulate's missingval takes None, not NaN).
        shown = shown.astype(object).where(shown.notna(), None)
        self.md.append(shown.to_markdown(index=False, missingval="-") + "\n")

    def figure(self, fig, name: str, caption: str) -> None:
        name = slug(name)  # task names come from a results folder: never a path of their own
        data = png(fig)
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        (self.figures_dir / f"{name}.png").write_bytes(data)
        b64 = base64.b64encode(data).decode("ascii")
        self.html.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{b64}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        self.md.append(f"![{md_inline(caption)}](figures/{name}.png)\n\n*{md_inline(caption)}*\n")

    def failures(self, task: str, rows: list[dict], total: int | None = None, scope: str = "") -> None:
        """The failed instances shown, under a heading that says how many of how many failed (``rows`` is a
        sample of at most a few per bucket: ``24 of 290 failed judge instances``); ``scope``: whose
        (``of 3 models``)."""
        total = len(rows) if total is None else total
        whose = f" {scope}" if scope else ""
        if not rows:
            self.p(f"No failed {task} instance." if not total else f"{total} failed {task} instances{whose}, none shown.")
            return
        shown = (f"{len(rows)} failed {task} instances{whose}" if len(rows) == total else
                 f"{len(rows)} of {total} failed {task} instances{whose} (a sample: at most 2 per bucket)")
        parts, md = [], []
        for r in rows:
            head = f"{r['model']} | {r['label']} | {r['split']} | {r['instance_id']}"
            cells = "".join(f'<div class="{k}"><div class="k">{k}</div><pre>{html.escape(r[k])}</pre></div>'
                            for k in ("prompt", "expected", "answer", "reason"))
            parts.append(f'<div class="fail"><div class="fhead">{html.escape(head)}</div>{cells}</div>')
            md.append(f"**{md_inline(head)}**\n\n" + "".join(f"- {k}:\n\n{md_fence(r[k])}\n\n"
                                                            for k in ("prompt", "expected", "answer", "reason")))
        self.html.append(f"<details><summary>{html.escape(shown)}</summary>" + "".join(parts) + "</details>")
        self.md.append(f"{md_inline(shown)}:\n\n" + "\n".join(md))

    def render_html(self, title: str, meta: str) -> str:
        toc = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in self.toc)
        return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1><p class=\"meta\">{html.escape(meta)}</p>"
                f"<nav><ol>{toc}</ol></nav>" + "\n".join(self.html) + "</body></html>\n")

    def render_md(self, title: str, meta: str) -> str:
        return f"# {md_inline(title)}\n\n{md_inline(meta)}\n" + "\n".join(self.md)


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#222}
h1{margin-bottom:4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
.meta{color:#666}.scroll{overflow-x:auto;margin:8px 0}
table.t{border-collapse:collapse;font-size:12.5px}table.t th,table.t td{padding:3px 8px;border-bottom:1px solid #e5e5e5;
text-align:right;white-space:nowrap}table.t th{background:#f4f4f4}table.t td:first-child,table.t th:first-child{text-align:left}
figure{margin:12px 0}figure img{max-width:100%}figcaption{color:#555;font-size:12.5px}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
.fail{border:1px solid #e3c0c0;border-radius:4px;margin:8px 0;padding:6px 10px;background:#fffafa;
display:grid;grid-template-columns:1fr 1fr;gap:2px 12px}.fail .fhead,.fail .prompt,.fail .reason{grid-column:1/3}
.fhead{font-weight:600;font-size:12.5px}.k{font-size:12px;color:#666}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:4px 6px;margin:2px 0;font-size:12px;
max-height:16em;overflow:auto}
"""
