"""Load and validate rules/contraindications.yaml, and evaluate answers against it (no Flask).

The loader collects every fault as `FILE:LINE: rule ID: message` and refuses the file if there is
one; the app refuses to start on such a file. Evaluation sees only the answers to questions the
patient was shown (flow.visible_answers) and never gives a clearance: it only raises flags.

The seams, one module each: model (the parts as plain data), reader (YAML with line numbers, the
content hash), catalogue (translations), compiler (the index built from the conditions), evaluator
(Ruleset), checks and validator (every fault of a file), loader (load_ruleset).
"""

from questionnaire.core.rules.catalogue import Lookup, catalogue_lookup, translation_directories
from questionnaire.core.rules.checks import answer_problems, example_answers
from questionnaire.core.rules.evaluator import Ruleset
from questionnaire.core.rules.loader import load_ruleset, load_ruleset_bytes, text_lines
from questionnaire.core.rules.model import (
    DEFAULT_PATH,
    NO_LEVEL,
    TERMS_PLACEHOLDER,
    TRANSLATION_DOMAIN,
    TRANSLATIONS_DIR,
    Assessment,
    FiredRule,
    Level,
    Rule,
    RuleError,
    RulesFileError,
)
from questionnaire.core.rules.reader import YamlLoader, content_sha256, line_of, read_yaml

__all__ = [
    "DEFAULT_PATH",
    "NO_LEVEL",
    "TERMS_PLACEHOLDER",
    "TRANSLATIONS_DIR",
    "TRANSLATION_DOMAIN",
    "Assessment",
    "FiredRule",
    "Level",
    "Lookup",
    "Rule",
    "RuleError",
    "Ruleset",
    "RulesFileError",
    "YamlLoader",
    "answer_problems",
    "catalogue_lookup",
    "content_sha256",
    "example_answers",
    "line_of",
    "load_ruleset",
    "load_ruleset_bytes",
    "read_yaml",
    "text_lines",
    "translation_directories",
]
