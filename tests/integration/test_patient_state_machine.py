"""A patient who goes next, back, changes earlier answers and sends again at random, through the
Flask test client: what is stored is always the visible part of the last answers they gave."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import Question
from questionnaire.data import store

from ..helpers import Patient, error_summary_links, parse_html, session_data

URGENT_PAGE = {q.id for q in QUESTIONNAIRE.page("urgent").questions}


def answer_strategy(q: Question) -> st.SearchStrategy[Any]:
    """A well-formed answer, as a browser sends it: mostly "no" on the urgent page, so that walks go on."""
    if q.kind in ("yn", "ynu", "single"):
        return st.sampled_from(["no"] * 40 + list(q.values) if q.id in URGENT_PAGE else list(q.values))
    if q.kind == "multi":
        exclusive = [v for v in q.values if v in q.exclusive_values]
        others = [v for v in q.values if v not in q.exclusive_values]
        some = st.lists(st.sampled_from(others), min_size=1, max_size=3, unique=True).map(
            lambda vs: sorted(vs, key=q.values.index)
        )  # checkboxes arrive in page order
        return st.one_of(some, st.sampled_from(exclusive).map(lambda v: [v])) if exclusive else some
    if q.kind == "int":
        return st.integers(q.min or 0, q.max or 0)
    if q.id == "contact_phone":
        return st.sampled_from(["0161 496 0001", ""])
    if q.id == "contact_email":
        return st.sampled_from(["", "alex@example.com"])
    if q.optional:
        return st.sampled_from(["", "Left knee", "Itchy rash, 2023"])
    return st.sampled_from(["none", "Aspirin 75 mg"])


def as_stored(q: Question, value: Any) -> Any:
    return int(value) if q.kind == "int" else value


class PatientMachine(RuleBasedStateMachine):
    """`given` is the last answer given to each question, page by page. An answer to a question the
    patient is no longer shown is dropped when it is hidden (as the issue requires): if the question
    comes back, the patient must answer it again."""

    app: Flask

    def __init__(self) -> None:
        super().__init__()
        self.patient = Patient(self.app.test_client())
        self.patient.start()
        self.where = "/questions/urgent"
        self.given: dict[str, Any] = {}
        self.expected: dict[str, Any] | None = None  # the submission, once sent
        self.reference: str | None = None

    # --- where the patient is ---

    def visit(self, url: str) -> str:
        """GET a page, following redirects, like a browser; return the HTML of where it ends."""
        for _ in range(5):
            response = self.patient.get(url)
            if response.status_code == 302:
                url = response.location
                continue
            assert response.status_code == 200, (url, response.status_code)
            self.where = url
            return response.get_data(as_text=True)
        raise AssertionError(f"redirect loop at {url}")

    def on_question_page(self) -> bool:
        return self.expected is None and self.where.startswith("/questions/")

    def on_check_page(self) -> bool:
        return self.expected is None and self.where == "/check-answers"

    def page_id(self) -> str:
        return self.where.split("?")[0].removeprefix("/questions/")

    def sent(self) -> bool:
        return self.expected is not None

    # --- what the patient does ---

    @precondition(on_question_page)
    @rule(data=st.data(), pages=st.integers(1, 8), first_with_nothing=st.booleans())
    def answer_pages_and_continue(self, data: st.DataObject, pages: int, first_with_nothing: bool) -> None:
        """Answer the page and select Continue, then the next ones: up to `pages` pages in a row
        (sometimes selecting Continue with nothing first)."""
        if first_with_nothing:
            self.continue_with_nothing()
        for _ in range(pages):
            if not self.on_question_page():
                break
            self.answer_one_page(data)
        self.visit(self.where)

    def answer_one_page(self, data: st.DataObject) -> None:
        page_id, back_to_check = self.page_id(), "return=check" in self.where
        shown = flow.shown_questions(page_id, self.given)
        posted = {q.id: data.draw(answer_strategy(q), label=q.id) for q in shown}
        if page_id == "contact" and not posted.get("contact_phone") and not posted.get("contact_email"):
            posted["contact_phone"] = "0161 496 0001"
        response = self.patient.post(self.where, {k: str(v) if isinstance(v, int) else v for k, v in posted.items()})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        for q in shown:
            self.given.pop(q.id, None)
        self.given.update({q.id: as_stored(q, posted[q.id]) for q in shown if posted[q.id] not in ("", [])})
        self.given = flow.visible_answers(self.given)
        if response.location == "/get-help-now":
            self.expected = dict(self.given)
            self.where = response.location
            return
        if not back_to_check:
            following = flow.next_page(page_id, self.given)
            assert following is not None
            expected = "/check-answers" if following.id == "declaration" else f"/questions/{following.id}"
            assert response.location == expected
        else:
            assert response.location == "/check-answers" or "?return=check" in response.location
        self.where = response.location  # the rule GETs the last page only

    def continue_with_nothing(self) -> None:
        shown = flow.shown_questions(self.page_id(), self.given)
        required = [q for q in shown if not q.optional]
        response = self.patient.post(self.where, {})
        if not required:
            # A page of optional questions sent empty: its earlier answers are cleared.
            assert response.status_code == 302
            for q in shown:
                self.given.pop(q.id, None)
            self.given = flow.visible_answers(self.given)
            self.visit(response.location)
            return
        assert response.status_code == 200
        links = dict(error_summary_links(response.get_data(as_text=True)))
        assert {f"#{q.id}" for q in required} <= set(links)

    @precondition(lambda self: self.on_question_page() or self.on_check_page())
    @rule(by_address=st.booleans(), page=st.sampled_from([p.id for p in QUESTIONNAIRE.pages]))
    def go_back_or_open_a_page_by_its_address(self, by_address: bool, page: str) -> None:
        if by_address:
            self.visit(f"/questions/{page}")
            return
        if self.where == "/questions/urgent":
            return
        html = self.visit(self.where)
        [back] = [a.get("href") for a in parse_html(html).iter("a") if "back-link" in (a.get("class") or "")]
        came_from = parse_qs(urlsplit(self.where).query).get("from", [""])[0]
        if came_from:  # a page a Change led on to: Back returns to the page just changed
            assert back == f"/questions/{came_from}?return=check"
        elif self.where.endswith("return=check"):
            assert back == "/check-answers"
        else:
            current = "declaration" if self.where == "/check-answers" else self.page_id()
            previous = flow.previous_page(current, self.given)
            assert previous is not None and back == f"/questions/{previous.id}"
        self.visit(back)

    @precondition(on_check_page)
    @rule(data=st.data(), then_continue=st.booleans())
    def change_an_earlier_answer(self, data: st.DataObject, then_continue: bool) -> None:
        """Follow a Change link; then (usually) answer until the summary is back."""
        html = self.visit("/check-answers")
        if self.where != "/check-answers":
            return
        links = sorted(
            {
                a.get("href").split("#")[0]
                for a in parse_html(html).iter("a")
                if "".join(a.itertext()).startswith("Change")
            }
        )
        self.visit(data.draw(st.sampled_from(links), label="change link"))
        for _ in range(6 if then_continue else 0):
            if not self.on_question_page():
                break
            self.answer_one_page(data)
        self.visit(self.where)

    @precondition(on_check_page)
    @rule(declaration=st.booleans())
    def send(self, declaration: bool) -> None:
        if not declaration:
            response = self.patient.post("/check-answers", {})
            assert response.status_code == 200
            assert error_summary_links(response.get_data(as_text=True)) == [
                ("#declaration", "Confirm the declaration to send your answers")
            ]
            return
        response = self.patient.post("/check-answers", {"declaration": "yes"})
        assert response.status_code == 302 and response.location == "/sent", response.location
        self.expected = self.given | {"declaration": "yes"}
        self.visit("/sent")

    @precondition(sent)
    @rule(
        how=st.sampled_from(["send again", "refresh", "back to check", "old page", "start page"]),
        page=st.sampled_from([p.id for p in QUESTIONNAIRE.pages if p.id != "declaration"]),
    )
    def send_again_or_go_back_after_sending(self, how: str, page: str) -> None:
        outcome = "/get-help-now" if "declaration" not in (self.expected or {}) else "/sent"
        if how == "send again":
            assert self.patient.post("/check-answers", {"declaration": "yes"}).location == outcome
        elif how == "refresh":
            assert self.reference is not None and self.reference in self.visit(outcome)
        elif how == "back to check":
            assert self.patient.get("/check-answers").location == outcome
        elif how == "old page":
            response = self.patient.post(f"/questions/{page}", {"chest_pain_now": "yes", "blood_thinner": "yes"})
            assert response.status_code == 409
            assert "Your answers were already sent" in response.get_data(as_text=True)
        else:  # the start page offers a new form, not the sent answers
            start = self.patient.get("/").get_data(as_text=True)
            assert "Start now" in start and "Continue your answers" not in start

    # --- what must always hold ---

    @invariant()
    def stored_answers_are_the_visible_part_of_the_last_answers_given(self) -> None:
        token = session_data(self.patient.client).get("draft")
        with self.app.app_context():
            draft = store.find_draft(token)
            assert draft is not None
            sub = store.submission_for_draft(draft)
            if self.expected is None:
                assert sub is None
                assert draft.answers == self.given
                return
            assert sub is not None
            assert sub.answers == self.expected == flow.visible_answers(self.expected)
            ruleset = self.app.extensions["ruleset"]
            if "declaration" in self.expected:
                assert sub.level == ruleset.evaluate(self.expected).level
            else:
                assert sub.stopped_early and sub.level == "urgent"
            if self.reference is None:
                self.reference = sub.reference
            assert sub.reference == self.reference


def test_random_walks_store_the_visible_part_of_the_last_answers_given(app: Flask) -> None:
    PatientMachine.app = app
    run_state_machine_as_test(
        PatientMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
