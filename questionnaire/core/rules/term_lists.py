"""The checks of the rules file's term lists (`mentions` and `only_says` tests): each list named in
snake_case, with a title, its sources and its terms, whole words only for a `words` list."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from questionnaire.core.rules.checks import Checks
from questionnaire.core.rules.model import OPTIONAL_TERM_LIST_KEYS, TERM_LIST_KEYS
from questionnaire.core.rules.reader import line_of
from questionnaire.core.terms import MATCHES, TermList, term_problem


class TermListChecks(Checks):
    """The term_lists block of a rules file."""

    def term_lists(self, obj: Any, sources: Mapping[str, str]) -> dict[str, TermList]:
        """Named term lists (`mentions` and `only_says` tests): each with a title, its sources and
        its terms, whole words only for a `words` list."""
        out: dict[str, TermList] = {}
        if obj is None or not self.keys(obj, set(obj or ()), set(), "term_lists"):
            return out
        for name, spec in obj.items():
            where = f"term list {name}"
            if not (isinstance(name, str) and re.match(r"^[a-z][a-z0-9_]*$", name)):
                self.error(line_of(obj, name), None, f"term list name {name!r} must be snake_case")
                continue
            if not self.keys(spec, TERM_LIST_KEYS | OPTIONAL_TERM_LIST_KEYS, TERM_LIST_KEYS, where):
                continue
            match = spec.get("match", "words")
            if match not in MATCHES:
                self.error(line_of(spec, "match"), None, f"{where}: match must be one of {', '.join(MATCHES)}")
                continue
            terms, srcs = spec.get("terms"), spec.get("sources")
            if not isinstance(terms, list) or not terms:
                self.error(line_of(spec, "terms"), None, f"{where}: terms must be a non-empty list")
                continue
            ok = True
            for j, term in enumerate(terms):
                problem = term_problem(term, match)
                if problem:
                    self.error(line_of(terms, j), None, f"{where}: {problem}")
                    ok = False
            if not isinstance(srcs, list) or (match == "words" and not srcs):
                self.error(
                    line_of(spec, "sources"),
                    None,
                    f"{where}: sources must be a list of source ids"
                    + (" (at least one: where the names come from)" if match == "words" else ""),
                )
                continue
            for j, src in enumerate(srcs):
                if str(src) not in sources:
                    self.error(line_of(srcs, j), None, f"{where}: unknown source {src!r}")
                    ok = False
            title = self.text(spec, "title", None, f"{where} title")
            if ok:
                out[name] = TermList(
                    name, title, tuple(str(t).strip() for t in terms), tuple(map(str, srcs)), str(match)
                )
        return out
