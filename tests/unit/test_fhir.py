"""FHIR R4 exports (questionnaire/core/fhir.py): valid resources, enableWhen equal to the shown-when
conditions, a version that follows the definition, and QuestionnaireResponses that round-trip.

The resources are validated with the models of `fhir.resources` (its R4B package: FHIR 4.3.0, whose
Questionnaire, QuestionnaireResponse, Flag and Bundle have the same elements as R4 4.0.1). Those
models check structure, cardinality and data types but not the required code bindings or the
resources' invariants, so `r4_problems()` below checks those that apply to what we produce.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from questionnaire.core import fhir, fhir_bundle, flow
from questionnaire.core.definition import PAGES_DEFINITION, QUESTIONNAIRE
from questionnaire.core.questions import Choice, Questionnaire, build, multi, number, page, single, text, yn, ynu
from questionnaire.core.rules import load_ruleset
from questionnaire.data.store import fired_to_json

from ..helpers import EVERY_PAGE, NO_FLAGS, PERSONAS

RULESET = load_ruleset()
CREATED = datetime(2026, 11, 29, 9, 30, 12, tzinfo=UTC)

# Extra answer sets: every kind, every follow-up page, the "means all" and exclusive choices.
EXTRA: dict[str, dict[str, Any]] = {
    "every page": EVERY_PAGE,
    "not sure everywhere": {
        **NO_FLAGS,
        "recent_ozone_7d": "not_sure",
        "post_ozone_red_flags": ["not_sure"],
        "respondent_role": "family_or_carer",
        "patient_age_years": 0,
        "decision_help": "not_sure",
        "treatment_types": ["not_sure"],
        "injection_body_area": "Lower back, near L4",
        "hot_swollen_joint": "not_sure",
        "pregnant": "prefer_private",
        "prior_ozone": "yes",
        "prior_ozone_types": ["not_sure"],
        "prior_ozone_problem": "not_sure",
        "prior_ozone_problem_type": ["fainting", "something_else", "rash"],
        "allergy_items": ["latex", "heparin", "plasters_tape"],
        "contact_time": "any_time",
        "medicines_list": "Apixaban 5 mg twice a day\nVitamin D\n\u00c1cido f\u00f3lico \u2014 \u201cfolic acid\u201d",
    },
    "drip only, oldest": {
        **NO_FLAGS,
        "treatment_types": ["blood_drip"],
        "patient_age_years": 120,
        "injection_body_area": "ignored: hidden for a drip",
    },
    "urgent stop on the first page": {
        "chest_pain_now": "yes",
        "breathing_trouble_now": "no",
        "stroke_signs_now": "no",
        "recent_ozone_7d": "yes",
        "unwell_now": "no",
    },
}
ANSWER_SETS = {**{f"persona {k}": v for k, v in PERSONAS.items()}, **EXTRA}


def response_for(
    answers: Mapping[str, Any],
    reference: str = "ABCD-EFGH",
    *,
    stopped_early: bool = False,
    qn: Questionnaire = QUESTIONNAIRE,
    **kw: Any,
) -> dict[str, Any]:
    ruleset = RULESET if qn is QUESTIONNAIRE else None
    assessment = ruleset.evaluate(answers) if ruleset else None
    return fhir.questionnaire_response(
        answers,
        reference=reference,
        created=CREATED,
        language="en",
        fired=[fired_to_json(f) for f in assessment.fired] if assessment else [],
        ruleset_version=RULESET.version,
        ruleset_sha256=RULESET.sha256,
        level=assessment.level if assessment else None,
        stopped_early=stopped_early,
        qn=qn,
        **kw,
    )


# --- R4 code bindings and invariants that the pydantic models do not check -----------------------

R4_ITEM_TYPES = {
    "group",
    "display",
    "boolean",
    "decimal",
    "integer",
    "date",
    "dateTime",
    "time",
    "string",
    "text",
    "url",
    "choice",
    "open-choice",
    "attachment",
    "reference",
    "quantity",
}
R4_OPERATORS = {"exists", "=", "!=", ">", "<", ">=", "<="}


def walk(items: Any, depth: int = 0) -> Iterator[tuple[dict[str, Any], int]]:
    for item in items or ():
        yield item, depth
        yield from walk(item.get("item"), depth + 1)


def questionnaire_problems(q: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if q.get("status") not in {"draft", "active", "retired", "unknown"}:
        problems.append(f"status {q.get('status')!r}")
    items = {}
    seen: list[str] = []
    for item, _depth in walk(q["item"]):
        link = item["linkId"]
        if link in items:
            problems.append(f"que-2: duplicate linkId {link}")
        items[link] = item
        t = item.get("type")
        if t not in R4_ITEM_TYPES:
            problems.append(f"{link}: type {t!r}")
        if t == "group" and not item.get("item"):
            problems.append(f"que-1: group {link} has no items")
        if "answerOption" in item and t not in ("choice", "open-choice"):
            problems.append(f"que-5: {link} has options but is {t}")
        if "maxLength" in item and t not in ("string", "text", "url", "open-choice"):
            problems.append(f"que-10: {link} has maxLength but is {t}")
        when = item.get("enableWhen") or []
        if (len(when) > 1) != ("enableBehavior" in item):
            problems.append(f"que-12: {link} enableBehavior with {len(when)} enableWhen")
        if item.get("enableBehavior") not in (None, "all", "any"):
            problems.append(f"{link}: enableBehavior {item['enableBehavior']!r}")
        for ew in when:
            answer_keys = [k for k in ew if k.startswith("answer")]
            if ew["operator"] not in R4_OPERATORS or len(answer_keys) != 1:
                problems.append(f"{link}: enableWhen {ew}")
                continue
            if ew["operator"] == "exists" and answer_keys != ["answerBoolean"]:
                problems.append(f"que-7: {link}")
            target = items.get(ew["question"])
            if target is None or ew["question"] not in seen:
                problems.append(f"{link}: enableWhen refers to {ew['question']!r}, not an earlier item")
            elif "answerCoding" in ew and ew["answerCoding"] not in [o["valueCoding"] for o in target["answerOption"]]:
                problems.append(f"{link}: enableWhen value {ew['answerCoding']} is not an option of {ew['question']}")
        for option in item.get("answerOption") or ():
            for ext in option.get("extension") or ():
                if ext["url"] == fhir.EXT_OPTION_EXCLUSIVE and not item.get("repeats"):
                    problems.append(f"{link}: an exclusive option on a non-repeating item")
        seen.append(link)
    return problems


def response_problems(r: Mapping[str, Any], q: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if r.get("status") not in {"in-progress", "completed", "amended", "entered-in-error", "stopped"}:
        problems.append(f"status {r.get('status')!r}")
    if r["questionnaire"] != f"{q['url']}|{q['version']}":
        problems.append("questionnaire does not point at this Questionnaire version")
    defined = {item["linkId"]: (item, depth) for item, depth in walk(q["item"])}
    order = list(defined)
    last = -1
    for item, depth in walk(r.get("item")):
        link = item["linkId"]
        if link not in defined or defined[link][1] != depth:
            problems.append(f"{link}: not an item of the Questionnaire at this depth")
            continue
        if order.index(link) < last:
            problems.append(f"{link}: out of the Questionnaire's order")
        last = order.index(link)
        definition = defined[link][0]
        if "answer" in item and "item" in item:
            problems.append(f"qrs-1: {link} has both answers and items")
        answers = item.get("answer") or []
        if len(answers) > 1 and not definition.get("repeats"):
            problems.append(f"{link}: several answers to a non-repeating item")
        for a in answers:
            if definition["type"] == "choice" and a.get("valueCoding") not in [
                o["valueCoding"] for o in definition["answerOption"]
            ]:
                problems.append(f"{link}: {a} is not one of the options")
    # dom-3: every contained resource is referred to from elsewhere in the resource.
    text = json.dumps({k: v for k, v in r.items() if k != "contained"})
    for c in r.get("contained") or ():
        if c.get("resourceType") != "Flag" or c.get("status") not in {"active", "inactive", "entered-in-error"}:
            problems.append(f"contained {c.get('id')}: not an active Flag")
        if f'"#{c["id"]}"' not in text:
            problems.append(f"dom-3: contained {c['id']} is not referenced")
    return problems


QUESTIONNAIRE_RESOURCE = fhir.questionnaire_resource()


# --- the Questionnaire -------------------------------------------------------------------------


def test_the_questionnaire_validates_against_the_fhir_models() -> None:
    model = FhirQuestionnaire.model_validate(QUESTIONNAIRE_RESOURCE)
    assert model.status == "active" and model.url == fhir.DEFAULT_URL
    assert questionnaire_problems(QUESTIONNAIRE_RESOURCE) == []
    # What a FHIR library writes back out is the same resource.
    assert json.loads(model.model_dump_json()) == json.loads(json.dumps(QUESTIONNAIRE_RESOURCE))


def test_every_page_is_a_group_and_every_question_an_item_with_its_type_options_and_required_flag() -> None:
    groups = QUESTIONNAIRE_RESOURCE["item"]
    assert [g["linkId"] for g in groups] == ["page:" + p.id for p in QUESTIONNAIRE.pages]
    expected_type = {"yn": "choice", "ynu": "choice", "single": "choice", "multi": "choice", "int": "integer"}
    for group, p in zip(groups, QUESTIONNAIRE.pages):
        assert group["type"] == "group" and group["text"] == p.title
        assert [i["linkId"] for i in group["item"]] == [q.id for q in p.questions]
        for item, q in zip(group["item"], p.questions):
            assert item["text"] == q.text
            assert item["type"] == expected_type.get(q.kind, "text" if q.multiline else "string")
            assert item["required"] is (not q.optional)
            assert item.get("repeats", False) is (q.kind == "multi")
            if q.kind in fhir.CHOICE_KINDS:
                assert [(o["valueCoding"]["code"], o["valueCoding"]["display"]) for o in item["answerOption"]] == [
                    (c.value, c.label) for c in q.choices
                ]
                exclusive = [
                    o["valueCoding"]["code"]
                    for o in item["answerOption"]
                    if {"url": fhir.EXT_OPTION_EXCLUSIVE, "valueBoolean": True} in o.get("extension", [])
                ]
                assert set(exclusive) == q.exclusive_values
            if q.kind == "int":
                assert {"url": fhir.EXT_MIN_VALUE, "valueInteger": q.min} in item["extension"]
                assert {"url": fhir.EXT_MAX_VALUE, "valueInteger": q.max} in item["extension"]
            if q.kind == "text":
                assert item["maxLength"] == q.max_length
            assert ("enableWhen" in item) is (q.shown_when is not None)


def test_follow_up_pages_are_enabled_when_any_of_their_questions_is() -> None:
    groups = {g["linkId"].removeprefix("page:"): g for g in QUESTIONNAIRE_RESOURCE["item"]}
    assert groups["urgent-follow-up"]["enableBehavior"] == "any"
    assert [ew["answerCoding"]["code"] for ew in groups["urgent-follow-up"]["enableWhen"]] == ["yes", "not_sure"]
    # Each follow-up is shown after "yes" or "not sure" (R1): one enableWhen per value.
    assert [ew["question"] for ew in groups["hormones-follow-up"]["enableWhen"]] == [
        "overactive_thyroid",
        "overactive_thyroid",
        "diabetes",
        "diabetes",
    ]
    for p in QUESTIONNAIRE.pages:
        assert ("enableWhen" in groups[p.id]) is all(q.shown_when is not None for q in p.questions), p.id


def _fhir_enabled(resource: Mapping[str, Any], answers: Mapping[str, Any]) -> set[str]:
    """An independent reading of FHIR's enableWhen rules: the linkIds of the enabled questions.

    An item is enabled when its parent is and its enableWhen holds ("=" is true when any answer
    equals the value); a disabled item's answers do not count.
    """
    counted: dict[str, list[Any]] = {}

    def holds(ew: Mapping[str, Any]) -> bool:
        given = counted.get(ew["question"], [])
        if ew["operator"] == "exists":
            return bool(given) is bool(ew["answerBoolean"])
        if "answerCoding" in ew:
            value = ew["answerCoding"]["code"]
        else:
            value = next(v for k, v in ew.items() if k.startswith("answer"))
        compare: Callable[[Any], bool] = {
            "=": lambda a: a == value,
            "!=": lambda a: a != value,
            "<": lambda a: a < value,
            "<=": lambda a: a <= value,
            ">": lambda a: a > value,
            ">=": lambda a: a >= value,
        }[ew["operator"]]
        return any(compare(a) for a in given)

    def enabled(item: Mapping[str, Any]) -> bool:
        results = [holds(ew) for ew in item.get("enableWhen") or ()]
        if not results:
            return True
        return all(results) if item.get("enableBehavior") == "all" else any(results)

    out: set[str] = set()
    for group in resource["item"]:
        if not enabled(group):
            continue
        for item in group["item"]:
            if enabled(item):
                out.add(item["linkId"])
                value = answers.get(item["linkId"])
                if value is not None and value != [] and value != "":
                    counted[item["linkId"]] = value if isinstance(value, list) else [value]
    return out


def _flow_shown(answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> set[str]:
    return {q.id for p in flow.shown_pages(answers, qn) for q in flow.shown_questions(p.id, answers, qn)}


def _answer_strategy(q: Any) -> st.SearchStrategy[Any]:
    if q.kind in ("yn", "ynu", "single"):
        return st.sampled_from(q.values)
    if q.kind == "multi":
        plain = [v for v in q.values if v not in q.exclusive_values]
        exclusive = sorted(q.exclusive_values)
        subsets = st.lists(st.sampled_from(plain), min_size=1, unique=True) if plain else st.nothing()
        return subsets | (st.sampled_from(exclusive).map(lambda v: [v]) if exclusive else st.nothing())
    if q.kind == "int":
        return st.integers(q.min, q.max)
    return st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(str.strip)


ANY_ANSWERS = st.fixed_dictionaries({}, optional={q.id: _answer_strategy(q) for q in QUESTIONNAIRE.questions.values()})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_ANSWERS)
def test_fhir_enable_when_shows_exactly_the_questions_the_form_shows(answers: dict[str, Any]) -> None:
    assert _fhir_enabled(QUESTIONNAIRE_RESOURCE, answers) == _flow_shown(answers)


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_fhir_enable_when_matches_the_form_for_the_named_answer_sets(name: str) -> None:
    assert _fhir_enabled(QUESTIONNAIRE_RESOURCE, ANSWER_SETS[name]) == _flow_shown(ANSWER_SETS[name])


def test_the_version_is_stable_and_names_the_definition() -> None:
    again = build(PAGES_DEFINITION)
    assert fhir.questionnaire_resource(again)["version"] == QUESTIONNAIRE_RESOURCE["version"]
    assert QUESTIONNAIRE_RESOURCE["version"] == fhir.definition_digest()[:12]
    assert fhir.canonical() == f"{fhir.DEFAULT_URL}|{QUESTIONNAIRE_RESOURCE['version']}"
    other = fhir.questionnaire_resource(url="https://clinic.example/fhir/Questionnaire/ozone")
    assert other["url"] == "https://clinic.example/fhir/Questionnaire/ozone"
    assert other["version"] == QUESTIONNAIRE_RESOURCE["version"]


def _changed(page_id: str, question_id: str, **changes: Any) -> Questionnaire:
    pages = tuple(
        replace(p, questions=tuple(replace(q, **changes) if q.id == question_id else q for q in p.questions))
        if p.id == page_id
        else p
        for p in PAGES_DEFINITION
    )
    return build(pages)


@pytest.mark.parametrize(
    "page_id, question_id, changes",
    [
        ("circulation", "high_bp", {"text": "Do you have high blood pressure (hypertension)?"}),
        ("about", "respondent_role", {"choices": (Choice("patient", "Me"), Choice("someone_else", "Someone else"))}),
        ("blood-follow-up", "blood_thinner_name", {"shown_when": {"q": "blood_thinner", "eq": "yes"}}),
        ("about", "patient_age_years", {"max": 110}),
        ("other", "other_concerns", {"optional": False, "error": "Tell us, or write none"}),
        ("circulation", "high_bp", {"why": "A different explanation."}),
    ],
)
def test_the_version_changes_whenever_the_definition_changes(
    page_id: str, question_id: str, changes: dict[str, Any]
) -> None:
    modified = _changed(page_id, question_id, **changes)
    resource = fhir.questionnaire_resource(modified)
    assert resource["version"] != QUESTIONNAIRE_RESOURCE["version"]
    assert FhirQuestionnaire.model_validate(resource)
    # A response made with the modified definition names the modified version.
    assert response_for(NO_FLAGS, qn=modified)["questionnaire"].endswith("|" + resource["version"])


def test_a_page_title_change_changes_the_version() -> None:
    pages = tuple(replace(p, title="Heart and circulation") if p.id == "heart" else p for p in PAGES_DEFINITION)
    assert fhir.questionnaire_version(build(pages)) != QUESTIONNAIRE_RESOURCE["version"]


# --- conditions enableWhen can and cannot express ------------------------------------------------


def _small(*conditional: Any) -> Questionnaire:
    return build(
        (
            page(
                "first",
                "First",
                ynu("a", "A?", "Answer A"),
                multi("m", "M?", "Answer M", choices=[("x", "X"), ("y", "Y"), ("z", "Z"), ("none_of_these", "None")]),
                number("n", "N?", "Answer N", min=0, max=99),
                text("t", "T?", optional=True),
                single("s", "S?", "Answer S", choices=[("p", "P"), ("q", "Q")]),
            ),
            page("second", "Second", *conditional),
        )
    )


def _item(qn: Questionnaire, link: str) -> dict[str, Any]:
    resource = fhir.questionnaire_resource(qn)
    assert FhirQuestionnaire.model_validate(resource)
    assert questionnaire_problems(resource) == []
    return next(i for i, _d in walk(resource["item"]) if i["linkId"] == link)


@pytest.mark.parametrize(
    "condition, operators, behavior",
    [
        ({"q": "a", "eq": "yes"}, [("=", "yes")], None),
        ({"q": "a", "in": ["yes", "not_sure"]}, [("=", "yes"), ("=", "not_sure")], "any"),
        ({"q": "m", "any_of": ["x", "y"]}, [("=", "x"), ("=", "y")], "any"),
        ({"q": "m", "all_of": ["x", "y"]}, [("=", "x"), ("=", "y")], "all"),
        ({"q": "n", "lt": 18}, [("<", 18)], None),
        ({"q": "n", "ge": 65}, [(">=", 65)], None),
        ({"q": "t", "nonempty": True}, [("exists", True)], None),
        ({"q": "a", "answered": True}, [("exists", True)], None),
        ({"q": "a", "unanswered": True}, [("exists", False)], None),
        ({"all": [{"q": "a", "eq": "yes"}, {"q": "s", "eq": "p"}]}, [("=", "yes"), ("=", "p")], "all"),
        (
            {"any": [{"q": "a", "in": ["yes", "not_sure"]}, {"q": "n", "gt": 80}]},
            [("=", "yes"), ("=", "not_sure"), (">", 80)],
            "any",
        ),
    ],
)
def test_expressible_conditions_become_enable_when(
    condition: dict[str, Any], operators: list[tuple[str, Any]], behavior: str | None
) -> None:
    qn = _small(yn("c", "C?", "Answer C", shown_when=condition))
    item = _item(qn, "c")
    got = [
        (ew["operator"], ew.get("answerCoding", {}).get("code", ew.get("answerInteger", ew.get("answerBoolean"))))
        for ew in item["enableWhen"]
    ]
    assert got == operators
    assert item.get("enableBehavior") == behavior
    assert item["required"] is True and fhir.EXT_SHOWN_WHEN not in json.dumps(item)
    resource = fhir.questionnaire_resource(qn)
    for answers in (
        {},
        {"a": "yes"},
        {"a": "no", "s": "p"},
        {"a": "yes", "s": "p"},
        {"m": ["x"]},
        {"m": ["x", "y"]},
        {"n": 17},
        {"n": 18},
        {"n": 81},
        {"n": 65},
        {"t": "hello"},
        {"a": "not_sure", "n": 90},
    ):
        assert _fhir_enabled(resource, answers) == _flow_shown(answers, qn), answers


@pytest.mark.parametrize(
    "condition",
    [
        {"not": {"q": "a", "eq": "yes"}},
        {"q": "m", "none_of": ["x"]},
        {"all": [{"q": "a", "in": ["yes", "not_sure"]}, {"q": "s", "eq": "p"}]},
        {"any": [{"q": "m", "all_of": ["x", "y"]}, {"q": "s", "eq": "p"}]},
        {"all": [{"any": [{"q": "a", "eq": "yes"}, {"q": "s", "eq": "p"}]}, {"q": "n", "gt": 1}]},
    ],
)
def test_conditions_enable_when_cannot_express_are_carried_as_json_and_the_item_is_never_hidden(
    condition: dict[str, Any],
) -> None:
    item = _item(_small(ynu("c", "C?", "Answer C", shown_when=condition)), "c")
    assert "enableWhen" not in item and "enableBehavior" not in item
    assert item["required"] is False
    (ext,) = [e for e in item["extension"] if e["url"] == fhir.EXT_SHOWN_WHEN]
    assert json.loads(ext["valueString"]) == condition
    group = _item(_small(ynu("c", "C?", "Answer C", shown_when=condition)), "page:second")
    assert "enableWhen" not in group


# --- the QuestionnaireResponse -----------------------------------------------------------------


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_a_response_validates_and_round_trips(name: str) -> None:
    answers = ANSWER_SETS[name]
    visible = flow.visible_answers(answers)
    resource = response_for(answers)
    model = QuestionnaireResponse.model_validate(resource)
    assert response_problems(resource, QUESTIONNAIRE_RESOURCE) == []
    assert fhir.response_answers(resource) == visible
    # Through JSON text and through what a FHIR library writes back out: the same answers.
    assert fhir.response_answers(json.loads(json.dumps(resource))) == visible
    assert fhir.response_answers(json.loads(model.model_dump_json())) == visible
    if name.startswith("persona"):
        assert visible == answers  # the personas answer only questions they are shown


@pytest.mark.parametrize("name", PERSONAS)
def test_a_persona_response_carries_its_flags_level_and_rule_set(name: str) -> None:
    answers = PERSONAS[name]
    assessment = RULESET.evaluate(answers)
    assert assessment.level == name
    resource = response_for(answers, reference="WXYZ-2345")
    assert fhir.response_flags(resource) == [
        {"id": f.id, "level": f.level, "triggers": list(f.triggers)} for f in assessment.fired
    ]
    flags = resource.get("contained", [])
    assert len(flags) == len(assessment.fired)
    for flag, fired in zip(flags, assessment.fired):
        assert flag["code"]["coding"] == [{"system": fhir.RULE_SYSTEM, "code": fired.id}]
        assert flag["category"][0]["coding"][0]["code"] == fired.level
    assert fhir.response_meta(resource) == {
        "reference": "WXYZ-2345",
        "status": "completed",
        "authored": "2026-11-29T09:30:12Z",
        "language": "en",
        "questionnaire": fhir.canonical(),
        "level": name,
        "ruleset_version": RULESET.version,
        "ruleset_sha256": RULESET.sha256,
    }
    assert resource["id"] == "WXYZ-2345"
    assert resource["identifier"] == {"system": fhir.REFERENCE_SYSTEM, "value": "WXYZ-2345"}


def test_an_urgent_early_stop_is_in_progress_and_holds_only_what_was_answered() -> None:
    answers = EXTRA["urgent stop on the first page"]
    resource = response_for(answers, stopped_early=True)
    assert resource["status"] == "in-progress"
    assert QuestionnaireResponse.model_validate(resource)
    assert [g["linkId"] for g in resource["item"]] == ["page:urgent"]
    assert fhir.response_answers(resource) == answers
    assert fhir.response_meta(resource)["level"] == "urgent"
    assert any(f["level"] == "urgent" for f in fhir.response_flags(resource))


def test_answers_to_hidden_questions_are_not_exported() -> None:
    answers = {**NO_FLAGS, "blood_thinner": "no", "blood_thinner_name": "warfarin", "lung_flare_4w": "yes"}
    resource = response_for(answers)
    link_ids = {i["linkId"] for i, _d in walk(resource["item"])}
    assert "blood_thinner_name" not in link_ids and "lung_flare_4w" not in link_ids
    assert "page:blood-follow-up" not in link_ids
    assert "warfarin" not in json.dumps(resource)


def test_created_times_are_written_in_utc() -> None:
    madrid = timezone(timedelta(hours=1))
    resource = fhir.questionnaire_response(
        NO_FLAGS,
        reference="ABCD-EFGH",
        created=datetime(2026, 11, 29, 10, 0, tzinfo=madrid),
        language="es",
        fired=[],
        ruleset_version="1",
        ruleset_sha256="0" * 64,
    )
    assert resource["authored"] == "2026-11-29T09:00:00Z"
    assert resource["language"] == "es" and "contained" not in resource
    assert QuestionnaireResponse.model_validate(resource)


def test_fired_rules_are_accepted_as_stored_dicts_or_as_fired_rule_objects() -> None:
    assessment = RULESET.evaluate(PERSONAS["discuss_before_booking"])
    from_objects = fhir.questionnaire_response(
        PERSONAS["discuss_before_booking"],
        reference="ABCD-EFGH",
        created=CREATED,
        language="en",
        fired=assessment.fired,
        ruleset_version=assessment.version,
        ruleset_sha256=assessment.sha256,
        level=assessment.level,
    )
    assert from_objects == response_for(PERSONAS["discuss_before_booking"])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.update(resourceType="Questionnaire"), "not a QuestionnaireResponse"),
        (lambda r: r["item"][0]["item"][0].update(linkId="no_such_question"), "unknown question"),
        (lambda r: r["item"][0]["item"][0]["answer"][0]["valueCoding"].update(code="maybe"), "not one of"),
        (lambda r: r["item"][0]["item"][0]["answer"][0]["valueCoding"].update(system="urn:other"), "coding system"),
        (lambda r: r["item"][0]["item"][0]["answer"].append({"valueCoding": {"code": "no"}}), "takes one answer"),
        (lambda r: r["item"][0]["item"][0]["answer"].__setitem__(0, {"valueString": "yes"}), "expected valueCoding"),
        (lambda r: r["item"].append(r["item"][0]), "answered twice"),
    ],
)
def test_a_response_that_this_questionnaire_cannot_have_made_is_refused(mutate: Any, message: str) -> None:
    resource = json.loads(json.dumps(response_for(NO_FLAGS)))
    mutate(resource)
    with pytest.raises(fhir.FhirError, match=message):
        fhir.response_answers(resource)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_ANSWERS)
def test_any_answer_set_round_trips(answers: dict[str, Any]) -> None:
    resource = json.loads(json.dumps(response_for(answers)))
    assert fhir.response_answers(resource) == flow.visible_answers(answers)
    assert response_problems(resource, QUESTIONNAIRE_RESOURCE) == []


# --- bundles ---------------------------------------------------------------------------------


def test_a_bundle_of_responses_validates_and_streams_to_the_same_json() -> None:
    responses = [response_for(answers, reference=f"ABCD-EFG{n}") for n, answers in enumerate(PERSONAS.values(), 2)]
    resources = [QUESTIONNAIRE_RESOURCE, *responses]
    stamp = datetime(2026, 12, 1, tzinfo=UTC)
    result = fhir_bundle.bundle(resources, timestamp=stamp)
    model = Bundle.model_validate(result)
    assert model.type == "collection" and len(model.entry or []) == 1 + len(PERSONAS)
    assert result["timestamp"] == "2026-12-01T00:00:00Z"
    full_urls = [e["fullUrl"] for e in result["entry"]]
    assert len(set(full_urls)) == len(full_urls) and all(u.startswith("urn:uuid:") for u in full_urls)
    assert fhir_bundle.bundle(resources, timestamp=stamp) == result  # deterministic
    assert json.loads("".join(fhir_bundle.iter_bundle_json(iter(resources), timestamp=stamp))) == result
    assert json.loads("".join(fhir_bundle.iter_bundle_json([]))) == {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [],
    }
    for entry, answers in zip(result["entry"][1:], PERSONAS.values()):
        assert fhir.response_answers(entry["resource"]) == answers
