#!/usr/bin/env python3
"""Benchmark: the weight of every patient page, third-party requests, and worker memory after 10,000 requests.

    .venv/bin/python bench/bench_weight.py            # full run: 10,000 requests for the memory figure
    .venv/bin/python bench/bench_weight.py --quick    # smoke run: 200 requests

gunicorn with one sync worker (production settings, --max-requests 0 so that the worker is not
recycled and its growth shows) on a loopback port, SQLite.

Page weight: a patient goes through the whole questionnaire with answers that show every page
(tests/helpers.py EVERY_PAGE), plus the urgent stop page, the delete page and the outcome page.
Each HTML page is parsed (html.parser) for what a browser loads by itself: stylesheets, scripts,
icons, preloads, manifests, images, media, frames, and url(...) / @import inside the stylesheets;
each is fetched once per page (a first visit, nothing cached) and the bodies are added up, as sent
(uncompressed: the server does not compress). Budget: 30 KB (30,720 bytes) per page, all included.
Any resource on another host than the server is an error; links to other sites that the patient
may follow (the clinic's booking site) are listed but are not requests.

Memory: the worker's resident set size (VmRSS from /proc/PID/status) after a warm-up and after
10,000 more requests (question pages GET and POST with a patient's session, whole questionnaires
by new patients, static files), and the growth between the two.
"""

from __future__ import annotations

import html.parser
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import _common as c

from questionnaire.core import flow  # noqa: E402
from questionnaire.core.definition import QUESTIONNAIRE  # noqa: E402
from tests.helpers import EVERY_PAGE, NO_FLAGS, PERSONAS, form_data  # noqa: E402
from tests.servers import HttpClient  # noqa: E402

BUDGET = 30 * 1024
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


class Resources(html.parser.HTMLParser):
    """What a browser fetches by itself for one HTML page; and the links a person may follow."""

    LOADING_LINK_RELS = {
        "stylesheet",
        "icon",
        "shortcut",
        "apple-touch-icon",
        "preload",
        "modulepreload",
        "manifest",
        "prefetch",
        "dns-prefetch",
        "preconnect",
        "mask-icon",
    }

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []
        self.inline_css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link" and self.LOADING_LINK_RELS & set(a.get("rel", "").lower().split()):
            self.loads.append(a.get("href", ""))
        elif tag in ("script", "img", "iframe", "audio", "video", "source", "track", "embed", "input") and a.get("src"):
            self.loads.append(a["src"])
        elif tag == "object" and a.get("data"):
            self.loads.append(a["data"])
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for key in ("srcset", "imagesrcset"):
            for part in (a.get(key) or "").split(","):
                if part.strip():
                    self.loads.append(part.strip().split()[0])
        if a.get("style"):
            self.inline_css.append(a["style"])
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.inline_css.append(data)


def css_urls(css: str) -> list[str]:
    return [a or b for a, b in CSS_URL.findall(css) if not (a or b).startswith("data:")]


def fetch_bytes(client: HttpClient, server: c.BenchServer, url: str) -> tuple[int, int, int]:
    """(status, body bytes, header bytes) of one GET of a same-host URL."""
    parts = urllib.parse.urlsplit(url)
    reply = client.get(parts.path + (f"?{parts.query}" if parts.query else ""), on=server)
    body = len(reply.text.encode("utf-8"))
    headers = sum(len(k) + len(v) + 4 for k, v in reply.headers.items())
    return reply.status, body, headers


def weigh(
    name: str,
    html: str,
    base: str,
    client: HttpClient,
    server: c.BenchServer,
    failures: c.Failures,
    css_cache: dict[str, tuple[int, list[str]]],
) -> dict[str, Any]:
    """Bytes of one page with everything it loads; errors for third-party requests and failed loads."""
    parser = Resources()
    parser.feed(html)
    own = urllib.parse.urlsplit(server.base_url).netloc
    total = len(html.encode("utf-8"))
    parts = {"html": total}
    queue = [urllib.parse.urljoin(base, u) for u in parser.loads]
    queue += [urllib.parse.urljoin(base, u) for css in parser.inline_css for u in css_urls(css)]
    seen: set[str] = set()
    third_party = []
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        host = urllib.parse.urlsplit(url).netloc
        if host != own:
            third_party.append(url)
            continue
        status, body, _headers = fetch_bytes(client, server, url)
        failures.check(status == 200, f"{name}: {url} gave {status}")
        kind = Path(urllib.parse.urlsplit(url).path).suffix.lstrip(".") or "other"
        parts[kind] = parts.get(kind, 0) + body
        total += body
        if kind == "css":
            if url not in css_cache:
                text = client.history[-1].text
                css_cache[url] = (body, css_urls(text))
            queue += [urllib.parse.urljoin(url, u) for u in css_cache[url][1]]
    failures.check(not third_party, f"{name}: requests to other hosts: {third_party}")
    others = sorted({urllib.parse.urlsplit(urllib.parse.urljoin(base, u)).netloc for u in parser.links} - {own, ""})
    return {"name": name, "total": total, "parts": parts, "third_party": third_party, "links_out": others}


def walk_pages(server: c.BenchServer, failures: c.Failures) -> list[dict[str, Any]]:
    """Every patient page as a patient meets it, weighed."""
    css_cache: dict[str, tuple[int, list[str]]] = {}
    out: list[dict[str, Any]] = []
    client = HttpClient(server)

    def page(name: str, reply: Any) -> None:
        failures.check(reply.status == 200, f"{name}: status {reply.status}")
        out.append(weigh(name, reply.text, reply.url, client, server, failures, css_cache))

    page("start", client.get("/"))
    client.post("/start")
    answers = EVERY_PAGE
    current = QUESTIONNAIRE.pages[0]
    while current is not None and current.id != "declaration":
        url = f"/questions/{current.id}"
        page(f"question page {current.id}", client.get(url))
        sent = client.post(url, form_data(current.id, answers))
        failures.check(sent.status == 302, f"POST {url}: {sent.status}")
        current = flow.next_page(current.id, answers)
    page("check your answers", client.get("/check-answers"))
    page("delete (confirmation)", client.get("/delete"))
    sent = client.post("/check-answers", {"declaration": "yes"})
    failures.check(sent.status == 302 and sent.location == "/sent", f"send: {sent.status} {sent.location}")
    page("outcome (sent)", client.get("/sent"))

    urgent = HttpClient(server)
    urgent.get("/")
    urgent.post("/start")
    urgent.get("/questions/urgent")
    stop = urgent.post("/questions/urgent", form_data("urgent", PERSONAS["urgent"]))
    failures.check(stop.location == "/get-help-now", f"urgent answers went to {stop.location!r}")
    reply = urgent.get("/get-help-now")
    failures.check(reply.status == 200, f"get help now: status {reply.status}")
    out.append(weigh("get help now (urgent stop)", reply.text, reply.url, urgent, server, failures, css_cache))
    return out


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def exercise(server: c.BenchServer, requests: int, failures: c.Failures) -> int:
    """About `requests` requests of the kinds patients make; returns how many were made."""
    import urllib.parse as up

    client = HttpClient(server)
    client.get("/")
    client.post("/start")
    client.get("/questions/urgent")
    cookie = "; ".join(f"{k.name}={k.value}" for k in client.jar)
    body = up.urlencode({"csrf_token": client.token, **form_data("urgent", NO_FLAGS)}, doseq=True)
    loads = [
        {"url": server.url("/questions/urgent"), "expect": 200, "cookie": cookie},
        {"url": server.url("/questions/urgent"), "expect": 302, "cookie": cookie, "method": "POST", "body": body},
        {"url": server.url("/static/app.css"), "expect": 200},
    ]
    done = 0
    deadline = time.monotonic() + 900
    turn = 0
    while done < requests and time.monotonic() < deadline:
        spec = loads[turn % len(loads)]
        turn += 1
        share = min(requests - done, max(50, requests // 12))
        result = c.python_load(seconds=60, max_requests=share, connections=2, **spec)
        failures.check(
            result.errors == 0,
            f"memory load: {result.bad} bad status(es) {result.statuses}, {result.socket_errors} socket error(s)",
        )
        done += result.requests
        if turn % 3 == 0:  # now and then a whole questionnaire by a new patient (new drafts, a submission)
            patient = HttpClient(server)
            patient.get("/")
            patient.post("/start")
            patient.get("/questions/urgent")  # the new session's CSRF token
            page = QUESTIONNAIRE.pages[0]
            answers = PERSONAS["discuss_before_booking"]
            while page is not None and page.id != "declaration":
                reply = patient.post(f"/questions/{page.id}", form_data(page.id, answers))
                failures.check(reply.status == 302, f"memory load flow: POST {page.id} gave {reply.status}")
                page = flow.next_page(page.id, answers)
            patient.get("/check-answers")
            reply = patient.post("/check-answers", {"declaration": "yes"})
            failures.check(reply.status == 302, f"memory load flow: send gave {reply.status}")
            done += len(patient.history)
    failures.check(done >= requests, f"only {done} of {requests} requests within the time bound")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = c.parser(__doc__)
    parser.add_argument("--requests", type=int, help="requests for the memory figure (default 10,000; 200 quick)")
    args = parser.parse_args(argv)
    requests = args.requests or (200 if args.quick else 10_000)
    failures = c.Failures()
    print(c.machine_summary())
    workdir = Path(tempfile.mkdtemp(prefix="bench_weight_"))
    (workdir / "app").mkdir()
    uri = f"sqlite:///{workdir / 'app' / 'weight.db'}"
    pages: list[dict[str, Any]] = []
    rss: dict[str, int] = {}
    made = 0
    try:
        c.migrate_in_process(uri)
        server = c.BenchServer(
            workdir / "app",
            database_uri=uri,
            workers=1,
            migrate=False,
            gunicorn_args=["--max-requests", "0"],
            name="weight",
        )
        try:
            server.start()
            pages = walk_pages(server, failures)
            (worker,) = server.worker_pids()
            exercise(server, 50 if args.quick else 200, failures)  # warm-up: every code path once
            rss["after warm-up"] = rss_kib(worker)
            made = exercise(server, requests, failures)
            failures.check(server.worker_pids() == [worker], "the worker was replaced during the run")
            rss[f"after {made:,} more requests"] = rss_kib(worker)
            problems = server.log_problems()
            failures.check(not problems, f"server log shows {len(problems)} error line(s): {problems[:3]}")
        finally:
            server.stop()
    except Exception as exc:  # noqa: BLE001 - any failure is an error of the run, reported loudly
        failures.error(f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if pages:
        kinds = sorted({k for p in pages for k in p["parts"]}, key=lambda k: (k != "html", k))
        print(f"bytes per patient page, uncompressed, first visit (budget {BUDGET:,} bytes = 30 KB):")
        print(f"  {'page':<40}" + "".join(f"{k:>8}" for k in kinds) + f"{'total':>9}")
        for p in pages:
            print(f"  {p['name']:<40}" + "".join(f"{p['parts'].get(k, 0):>8,}" for k in kinds) + f"{p['total']:>9,}")
        heaviest = max(pages, key=lambda p: p["total"])
        links = sorted({h for p in pages for h in p["links_out"]})
        third = [u for p in pages for u in p["third_party"]]
        print(
            f"requests to other hosts: {len(third)}; links a patient may follow to other sites: "
            f"{', '.join(links) or 'none'}"
        )
    if rss:
        for label, kib in rss.items():
            print(f"worker RSS {label}: {kib / 1024:.1f} MiB")
        values = list(rss.values())
        print(f"worker RSS growth: {(values[-1] - values[0]) / 1024:+.1f} MiB over {made:,} requests")
    if pages:
        verdict = failures.target(heaviest["total"] <= BUDGET, "page weight budget")
        print(
            f"ratio heaviest page/budget: {heaviest['total'] / BUDGET:.2f} ({heaviest['name']}, "
            f"{heaviest['total']:,} bytes; every page within 30 KB: {verdict}; third-party requests: "
            f"{len(third)})"
        )
    if rss:
        print(f"ratio worker RSS after/before {made:,} requests: {values[-1] / values[0]:.2f}")
    return failures.exit_code(args.strict)


if __name__ == "__main__":
    sys.exit(main())
