"""The results browser: Flask pages over a results folder, then driven in headless Chromium."""

from __future__ import annotations

import html
import importlib.util
import io
import os
import re
import threading
from pathlib import Path

import pytest

from oraclebench.records import write_run
from oraclebench.runner import score_one
from oraclebench.summary import summarize
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Response

pytest.importorskip("flask", reason='the browser needs Flask: pip install "oraclebench[web]"')

from oraclebench.web import create_app, serve  # noqa: E402

MANIFESTS = {"causal": {"omitted": ["1,0,1,0,1"]}, "multiplication": {"max_digits": [2, 2]}}
HOSTILE = "<script>alert('x')</script>"


def oracle_run(results: Path, n: int = 12) -> str:
    """A run of the ``oracle`` model scored by the real tasks, with every third answer replaced by a wrong one."""
    run_id = "20260101T000000-000000-oracle"
    records = []
    for name in ("causal", "multiplication"):
        task = get_task(name)
        instances = task.fresh(n, seed=7)
        for i, inst in enumerate(instances):
            problem = task.decode(inst.problem)
            if i % 3 == 0:  # another instance's answer: well formed, wrong (like the `random` model)
                other = task.decode(instances[(i + 1) % n].problem)
                text = task.render_answer(other, task.solve(other))
            elif i == 4:
                text = HOSTILE
            else:
                text = task.render_answer(problem, task.solve(problem))
            records.append(score_one(inst, task.request(inst), Response(text=text), run_id, "oracle",
                                     MANIFESTS[name], cached=False))
    write_run(results, run_id, records, summarize(records, run_id=run_id, model="oracle",
                                                  manifest={"tasks": MANIFESTS}))
    return run_id


@pytest.fixture
def results(tmp_path) -> Path:
    oracle_run(tmp_path)
    return tmp_path


@pytest.fixture
def client(results):
    return create_app(results).test_client()


def test_index_lists_runs_and_skips_one_being_written(results, client):
    torn = results / "runs" / "20260102T000000-000000-busy"
    torn.mkdir(parents=True)
    (torn / "summary.json").write_text('{"run_id": "20260102T0000', encoding="utf-8")  # half written
    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "20260101T000000-000000-oracle" in text and "/run/20260102T000000-000000-busy" not in text
    # Run files are renamed into place whole, so a torn summary is damage: not listed, but named once (issue 16).
    assert text.count("busy/summary.json: damaged") == 1


def test_run_page_filters_wrong_and_heldout(client):
    base = "/run/20260101T000000-000000-oracle"
    all_rows = client.get(base).get_data(as_text=True)
    assert "24 instance(s)" in all_rows and "causal by bucket" in all_rows
    wrong = client.get(base + "?wrong=1").get_data(as_text=True)
    n_wrong = int(wrong.split(" instance(s)")[0].rsplit(">", 1)[1])
    rows = wrong.split('id="instances"')[1]
    assert 0 < n_wrong < 24 and rows.count('<tr class="bad">') == n_wrong and '<tr class="ok">' not in rows
    held = client.get(base + "?heldout=1&task=multiplication").get_data(as_text=True)
    rows = held.split('id="instances"')[1]
    assert "<td>seen</td>" not in rows and "<td>heldout</td>" in rows and "<td>causal</td>" not in rows


def test_a_page_past_the_last_shows_the_last(client):
    """"?page=3" of 210 instances (3 pages, counted from 0) showed "page 4 of 3" and no instance (review)."""
    base = "/run/20260101T000000-000000-oracle"
    text = client.get(base + "?page=99").get_data(as_text=True)
    assert "page 100" not in text and text.split('id="instances"')[1].count("<tr class=") == 24


def test_instance_page_colours_fields_and_escapes_the_answer(client):
    base = "/run/20260101T000000-000000-oracle"
    page = client.get(base + "/instance/causal/causal-fresh7-0004").get_data(as_text=True)
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert "no answer" in page and 'id="verdict">wrong' in page.replace("\n", "")
    wrong = client.get(base + "/instance/multiplication/multiplication-fresh7-0000").get_data(as_text=True)
    assert '<tr class="bad"><td>d0</td>' in wrong or '<tr class="ok"><td>d0</td>' in wrong
    assert client.get(base + "/instance/causal/nope").status_code == 404
    assert client.get("/run/nope").status_code == 404


def test_try_box_compares_the_model_with_the_oracle(client):
    base = "/run/20260101T000000-000000-oracle/try"
    token = re.search(r'name="token" value="([^"]+)"', client.get(base).get_data(as_text=True)).group(1)
    same = {"Origin": "http://localhost"}  # the test client's own origin; a foreign one is refused (test_web_security)
    page = client.post(base, data={"task": "multiplication", "input": "47x23", "token": token},
                       headers=same).get_data(as_text=True)
    assert "oracle is right on 2x2" in page and " 1081" in page
    bad = client.post(base, data={"task": "causal", "input": "1,0,1", "token": token}, headers=same).get_data(as_text=True)
    assert "expected 5 comma-separated 0/1 values" in bad


def _browser_missing() -> str | None:
    if not os.path.exists("/usr/bin/chromium"):
        return "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.mark.browser
@pytest.mark.skipif(_browser_missing() is not None, reason=str(_browser_missing()))
def test_browse_filter_open_and_try_in_chromium(results, tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    server = serve(results, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 800})
                page.set_default_timeout(15_000)
                page.goto(base + "/")
                page.click("#runs a")
                page.check("#wrong")
                page.click("#filter")
                page.wait_for_url("**wrong=1**")
                marks = page.locator("#instances td.mark").all_inner_texts()
                assert marks and set(marks) <= {"✗", "!"}
                page.click("#instances a >> nth=0")
                assert page.inner_text("#verdict") == "wrong"
                assert page.inner_text("#reason").strip()
                page.goto(base + "/run/20260101T000000-000000-oracle/try")
                page.select_option("#task", "causal")
                page.fill("#input", "1,0,1,0,1")
                page.click("#go")
                assert page.inner_text("#verdict") == "oracle is right on 1,0,1,0,1"
                assert page.inner_text("#oracle") == page.inner_text("#model-answer")
                shot = page.screenshot()
            finally:
                browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    assert image.size == (1200, 800)
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50  # text, table rows and colours: not a blank page
    assert max(count for count, _ in colours) < 0.95 * 1200 * 800


# --------------------------------------------------------------------------- held out, failures, compare (issue 21)

SECOND = "20260102T000000-000000-oracle"


def second_run(results: Path) -> str:
    """The same instances as ``oracle_run``, every one answered right: the first run's failures all flip."""
    records = []
    for name in ("causal", "multiplication"):
        task = get_task(name)
        for inst in task.fresh(12, seed=7):
            problem = task.decode(inst.problem)
            text = task.render_answer(problem, task.solve(problem))
            records.append(score_one(inst, task.request(inst), Response(text=text), SECOND, "oracle", MANIFESTS[name],
                                     cached=False))
    write_run(results, SECOND, records, summarize(records, run_id=SECOND, model="oracle", manifest={"tasks": MANIFESTS}))
    return SECOND


def first_run_failures(results: Path) -> list:
    from oraclebench.records import read_records

    return [r for r in read_records(results / "runs" / "20260101T000000-000000-oracle") if not r.correct]


# The fixture's manifest says what was held out but records no training data: inside, trained on or not.
INSIDE = "inside oracle's training distribution (trained on or not: the exact training data is not recorded)"


def test_the_try_box_says_whether_the_input_was_held_out(client):
    """As `oraclebench try` does, from what the run recorded the model saw (its manifest holds out 1,0,1,0,1)."""
    base = "/run/20260101T000000-000000-oracle/try"
    token = re.search(r'name="token" value="([^"]+)"', client.get(base).get_data(as_text=True)).group(1)
    same = {"Origin": "http://localhost"}
    for task, text, said in [("causal", "1,0,1,0,1", "HELD OUT from oracle's training (it never saw this input)"),
                             ("causal", "0,0,0,0,1", INSIDE),
                             ("multiplication", "47x23", INSIDE),
                             ("multiplication", "123x4", "HELD OUT from oracle's training")]:
        page = client.post(base, data={"task": task, "input": text, "token": token}, headers=same).get_data(as_text=True)
        line = html.unescape(re.search(r'id="training">([^<]*)<', page).group(1))
        assert line.startswith(f"{text}: {said}"), (text, line)


def test_run_page_links_its_failed_instances_to_their_records(results, client):
    base = "/run/20260101T000000-000000-oracle"
    page = client.get(base).get_data(as_text=True)
    failed = first_run_failures(results)
    for task in ("causal", "multiplication"):
        n = sum(r.task == task for r in failed)
        assert f'href="?task={task}&amp;wrong=1#instances">{n} failed: list them</a>' in page
    listed = client.get(base + "?task=causal&wrong=1").get_data(as_text=True).split('id="instances"')[1]
    for r in failed:
        if r.task == "causal":
            assert f'href="{base}/instance/causal/{r.instance_id}"' in listed


def test_compare_page_shows_what_compare_prints(results, client):
    from oraclebench.compare import compare_runs

    second_run(results)
    cmp = compare_runs(results, "20260101T000000-000000-oracle", SECOND)
    page = client.get(f"/compare?a=20260101T000000-000000-oracle&b={SECOND}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    failed = first_run_failures(results)
    assert len(cmp.flips) == len(failed) and f"Flipped: {len(failed)} (0 only A right," in text
    flips = text.split('id="flips"')[1]
    assert flips.count('class="rec-a"') == len(failed) == flips.count('class="rec-b"')
    for r in failed:
        assert f'/run/{SECOND}/instance/{r.task}/{r.instance_id}"' in flips
    bad = client.get("/compare?a=20260101T000000-000000-oracle&b=nope")
    assert bad.status_code == 400 and "nope" in bad.get_data(as_text=True) and "Traceback" not in bad.get_data(as_text=True)


@pytest.mark.browser
@pytest.mark.skipif(_browser_missing() is not None, reason=str(_browser_missing()))
def test_held_out_flag_and_compare_page_in_chromium(results, tmp_path):
    from playwright.sync_api import sync_playwright

    second_run(results)
    failed = first_run_failures(results)
    server = serve(results, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 800})
                page.set_default_timeout(15_000)
                page.goto(base + "/run/20260101T000000-000000-oracle/try")
                page.select_option("#task", "causal")
                page.fill("#input", "1,0,1,0,1")
                page.click("#go")
                assert page.inner_text("#training") == "1,0,1,0,1: HELD OUT from oracle's training (it never saw this input)"
                page.screenshot(path=shots / "try-heldout.png")
                page.fill("#input", "0,1,1,0,1")
                page.click("#go")
                assert page.inner_text("#training") == f"0,1,1,0,1: {INSIDE}"

                page.goto(base + "/")
                page.select_option("#cmp-a", "20260101T000000-000000-oracle")
                page.select_option("#cmp-b", SECOND)
                page.click("#compare")
                page.wait_for_url("**/compare?**")
                assert page.inner_text("#flips-head").startswith(f"Flipped: {len(failed)} (0 only A right, {len(failed)} only B right")
                rows = page.locator("#flips tr").count() - 1
                assert rows == len(failed)
                assert set(page.locator("#flips td.mark").all_inner_texts()) == {"B"}
                page.screenshot(path=shots / "compare.png", full_page=True)
                page.click("#flips .rec-a >> nth=0")
                assert page.inner_text("#verdict") == "wrong" and page.inner_text("#reason").strip() != "(none: correct)"
                page.go_back()
                page.click("#flips .rec-b >> nth=0")
                assert page.inner_text("#verdict") == "correct"
            finally:
                browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert (shots / "try-heldout.png").stat().st_size > 10_000 and (shots / "compare.png").stat().st_size > 10_000


def test_the_front_page_says_how_many_requests_failed_and_which_runs_are_partial(tmp_path):
    """A run whose server died after 3 of causal's 12 answers read "causal 25.0 (12)" on the front page,
    like a model a quarter right (found by a trial): each task says its failed requests and, where the
    run is not the model's score, that it is partial and why; the run page says so too."""
    from oraclebench.records import errors_reason

    task, run_id = get_task("causal"), "20260103T000000-000000-served"
    records = []
    for i, inst in enumerate(task.fresh(12, seed=7)):
        problem = task.decode(inst.problem)
        response = (Response(text=task.render_answer(problem, task.solve(problem))) if i < 3
                    else Response(error="connection refused"))
        records.append(score_one(inst, task.request(inst), response, run_id, "vllm:m@http://127.0.0.1:9/v1", None,
                                 cached=False))
    summary = summarize(records, run_id=run_id, model="vllm:m@http://127.0.0.1:9/v1")
    summary["complete"], summary["partial"] = {"causal": False}, {"causal": errors_reason(9)}
    write_run(tmp_path, run_id, records, summary)
    oracle_run(tmp_path)
    client = create_app(tmp_path).test_client()
    text = html.unescape(client.get("/").get_data(as_text=True))
    row = text.split(run_id + "</a>", 1)[1].split("</tr>", 1)[0]
    assert "25.0 (12), 9 errors" in re.sub(r"\s+", " ", row)
    assert "PARTIAL (9 request errors: not measured" in row
    oracle_row = text.split("20260101T000000-000000-oracle</a>", 1)[1].split("</tr>", 1)[0]
    assert "errors" not in oracle_row  # none failed
    page = html.unescape(client.get(f"/run/{run_id}").get_data(as_text=True))
    assert "causal: PARTIAL (9 request errors: not measured" in page
