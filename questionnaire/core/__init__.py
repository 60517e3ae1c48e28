"""The pure core: the questionnaire definition, conditions, flow, rules, wording and mappings (no Flask, WTForms or SQLAlchemy)."""
