"""Human-readable narratives (`text`, FHIR dom-6) for the FHIR resources of core/fhir.py (no Flask).

Each is a short XHTML fragment, `{"status": "generated", "div": "<div xmlns=...>...</div>"}`, made
from the resource itself: nothing in it that the structured data does not say. Every text is
escaped (a patient's free text can hold <, & or quotes); only the tags FHIR's narrative allows
are used (div, p, b, ul, li).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

XHTML = "http://www.w3.org/1999/xhtml"


def narrative(parts: Iterable[str]) -> dict[str, str]:
    """`parts` are XHTML fragments already escaped."""
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{"".join(parts)}</div>'}


def questionnaire_text(resource: Mapping[str, Any]) -> dict[str, str]:
    pages = resource.get("item") or []
    questions = sum(len(page.get("item") or []) for page in pages)
    return narrative(
        [
            f"<p><b>{escape(str(resource.get('title', '')))}</b> (version {escape(str(resource.get('version', '')))}): "
            f"{len(pages)} pages, {questions} questions.</p>",
            "<ul>",
            *(f"<li>{escape(str(page.get('text', '')))}</li>" for page in pages),
            "</ul>",
        ]
    )


def answer_text(answer: Mapping[str, Any]) -> str:
    if "valueCoding" in answer:
        coding = answer["valueCoding"]
        return str(coding.get("display") or coding.get("code", ""))
    for key in ("valueString", "valueInteger", "valueDecimal", "valueBoolean"):
        if key in answer:
            return str(answer[key])
    return ""


def response_text(resource: Mapping[str, Any], level: str | None, flags: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The reference, status, date, level and fired rules, then each answered question with its answer."""
    rules = ", ".join(str(f.get("code", {}).get("text", "")) for f in flags)
    lines = []
    for page in resource.get("item") or []:
        for item in page.get("item") or []:
            answers = "; ".join(answer_text(a) for a in item.get("answer") or [])
            lines.append(f"<li>{escape(str(item.get('text', '')))}: <b>{escape(answers)}</b></li>")
    head = (
        f"<p>Questionnaire response <b>{escape(str(resource.get('id', '')))}</b>, "
        f"{escape(str(resource.get('status', '')))}, {escape(str(resource.get('authored', '')))}"
        + (f"; level {escape(level)}" if level else "")
        + (f"; rules: {escape(rules)}" if rules else "")
        + ".</p>"
    )
    return narrative([head, "<ul>", *lines, "</ul>"] if lines else [head])


def flag_text(flag: Mapping[str, Any], level: str) -> dict[str, str]:
    rule = str(flag.get("code", {}).get("text", ""))
    return narrative(
        [
            f"<p>Rule <b>{escape(rule)}</b> fired: level {escape(level)}. "
            f"{escape(str(flag.get('subject', {}).get('display', '')))}.</p>"
        ]
    )
