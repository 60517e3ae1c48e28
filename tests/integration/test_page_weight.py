"""The pages that list every answer stay within the page-weight budget, in both languages.

The budget is bench/bench_weight.py's: 30 KB per patient page, its HTML and every stylesheet, icon and
script it loads, uncompressed (the server does not compress), first visit. The benchmark weighs every
page in English; here the heaviest ones, check your answers and the pages after sending (60 answers
with every page shown), are weighed in English and in Spanish, whose texts are longer.

The staff area's rules are in their own stylesheet, staff.css, linked by templates/staff/base.html
and templates/auth/base.html only, so that no patient page loads them.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ..helpers import EVERY_PAGE, Patient, parse_html
from .test_security_headers import build_site

BUDGET = 30 * 1024  # as bench/bench_weight.py BUDGET
APP_CSS, STAFF_CSS = "/static/app.css", "/static/staff.css"


def stylesheets(html: str) -> list[str]:
    return [el.get("href") for el in parse_html(html).iter("link") if "stylesheet" in (el.get("rel") or "").split()]


def page_weight(client: FlaskClient, html: str) -> int:
    """Bytes of the page and of the stylesheets, icons and scripts it loads (as bench/bench_weight.py)."""
    root = parse_html(html)
    urls = {el.get("href") for el in root.iter("link") if {"stylesheet", "icon"} & set((el.get("rel") or "").split())}
    urls |= {el.get("src") for el in root.iter("script") if el.get("src")}
    assert urls, "the page loads no stylesheet or script: is this the right page?"
    total = len(html.encode("utf-8"))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        total += len(response.get_data())
        response.close()
    return total


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_pages_listing_every_answer_stay_within_the_page_weight_budget(app: Flask, lang: str) -> None:
    client = app.test_client()
    patient = Patient(client)
    patient.get("/")
    patient.post("/language", {"lang": lang, "next": "/"})
    check = patient.complete(EVERY_PAGE, send=False).get_data(as_text=True)
    assert check.count("?return=check#") >= 60  # every answer with its Change link
    sent = patient.post("/check-answers", {"declaration": "yes"})
    pages = {
        "check your answers": check,
        "outcome": patient.get(sent.location).get_data(as_text=True),
        "printable copy": patient.get("/sent/print").get_data(as_text=True),
    }
    weights = {name: page_weight(client, html) for name, html in pages.items()}
    assert all(w <= BUDGET for w in weights.values()), f"over {BUDGET:,} bytes: {weights}"
    assert {name: stylesheets(html) for name, html in pages.items()} == {name: [APP_CSS] for name in pages}


@pytest.mark.usefixtures("cheap_hashing")
def test_only_the_staff_area_loads_the_staff_stylesheet(app: Flask) -> None:
    """Every HTML page of the site walk: staff and sign-in pages, and the staff area's error pages (in
    the staff layout), load app.css then staff.css; patient pages and their error pages load app.css only."""
    staff_pages = {
        "sign-in page",
        "code page",
        "enrol",
        "password",
        "queue",
        "queue filtered",
        "submission",
        "print",
        "admin staff",
        "audit",
        "export",
        "sign-out",
        "403",
        "404 staff",
    }
    site = build_site(app)
    sheets = {
        label: stylesheets(response.get_data(as_text=True))
        for label, (_url, response) in site.items()
        if response.mimetype == "text/html" and not 300 <= response.status_code < 400
    }
    assert staff_pages <= sheets.keys()
    assert {"start", "question page", "check answers", "delete page", "outcome", "emergency page"} <= sheets.keys()
    assert sheets == {label: [APP_CSS, STAFF_CSS] if label in staff_pages else [APP_CSS] for label in sheets}
    assert "text/css" in site["static staff css"][1].content_type
