"""The report's markdown shows every name and text as written, each in the block it was put in.

A model name, label, task name or answer can hold markdown (``**``, ``#``, ``_``, backticks) and line
breaks. In a heading, a paragraph or the bold header of a failed instance, a line break ended the block
and the rest started another (a heading, a list); in a failed instance's code block, a run of backticks
closed the fence early. Read here by a CommonMark parser (markdown-it-py), as a reader's viewer would.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oraclebench.textsafe import md_fence, md_inline

markdown_it = pytest.importorskip("markdown_it")
MD = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
BREAKS = re.compile("\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")

# Any character CommonMark keeps as it is (it reads NUL as U+FFFD).
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)


def blocks(markdown: str) -> list:
    """The block tokens of ``markdown`` at its top level, opening tags only (``heading_open``...)."""
    return [t for t in MD.parse(markdown) if t.level == 0 and t.nesting >= 0 and t.type != "inline"]


def shown_text(markdown: str) -> str:
    """The text a viewer shows for ``markdown``'s inline content, markup dropped."""
    inline = [t for t in MD.parse(markdown) if t.type == "inline"]
    return "".join(c.content for t in inline for c in t.children if c.type in ("text", "code_inline"))


def inline_tokens(token) -> list:
    """An inline token's children, without the empty text tokens markdown-it puts around markup."""
    return [c for c in token.children if c.type != "text" or c.content]


def one_line(text: str) -> str:
    return BREAKS.sub(" ", text).strip()


@given(TEXT.filter(lambda t: one_line(t)))
def test_any_text_is_one_paragraph_showing_the_text_with_its_line_breaks_as_spaces(text):
    markdown = md_inline(text)
    assert [b.type for b in blocks(markdown)] == ["paragraph_open"]
    assert shown_text(markdown) == one_line(text)


@given(TEXT.filter(lambda t: one_line(t)))
def test_any_text_in_a_heading_stays_the_whole_heading(text):
    markdown = f"## {md_inline(text)}\n\nafter\n"
    assert [b.type for b in blocks(markdown)] == ["heading_open", "paragraph_open"]
    assert shown_text(markdown) == one_line(text) + "after"


@given(TEXT.filter(lambda t: one_line(t)))
def test_any_text_between_double_stars_is_bold_as_a_whole(text):
    tokens = [c.type for t in MD.parse(f"**{md_inline(text)}**") if t.type == "inline" for c in inline_tokens(t)]
    assert tokens[0] == "strong_open" and tokens[-1] == "strong_close"
    assert tokens.count("strong_open") == 1


@given(TEXT)
def test_any_text_in_a_fence_is_one_code_block_holding_exactly_the_text(text):
    tokens = MD.parse(md_fence(text) + "\n\nafter\n")
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1
    # A CR or CRLF is a line break as LF is (CommonMark reads them alike); any other character is kept.
    assert fences[0].content == re.sub("\r\n?", "\n", text) + "\n"
    assert shown_text(md_fence(text) + "\n\nafter\n") == "after"


@pytest.mark.parametrize("text, shown", [
    ("1. first", "1. first"),  # not an ordered list
    ("- item", "- item"),  # not a list
    ("# title", "# title"),  # not a heading
    ("a_b_c *d*", "a_b_c *d*"),  # no emphasis
    ("<b>x</b> &amp;", "<b>x</b> &amp;"),  # no HTML, no entity
    ("    code", "code"),  # not an indented code block
    ("[a](b) [c][d] ![e](f)", "[a](b) [c][d] ![e](f)"),  # no link, no image
    ("[x]: http://a", "[x]: http://a"),  # no link reference definition (it would vanish)
])
def test_the_seeds_of_markup_read_as_text(text, shown):
    assert [b.type for b in blocks(md_inline(text))] == ["paragraph_open"]
    assert shown_text(md_inline(text)) == shown


def test_a_failed_instance_of_a_model_named_with_a_line_break_and_stars_keeps_its_bold_header_and_code(tmp_path):
    from oraclebench.report_plots import Doc

    doc = Doc(tmp_path)
    row = {"model": "gpt2**x**\n# not a heading", "label": "trained", "split": "heldout", "instance_id": "abcd-0001",
           "prompt": "A B\n```\nC", "expected": "1", "answer": "````", "reason": "wrong answer"}
    doc.failures("abcd", [row])
    markdown = doc.render_md("oraclebench report", "results/x_y")
    assert [b.type for b in blocks(markdown)].count("heading_open") == 1  # the title alone
    bold = [t for t in MD.parse(markdown) if t.type == "inline" and inline_tokens(t)[0].type == "strong_open"]
    assert [shown_text(t.content) for t in bold] == ["gpt2**x** # not a heading | trained | heldout | abcd-0001"]
    assert [t.content for t in MD.parse(markdown) if t.type == "fence"] == ["A B\n```\nC\n", "1\n", "````\n",
                                                                         "wrong answer\n"]


def test_the_leaderboards_notes_on_partial_runs_are_one_list_item_each_whatever_the_model_is_named(tmp_path):
    from oraclebench.records import write_run
    from oraclebench.runner import score_one
    from oraclebench.summary import summarize, write_leaderboard
    from oraclebench.tasks import get_task
    from oraclebench.tasks.base import Response

    task = get_task("multiplication")
    names = ["two\n- lines", "**bold** [x]: y"]
    for k, model in enumerate(names):
        run_id = f"20260101T00000{k}-000000-m{k}"
        records = []
        for i in range(3):
            inst = task.instance(task.sample(0, i), f"multiplication-{task.version}-{i:04d}")
            records.append(score_one(inst, task.request(inst), Response(text="1"), run_id, model, None, False))
        summary = summarize(records, run_id=run_id, model=model, options={"heldout": []})
        summary["complete"] = {"multiplication": False}
        write_run(tmp_path, run_id, records, summary)
    text = write_leaderboard(tmp_path).read_text(encoding="utf-8")
    notes = text.split("\n\n")[-1]
    items = [t for t in MD.parse(notes) if t.type == "list_item_open"]
    assert len(items) == 2
    shown = [shown_text(t.content) for t in MD.parse(notes) if t.type == "inline"]
    assert [s.split(" multiplication: ")[0] for s in shown] == ["[1] **bold** [x]: y", "[2] two - lines"]  # by name


def test_brackets_that_make_no_link_are_written_as_they_are():
    """The raw markdown stays readable where nothing needs escaping: "[95% CI]" and a note's "[1]"."""
    assert md_inline("accuracy % [95% CI] by digits") == "accuracy % [95% CI] by digits"
    assert md_inline("[1] oracle causal: partial") == "[1] oracle causal: partial"
    # An underscore inside a word opens no emphasis: a path or a snake_case name stays as written.
    assert md_inline("/tmp/test_a_damaged0/summary.json") == "/tmp/test_a_damaged0/summary.json"
    assert md_inline("_x_ __init__") == "\\_x\\_ \\_\\_init\\_\\_"
