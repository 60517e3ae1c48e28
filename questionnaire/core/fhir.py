"""HL7 FHIR R4 exports: the definition as a Questionnaire, a submission as a QuestionnaireResponse (no Flask).

Plain dicts in, plain dicts out (ready for json.dumps); nothing here imports Flask or SQLAlchemy.
The format, the identifiers and how flags are carried are documented in docs/fhir.md.

- `questionnaire_resource(qn)`: the Questionnaire. Its `version` is a short hash of the whole
  definition (every field of every page and question), so it changes whenever the definition does.
- `questionnaire_response(answers, ...)`: one submission, pointing at `url|version` of that
  Questionnaire, with each fired rule as a contained `Flag`.
- `response_answers(resource)`: the answers dict back from a QuestionnaireResponse (round trip).
- `bundle(resources)` / `iter_bundle_json(resources)`: a Bundle of type collection.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from questionnaire.core import flow
from questionnaire.core.conditions import has_answer
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.fhir_narrative import flag_text, questionnaire_text, response_text
from questionnaire.core.questions import Page, Question, Questionnaire

# --- identifiers: a private URN namespace (stable identifiers, not addresses) -----------------

NS = "urn:ozone-questionnaire"
DEFAULT_URL = f"{NS}:questionnaire"  # the Questionnaire's canonical url (configurable)
QUESTIONNAIRE_ID = "ozone-pre-consultation"
ANSWER_SYSTEM = f"{NS}:answer"  # + ":" + question id: one code system per question
RULE_SYSTEM = f"{NS}:rule"  # Flag.code: the rule id
LEVEL_SYSTEM = f"{NS}:level"  # Flag.category and the level extensions
REFERENCE_SYSTEM = f"{NS}:reference"  # QuestionnaireResponse.identifier: the reference number
EXT_SHOWN_WHEN = f"{NS}:extension:shown-when"  # valueString: a condition enableWhen cannot express (JSON)
EXT_LEVEL = f"{NS}:extension:level"  # valueCode on the response: the submission's level
EXT_FLAG = f"{NS}:extension:flag"  # valueReference on the response: "#flag-N", one per Flag
EXT_FLAG_LEVEL = f"{NS}:extension:flag-level"  # valueCode on a Flag: the level of its rule
EXT_FLAG_TRIGGER = f"{NS}:extension:flag-trigger"  # valueString on a Flag: a question id the rule looked at
EXT_RULESET = f"{NS}:extension:ruleset"  # complex: version, sha256 of the rules file that judged
# Core FHIR extensions.
EXT_OPTION_EXCLUSIVE = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive"
EXT_MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
EXT_MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"

# Bump when the shape of the export changes, so that the Questionnaire version changes with it.
EXPORT_FORMAT = "1"
# Group (page) linkIds carry a prefix: page and question ids share one linkId space in FHIR, and the
# "declaration" page holds the "declaration" question.
PAGE_PREFIX = "page:"
CHOICE_KINDS = ("yn", "ynu", "single", "multi")


class FhirError(ValueError):
    """A FHIR resource that is not a response to this questionnaire, or that cannot be read back."""


# --- the definition's version --------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    return value


def definition_digest(qn: Questionnaire = QUESTIONNAIRE) -> str:
    """sha256 of every field of every page and question (ids, kinds, texts, hints, choices, shown-when...)."""
    skip = {"shown", "page_id"}  # compiled from shown_when / implied by the page
    pages = []
    for p in qn.pages:
        questions = [
            {f.name: _jsonable(getattr(q, f.name)) for f in fields(q) if f.name not in skip} for q in p.questions
        ]
        pages.append({"id": p.id, "title": p.title, "intro": p.intro, "follow_up": p.follow_up, "questions": questions})
    text = json.dumps(
        {"format": EXPORT_FORMAT, "pages": pages}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def questionnaire_version(qn: Questionnaire = QUESTIONNAIRE) -> str:
    """The Questionnaire.version: the first 12 hex digits of definition_digest()."""
    return definition_digest(qn)[:12]


def canonical(qn: Questionnaire = QUESTIONNAIRE, url: str = DEFAULT_URL) -> str:
    """`url|version`: what a QuestionnaireResponse's `questionnaire` element points at."""
    return f"{url}|{questionnaire_version(qn)}"


# --- shown-when conditions as enableWhen ------------------------------------------------------


def _coding(q: Question, value: str) -> dict[str, Any]:
    return {"system": f"{ANSWER_SYSTEM}:{q.id}", "code": value, "display": q.label_for(value)}


def _answer_value(target: Question, value: Any) -> dict[str, Any]:
    if target.kind in CHOICE_KINDS:
        return {"answerCoding": _coding(target, str(value))}
    if target.kind == "int":
        return {"answerInteger": value} if isinstance(value, int) else {"answerDecimal": value}
    return {"answerString": str(value)}


_NUMBER_OPERATORS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _atom(cond: Mapping[str, Any], qn: Questionnaire) -> tuple[list[dict[str, Any]], str] | None:
    """One question test as enableWhen entries and how they combine ("any"/"all"), or None."""
    qid = cond.get("q")
    target = qn.questions.get(qid) if isinstance(qid, str) else None
    if target is None:
        return None
    op = next(k for k in cond if k != "q")
    arg = cond[op]

    def eq(v: Any) -> dict[str, Any]:
        return {"question": target.id, "operator": "=", **_answer_value(target, v)}

    if op == "eq":
        return [eq(arg)], "any"
    if op in ("in", "any_of"):
        # "=" on a repeating item is true when any answer equals the value: any_of exactly.
        return [eq(v) for v in arg], "any"
    if op == "all_of":
        return [eq(v) for v in arg], "all"
    if op in _NUMBER_OPERATORS:
        return [{"question": target.id, "operator": _NUMBER_OPERATORS[op], **_answer_value(target, arg)}], "any"
    if op in ("answered", "nonempty"):
        # Blank text is never stored as an answer (flow.visible_answers), so "exists" is nonempty.
        return [{"question": target.id, "operator": "exists", "answerBoolean": True}], "any"
    if op == "unanswered":
        return [{"question": target.id, "operator": "exists", "answerBoolean": False}], "any"
    # none_of: FHIR's "!=" is true when *some* answer differs, and false with no answer: not the same.
    return None


def enable_when(cond: Mapping[str, Any] | None, qn: Questionnaire = QUESTIONNAIRE) -> dict[str, Any] | None:
    """{"enableWhen": [...], "enableBehavior": ...} for a shown-when condition; {} for none;
    None when FHIR's enableWhen cannot express it exactly (`not`, `none_of`, nested any/all mixes)."""
    if cond is None:
        return {}
    parts: tuple[list[dict[str, Any]], str] | None
    if "q" in cond:
        parts = _atom(cond, qn)
    elif set(cond) in ({"all"}, {"any"}):
        behavior = "all" if "all" in cond else "any"
        entries: list[dict[str, Any]] = []
        for sub in cond[behavior]:
            inner = _atom(sub, qn) if isinstance(sub, Mapping) and "q" in sub else None
            if inner is None or (len(inner[0]) > 1 and inner[1] != behavior):
                return None
            entries.extend(inner[0])
        parts = entries, behavior
    else:
        parts = None
    if parts is None:
        return None
    entries, behavior = parts
    out: dict[str, Any] = {"enableWhen": entries}
    if len(entries) > 1:
        out["enableBehavior"] = behavior
    return out


def _page_enable_when(page: Page, qn: Questionnaire) -> dict[str, Any]:
    """A page is shown when any of its questions is: the union of their enableWhen, when each is an
    "any" (or single) list; otherwise nothing at page level (each item still carries its own)."""
    union: list[dict[str, Any]] = []
    for q in page.questions:
        ew = enable_when(q.shown_when, qn)
        if not ew or ew.get("enableBehavior") == "all":
            return {}
        for entry in ew["enableWhen"]:
            if entry not in union:
                union.append(entry)
    out: dict[str, Any] = {"enableWhen": union}
    if len(union) > 1:
        out["enableBehavior"] = "any"
    return out


# --- the Questionnaire ------------------------------------------------------------------------


def _question_item(q: Question, qn: Questionnaire) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": q.id, "text": q.text}
    ew = enable_when(q.shown_when, qn)
    if ew is None:
        # Conservative: always enabled and never required, with the original condition carried
        # as JSON so that a consumer can apply it; nothing a patient might need to answer is hidden.
        item["extension"] = [
            {"url": EXT_SHOWN_WHEN, "valueString": json.dumps(_jsonable(q.shown_when), sort_keys=True)}
        ]
    if q.kind in CHOICE_KINDS:
        item["type"] = "choice"
    elif q.kind == "int":
        item["type"] = "integer"
        ext = item.setdefault("extension", [])
        if q.min is not None:
            ext.append({"url": EXT_MIN_VALUE, "valueInteger": q.min})
        if q.max is not None:
            ext.append({"url": EXT_MAX_VALUE, "valueInteger": q.max})
        if not ext:
            del item["extension"]
    else:
        item["type"] = "text" if q.multiline else "string"
    if ew:
        item.update(ew)
    item["required"] = (not q.optional) and ew is not None
    if q.kind == "multi":
        item["repeats"] = True
    if q.kind == "text":
        item["maxLength"] = q.max_length
    if q.kind in CHOICE_KINDS:
        options = []
        for c in q.choices:
            option: dict[str, Any] = {"valueCoding": _coding(q, c.value)}
            if c.exclusive:
                option["extension"] = [{"url": EXT_OPTION_EXCLUSIVE, "valueBoolean": True}]
            options.append(option)
        item["answerOption"] = options
    return item


def questionnaire_resource(
    qn: Questionnaire = QUESTIONNAIRE, *, url: str = DEFAULT_URL, publisher: str | None = None
) -> dict[str, Any]:
    """The definition as a FHIR R4 Questionnaire: one group item per page, one item per question."""
    items = []
    for p in qn.pages:
        group: dict[str, Any] = {"linkId": PAGE_PREFIX + p.id, "text": p.title, "type": "group"}
        group.update(_page_enable_when(p, qn))
        group["item"] = [_question_item(q, qn) for q in p.questions]
        items.append(group)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "language": "en",
        "url": url,
        "version": questionnaire_version(qn),
        "name": "OzonePreConsultation",
        "title": "Ozone-therapy pre-consultation questionnaire",
        "status": "active",
        "subjectType": ["Patient"],
    }
    if publisher:
        resource["publisher"] = publisher
    resource["item"] = items
    resource["text"] = questionnaire_text(resource)  # the narrative (dom-6)
    return resource


# --- the QuestionnaireResponse ----------------------------------------------------------------


def fhir_datetime(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _answers_of(q: Question, value: Any) -> list[dict[str, Any]]:
    if q.kind == "multi":
        return [{"valueCoding": _coding(q, v)} for v in value]
    if q.kind in CHOICE_KINDS:
        return [{"valueCoding": _coding(q, value)}]
    if q.kind == "int":
        return [{"valueInteger": value}]
    return [{"valueString": value}]


def _flag(n: int, fired: Any, reference: str, authored: str) -> dict[str, Any]:
    rule_id, level = str(_get(fired, "id")), str(_get(fired, "level"))
    extension = [{"url": EXT_FLAG_LEVEL, "valueCode": level}]
    extension += [{"url": EXT_FLAG_TRIGGER, "valueString": str(qid)} for qid in (_get(fired, "triggers") or {})]
    return {
        "resourceType": "Flag",
        "id": f"flag-{n}",
        "text": flag_text(
            {"code": {"text": rule_id}, "subject": {"display": f"Questionnaire response {reference}"}}, level
        ),
        "extension": extension,
        "status": "active",
        "category": [{"coding": [{"system": LEVEL_SYSTEM, "code": level}]}],
        "code": {"coding": [{"system": RULE_SYSTEM, "code": rule_id}], "text": rule_id},
        "subject": {"display": f"The person who sent questionnaire response {reference}"},
        "period": {"start": authored},
    }


def questionnaire_response(
    sub_answers: Mapping[str, Any],
    *,
    reference: str,
    created: datetime | str,
    language: str,
    fired: Sequence[Any],
    ruleset_version: str,
    ruleset_sha256: str,
    level: str | None = None,
    stopped_early: bool = False,
    qn: Questionnaire = QUESTIONNAIRE,
    url: str = DEFAULT_URL,
    questionnaire_version: str | None = None,
) -> dict[str, Any]:
    """One submission as a FHIR R4 QuestionnaireResponse.

    Only answers to questions that are shown count (flow.visible_answers), nested page group ->
    question as in the Questionnaire. Each fired rule ({"id", "level", "triggers"...} or a FiredRule)
    becomes a contained Flag referenced from the response; the judging rule set and the
    submission's level are extensions (docs/fhir.md). A form stopped early by an urgent answer is
    "in-progress", a sent one "completed".
    """
    visible = flow.visible_answers(sub_answers, qn)
    authored = fhir_datetime(created)
    items = []
    for p in qn.pages:
        children = [
            {"linkId": q.id, "text": q.text, "answer": _answers_of(q, visible[q.id])}
            for q in p.questions
            if q.id in visible and has_answer(visible[q.id])
        ]
        if children:
            items.append({"linkId": PAGE_PREFIX + p.id, "text": p.title, "item": children})
    flags = [_flag(n, f, reference, authored) for n, f in enumerate(fired, start=1)]
    extension: list[dict[str, Any]] = [
        {
            "url": EXT_RULESET,
            "extension": [
                {"url": "version", "valueString": str(ruleset_version)},
                {"url": "sha256", "valueString": str(ruleset_sha256)},
            ],
        }
    ]
    if level is not None:
        extension.append({"url": EXT_LEVEL, "valueCode": level})
    extension += [{"url": EXT_FLAG, "valueReference": {"reference": f"#{f['id']}"}} for f in flags]
    resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "id": reference, "language": language}
    if flags:
        resource["contained"] = flags
    resource.update(
        {
            "extension": extension,
            "identifier": {"system": REFERENCE_SYSTEM, "value": reference},
            # The wording the patient answered, when the submission recorded it.
            "questionnaire": f"{url}|{questionnaire_version}" if questionnaire_version else canonical(qn, url),
            "status": "in-progress" if stopped_early else "completed",
            "authored": authored,
            "item": items,
        }
    )
    resource["text"] = response_text(resource, level, flags)  # the narrative (dom-6)
    return resource


# --- reading a response back -----------------------------------------------------------------


def _walk_items(items: Any) -> Iterator[Mapping[str, Any]]:
    for item in items or ():
        if not isinstance(item, Mapping):
            raise FhirError("an item is not an object")
        yield item
        yield from _walk_items(item.get("item"))
        for answer in item.get("answer") or ():
            yield from _walk_items(answer.get("item") if isinstance(answer, Mapping) else None)


def _read_answer(q: Question, answer: Any) -> Any:
    if not isinstance(answer, Mapping):
        raise FhirError(f"{q.id}: an answer is not an object")
    if q.kind in CHOICE_KINDS:
        coding = answer.get("valueCoding")
        if not isinstance(coding, Mapping) or "code" not in coding:
            raise FhirError(f"{q.id}: expected valueCoding")
        system = coding.get("system")
        if system is not None and system != f"{ANSWER_SYSTEM}:{q.id}":
            raise FhirError(f"{q.id}: coding system {system!r} is not this question's")
        return coding["code"]
    key = "valueInteger" if q.kind == "int" else "valueString"
    if key not in answer:
        raise FhirError(f"{q.id}: expected {key}")
    return answer[key]


def response_answers(resource: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> dict[str, Any]:
    """The answers dict of a QuestionnaireResponse made by questionnaire_response (round trip).

    Raises FhirError for anything that is not an answer this questionnaire can take.
    """
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "QuestionnaireResponse":
        raise FhirError("not a QuestionnaireResponse")
    answers: dict[str, Any] = {}
    for item in _walk_items(resource.get("item")):
        link_id = item.get("linkId")
        if "answer" not in item:
            continue
        q = qn.questions.get(link_id) if isinstance(link_id, str) else None
        if q is None:
            raise FhirError(f"unknown question {link_id!r}")
        if q.id in answers:
            raise FhirError(f"{q.id}: answered twice")
        values = [_read_answer(q, a) for a in item["answer"] or ()]
        if not values:
            continue
        if q.kind == "multi":
            value: Any = values
        elif len(values) == 1:
            value = values[0]
        else:
            raise FhirError(f"{q.id}: takes one answer, got {len(values)}")
        problem = q.problem(value)
        if problem:
            raise FhirError(f"{q.id}: {problem}")
        answers[q.id] = value
    return answers


def _extensions(obj: Mapping[str, Any], url: str) -> list[Mapping[str, Any]]:
    return [e for e in obj.get("extension") or () if isinstance(e, Mapping) and e.get("url") == url]


def response_flags(resource: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The fired rules carried by a response: [{"id", "level", "triggers": [question ids]}], in order."""
    contained = {c.get("id"): c for c in resource.get("contained") or () if isinstance(c, Mapping)}
    out = []
    for ext in _extensions(resource, EXT_FLAG):
        ref = (ext.get("valueReference") or {}).get("reference", "")
        flag = contained.get(ref[1:]) if ref.startswith("#") else None
        if flag is None or flag.get("resourceType") != "Flag":
            raise FhirError(f"flag reference {ref!r} points at no contained Flag")
        codes = [c.get("code") for c in (flag.get("code") or {}).get("coding") or () if c.get("system") == RULE_SYSTEM]
        levels = [e.get("valueCode") for e in _extensions(flag, EXT_FLAG_LEVEL)]
        if len(codes) != 1 or len(levels) != 1:
            raise FhirError(f"Flag {flag.get('id')!r} needs one rule code and one level")
        out.append(
            {
                "id": codes[0],
                "level": levels[0],
                "triggers": [e.get("valueString") for e in _extensions(flag, EXT_FLAG_TRIGGER)],
            }
        )
    return out


def response_meta(resource: Mapping[str, Any]) -> dict[str, Any]:
    """Reference, status, authored, language, questionnaire, level and rule set of a response."""
    ruleset = next(iter(_extensions(resource, EXT_RULESET)), {})
    parts = {e.get("url"): e.get("valueString") for e in ruleset.get("extension") or ()}
    level = next((e.get("valueCode") for e in _extensions(resource, EXT_LEVEL)), None)
    return {
        "reference": (resource.get("identifier") or {}).get("value"),
        "status": resource.get("status"),
        "authored": resource.get("authored"),
        "language": resource.get("language"),
        "questionnaire": resource.get("questionnaire"),
        "level": level,
        "ruleset_version": parts.get("version"),
        "ruleset_sha256": parts.get("sha256"),
    }
