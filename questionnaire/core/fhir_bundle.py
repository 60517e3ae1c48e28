"""FHIR Bundles of resources (a whole-range download, streamed), in the core: plain data in and out."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from questionnaire.core.fhir import NS, fhir_datetime


def _full_url(resource: Mapping[str, Any]) -> str:
    rid = resource.get("id")
    if not rid:
        return f"urn:uuid:{uuid.uuid4()}"
    key = f"{NS}:{resource.get('resourceType')}/{rid}|{resource.get('version', '')}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}"


def _bundle_head(timestamp: datetime | None) -> dict[str, Any]:
    head: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if timestamp is not None:
        head["timestamp"] = fhir_datetime(timestamp)
    return head


def bundle(resources: Iterable[Mapping[str, Any]], *, timestamp: datetime | None = None) -> dict[str, Any]:
    """A Bundle of type collection (put questionnaire_resource() first to make it self-contained)."""
    out = _bundle_head(timestamp)
    out["entry"] = [{"fullUrl": _full_url(r), "resource": r} for r in resources]
    return out


def iter_bundle_json(resources: Iterable[Mapping[str, Any]], *, timestamp: datetime | None = None) -> Iterator[str]:
    """The same Bundle as JSON text, one entry at a time (for a streamed download of a date range)."""
    head = json.dumps(_bundle_head(timestamp), ensure_ascii=False)
    yield head[:-1] + ', "entry": ['
    for n, r in enumerate(resources):
        yield ("," if n else "") + json.dumps({"fullUrl": _full_url(r), "resource": r}, ensure_ascii=False)
    yield "]}"
