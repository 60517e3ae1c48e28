#!/usr/bin/env python3
"""Screenshots of every patient page (English and Spanish, normal and error states) and the main
staff pages, at phone (390 x 844) and desktop (1280 x 900) widths, for review: `make screenshots`.

Starts the app for real (gunicorn on a loopback port, a throw-away SQLite database, as the browser
tests do), walks the same tours as tests/browser/test_accessibility.py with Debian's chromium, and
writes full-page PNGs into screenshots/ (git-ignored; emptied first):

    screenshots/en-07-question-blood-errors-phone.png
    screenshots/staff-05-queue-desktop.png

Options: --out DIR, --languages en,es, --no-staff, --no-patient.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES: dict[str, Any] = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--languages", default="en,es")
    parser.add_argument("--no-staff", action="store_true")
    parser.add_argument("--no-patient", action="store_true")
    args = parser.parse_args()

    from playwright.sync_api import Page, sync_playwright

    from questionnaire import create_app
    from questionnaire.extensions import db
    from tests.browser.test_accessibility import context_for_tours, tour_patient_pages, tour_staff_pages
    from tests.servers import LiveServer

    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        print(f"Chromium is not installed at {chromium}: run `make browser`", file=sys.stderr)
        return 1
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()

    written: list[Path] = []

    def shoot(page: Page, prefix: str, name: str) -> None:
        original = page.viewport_size
        number = sum(1 for p in written if p.name.startswith(prefix + "-")) // len(SIZES) + 1
        for label, size in SIZES.items():
            page.set_viewport_size(size)
            path = out / f"{prefix}-{number:02d}-{slug(name)}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            written.append(path)
        if original:
            page.set_viewport_size(original)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        server = LiveServer(Path(tmp), name="screenshots")
        server.start()
        app = create_app({**server.app_config(), "TESTING": True})
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
                )
                try:
                    if not args.no_patient:
                        for language in [lang.strip() for lang in args.languages.split(",") if lang.strip()]:
                            context = context_for_tours(browser, bypass_csp=False)
                            page = context.new_page()

                            def visit(name: str, page: Page = page, language: str = language) -> None:
                                shoot(page, language, name)

                            tour_patient_pages(page, server, visit, language)
                            context.close()
                    if not args.no_staff:
                        tour_staff_pages(
                            browser, server, app, lambda page, name: shoot(page, "staff", name), bypass_csp=False
                        )
                finally:
                    browser.close()
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            server.stop()
    print(f"{len(written)} screenshots in {out} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
