"""``oraclebench serve`` against a hostile web (issue 16, item 9), with real HTTP requests to a
server on 127.0.0.1: only loopback Host names are answered (DNS rebinding), the "try" box runs a
model only for a same-origin form carrying the page's token (cross-site POSTs), and what comes from a
results folder (run folder names, models, tasks) is escaped in pages, links and the HTML report.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from oraclebench.records import write_run
from oraclebench.runner import score_one
from oraclebench.summary import summarize
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Response

pytest.importorskip("flask", reason='the browser needs Flask: pip install "oraclebench[web]"')

from oraclebench.web import serve  # noqa: E402

RUN = "20260101T000000-000000-oracle"
HOSTILE_RUN = 'x"><img src=x onerror=alert(1)>#?'
HOSTILE_TASK = '"><script>alert(2)</script>'


def oracle_run(results: Path, run_id: str = RUN, model: str = "oracle", n: int = 6) -> None:
    task = get_task("multiplication")
    records = []
    for inst in task.fresh(n, seed=3):
        problem = task.decode(inst.problem)
        text = task.render_answer(problem, task.solve(problem))
        records.append(score_one(inst, task.request(inst), Response(text=text), run_id, model, None, cached=False))
    write_run(results, run_id, records, summarize(records, run_id=run_id, model=model))


@pytest.fixture
def server(tmp_path):
    oracle_run(tmp_path)
    srv = serve(tmp_path, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv.server_port, tmp_path
    finally:
        srv.shutdown()
        thread.join(timeout=10)


def request(port: int, method: str, path: str, headers: dict | None = None, body: dict | None = None):
    """One raw HTTP request to 127.0.0.1:port with exactly the given headers; returns (status, text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = urlencode(body).encode() if body is not None else None
        hdrs = {"Host": f"127.0.0.1:{port}", **(headers or {})}
        if data is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def token_of(page: str) -> str:
    m = re.search(r'name="token" value="([^"]+)"', page)
    assert m, "the try form carries no token"
    return m.group(1)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}",
                                  "localhost.evil.example", "10.0.0.1:{port}", ""])
def test_a_foreign_host_header_is_refused(server, host):
    port, _ = server
    status, _ = request(port, "GET", "/", {"Host": host.format(port=port)})
    assert status == 400
    status, page = request(port, "GET", f"/compare?a={RUN}&b={RUN}", {"Host": host.format(port=port)})
    assert status == 400 and "Flipped" not in page
    status, _ = request(port, "POST", f"/run/{RUN}/try", {"Host": host.format(port=port)},
                        {"task": "multiplication", "input": "47x23"})
    assert status == 400


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "LOCALHOST:{port}",
                                  "127.0.0.1"])
def test_loopback_host_names_are_answered(server, host):
    port, _ = server
    status, page = request(port, "GET", "/", {"Host": host.format(port=port)})
    assert status == 200 and RUN in page


def test_a_cross_site_post_never_runs_the_model(server):
    port, _ = server
    path = f"/run/{RUN}/try"
    form = {"task": "multiplication", "input": "47x23"}
    status, page = request(port, "GET", path)
    token = token_of(page)
    evil = {"Origin": "http://evil.example"}
    for headers, body in [
        (evil, form),                                           # no token, foreign origin
        (evil, {**form, "token": token}),                       # a leaked token does not help a foreign page
        ({"Referer": "http://evil.example/page"}, {**form, "token": token}),
        ({}, form),                                             # no token at all
        ({"Origin": f"http://127.0.0.1:{port}"}, {**form, "token": "guess"}),
        ({"Origin": "null"}, {**form, "token": token}),
    ]:
        status, page = request(port, "POST", path, headers, body)
        assert status == 403, (headers, body)
        assert "1081" not in page  # the model did not answer
    status, page = request(port, "POST", path, {"Origin": f"http://127.0.0.1:{port}"}, {**form, "token": token})
    assert status == 200 and " 1081" in page
    status, page = request(port, "POST", path, {"Referer": f"http://127.0.0.1:{port}{path}"}, {**form, "token": token})
    assert status == 200 and " 1081" in page


def test_run_folder_names_and_models_are_escaped_in_pages_and_links(tmp_path):
    oracle_run(tmp_path, run_id=HOSTILE_RUN, model='oracle"><b>bold</b>')
    srv = serve(tmp_path, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        port = srv.server_port
        status, index = request(port, "GET", "/")
        assert status == 200
        assert "<img src=x" not in index and "<b>bold</b>" not in index
        link = re.search(r'<a href="(/run/[^"]+)">', index).group(1)
        assert link == "/run/" + quote(HOSTILE_RUN, safe="")
        status, run_page = request(port, "GET", link)
        assert status == 200, run_page[:500]
        assert "<img src=x" not in run_page and "<b>bold</b>" not in run_page
        instance = re.search(r'<a href="(/run/[^"]+/instance/[^"]+)">', run_page).group(1)
        assert request(port, "GET", instance)[0] == 200
    finally:
        srv.shutdown()
        thread.join(timeout=10)


def test_the_html_report_escapes_task_names_used_as_anchors(tmp_path):
    from oraclebench.report import build_report

    oracle_run(tmp_path)
    run_dir = tmp_path / "runs" / RUN
    lines = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    for line in lines[:3]:
        line["task"] = HOSTILE_TASK
    (run_dir / "records.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    html = build_report(tmp_path, runs=[RUN]).read_text(encoding="utf-8")  # a 6-instance run: named, as partial
    assert "<script>alert(2)</script>" not in html
    ids = re.findall(r'id="([^"]*)"', html)
    hrefs = re.findall(r'href="#([^"]*)"', html)
    assert all(re.fullmatch(r"[A-Za-z0-9_.:-]+", a) for a in ids + hrefs), ids + hrefs
    assert set(hrefs) <= set(ids)  # every table-of-contents link still lands on its section


def test_the_compare_page_escapes_run_names_models_and_answers(tmp_path):
    """Two runs, one under a hostile folder name and model, compared: nothing from the results folder is
    markup in the page, and the links to each run's records are URL-quoted."""
    oracle_run(tmp_path)
    oracle_run(tmp_path, run_id=HOSTILE_RUN, model='oracle"><b>bold</b>')
    records = tmp_path / "runs" / HOSTILE_RUN / "records.jsonl"
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    lines[0].update(correct=False, completion='<img src=x onerror=alert(3)>', reason="<script>alert(4)</script>")
    records.write_text("".join(json.dumps(line) + "\n" for line in lines))
    srv = serve(tmp_path, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        port = srv.server_port
        status, page = request(port, "GET", "/compare?" + urlencode({"a": RUN, "b": HOSTILE_RUN}))
        assert status == 200, page[:500]
        assert "Flipped: 1 (1 only A right" in page
        for raw in ("<img src=x", "<b>bold</b>", "<script>alert(4)", "<script>alert(2)"):
            assert raw not in page
        link = re.search(r'class="rec-b" href="([^"]+)"', page).group(1)
        assert link.startswith("/run/" + quote(HOSTILE_RUN, safe="") + "/instance/")
        assert request(port, "GET", link)[0] == 200
        status, index = request(port, "GET", "/")
        assert status == 200 and "<b>bold</b>" not in index and 'id="compare-form"' in index
    finally:
        srv.shutdown()
        thread.join(timeout=10)
