"""Fitting into a clinic's systems: FHIR R4 exports (notifications: operations/announce.py)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, g, request, stream_with_context

from questionnaire.core import fhir, fhir_bundle
from questionnaire.data import store
from questionnaire.data.enums import StaffRole
from questionnaire.data.models import Submission
from questionnaire.operations import submissions
from questionnaire.web.staff import FULL_ANSWERS, parse_date, submission_or_404
from questionnaire.web.staff_admin import bulk_export_limit
from questionnaire.web.staff_session import Reply, client_ip, staff_required

bp = Blueprint("interop", __name__)
FHIR_JSON = "application/fhir+json"


def _fhir(resource: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(resource, ensure_ascii=False), status=status, mimetype=FHIR_JSON)


@bp.get("/fhir/Questionnaire")
def questionnaire() -> Reply:
    """The questionnaire definition (public: it holds no personal data)."""
    response = _fhir(fhir.questionnaire_resource(url=current_app.config.get("FHIR_URL") or fhir.DEFAULT_URL))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def response_of(sub: Submission) -> dict[str, Any]:
    return fhir.questionnaire_response(
        sub.answers,
        reference=sub.reference,
        created=sub.created_at,
        language=sub.language,
        fired=sub.fired,
        ruleset_version=sub.ruleset_version,
        ruleset_sha256=sub.ruleset_sha256,
        level=sub.level,
        stopped_early=sub.stopped_early,
        url=current_app.config.get("FHIR_URL") or fhir.DEFAULT_URL,
        questionnaire_version=sub.questions_version,
    )


@bp.get("/staff/submissions/<reference>/fhir")
@staff_required(*FULL_ANSWERS)
def submission_response(reference: str) -> Reply:
    """One submission as a FHIR QuestionnaireResponse (the full answer set: clinicians and administrators)."""
    sub = submission_or_404(reference)
    response = _fhir(response_of(sub))  # built before the audit commit expires what was read
    submissions.record_access("export_fhir", actor=g.staff.email, reference=sub.reference, ip=client_ip())
    response.headers["Content-Disposition"] = f"attachment; filename={sub.reference}.fhir.json"
    return response


@bp.get("/staff/admin/fhir-bundle")
@staff_required(StaffRole.ADMIN)
@bulk_export_limit()
def bundle() -> Reply:
    """Every submission in a date range as one FHIR Bundle, streamed (administrators, audited)."""
    date_from, date_to = parse_date(request.args.get("from")), parse_date(request.args.get("to"), end=True)
    submissions.record_access(
        "export_fhir_bundle",
        actor=g.staff.email,
        ip=client_ip(),
        detail=f"from={request.args.get('from') or '-'} to={request.args.get('to') or '-'}",
    )
    resources = (response_of(s) for s in store.submissions_for_export(date_from, date_to))
    response = Response(stream_with_context(fhir_bundle.iter_bundle_json(resources)), mimetype=FHIR_JSON)
    response.headers["Content-Disposition"] = "attachment; filename=submissions.fhir.json"
    return response
