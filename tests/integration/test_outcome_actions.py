"""Every outcome gives the patient a way to act: the booking link when booking is allowed, else the
clinic's phone as a tel: link; `make run`'s demonstration clinic books on a page that says so."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from questionnaire import create_app
from questionnaire.config import ConfigError

from ..conftest import test_settings
from ..helpers import PERSONAS, Patient, parse_html, visible_text


def outcome(app: Flask, persona: str) -> str:
    return Patient(app.test_client()).complete(PERSONAS[persona]).get_data(as_text=True)


def tel_links(html: str) -> list[str]:
    return [a.get("href") for a in parse_html(html).iter("a") if (a.get("href") or "").startswith("tel:")]


def test_booking_allowed_with_a_booking_page_offers_the_link_and_the_phone_as_a_tel_link(app: Flask) -> None:
    html = outcome(app, "none")
    assert app.config["BOOKING_URL"] in html
    assert "tel:01614960000" in tel_links(html)


def test_booking_allowed_without_a_booking_page_says_to_call_to_book(make_app: Any) -> None:
    app = make_app(BOOKING_URL="")
    html = outcome(app, "mention_at_consultation")
    assert "To book, call us on 0161 496 0000" in visible_text(html)
    assert tel_links(html).count("tel:01614960000") == 3  # to book, with questions, in the footer
    assert "Book an appointment" not in visible_text(html)


def test_booking_held_gives_no_booking_link_but_the_phone(app: Flask) -> None:
    html = outcome(app, "discuss_before_booking")
    assert app.config["BOOKING_URL"] not in html and "To book, call us" not in html
    assert "tel:01614960000" in tel_links(html)


def test_the_demonstration_booking_page_exists_only_when_switched_on(make_app: Any) -> None:
    assert make_app().test_client().get("/demo-booking").status_code == 404
    demo = make_app(DEMO_BOOKING=True, BOOKING_URL="/demo-booking")
    page = demo.test_client().get("/demo-booking")
    assert page.status_code == 200 and "a demonstration, not a real clinic" in page.get_data(as_text=True)


def test_production_refuses_the_demonstration_booking(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="FLASK_DEMO_BOOKING"):
        create_app(
            test_settings(
                f"sqlite:///{tmp_path}/p.db", PRODUCTION=True, DEMO_BOOKING=True, TESTING=False, SECRET_KEY="x" * 64
            )
        )
