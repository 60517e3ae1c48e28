"""The queue's date filters: a From and a To day, typed as the field shows them (YYYY-MM-DD); an
impossible day (2025-02-30) or a reversed range is refused with a message rather than ignored."""

from __future__ import annotations

import re
from datetime import datetime

from questionnaire.web.security import BadInput
from questionnaire.web.staff import parse_date

DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def date_range(date_from: str | None, date_to: str | None) -> tuple[datetime | None, datetime | None, str | None]:
    """(start, end, error): the moments the filter covers (To included), or an error message."""
    for label, value in (("From", date_from), ("To", date_to)):
        if value and (not DAY.match(value.strip()) or parse_date(value.strip()) is None):
            return None, None, f"{label}: enter a real date as year-month-day, like 2025-03-31"
    try:
        start = parse_date((date_from or "").strip())
        end = parse_date((date_to or "").strip(), end=True)
    except BadInput as exc:
        return None, None, str(exc.description)
    if start is not None and end is not None and end <= start:
        return None, None, "To must be the same day as From or later"
    return start, end, None
