"""The pure core: the questionnaire definition, conditions, flow, rules, wording and mappings.

No Flask, WTForms or SQLAlchemy: plain data in, plain data out.
"""
