#!/usr/bin/env python3
"""Benchmark: the compiled rule set against the same 56 rules written by hand as Python `if`s.

    .venv/bin/python bench/bench_rules.py            # full run (about a minute)
    .venv/bin/python bench/bench_rules.py --quick    # smoke run (a few seconds)

Before timing, both are run on the personas below, on every example of the rules file and on
seeded random answer sets; any difference in the fired rule ids exits with status 1.
Timings alternate compiled and hand-written rounds in one run, so machine load hits both alike.
Targets (issue 2): compiled at least half as fast as by hand (ratio >= 0.5, printed last);
loading and validating the rules file and the definitions under 200 ms.
Figures are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from questionnaire import flow  # noqa: E402
from questionnaire.core.questions import PAGES_DEFINITION, QUESTIONNAIRE, Question, build  # noqa: E402
from questionnaire.core.rules import DEFAULT_PATH, Ruleset, load_ruleset  # noqa: E402

RATIO_TARGET = 0.5
LOAD_TARGET_MS = 200.0

# --- the 56 rules by hand, in file order ---------------------------------------------------

YNS = ("yes", "not_sure")
INJ = frozenset({"muscle", "joint", "under_skin", "spine_neck", "not_sure"})
MAH = frozenset({"blood_drip", "not_sure"})
MAH_OR_SPINE = frozenset({"blood_drip", "spine_neck", "not_sure"})
POST_OZONE_RED_FLAGS = frozenset({"chest_pain", "fainting", "seizure", "confusion", "weakness_numbness_speech",
                                  "vision", "severe_headache", "breathing", "not_sure"})
SEVERE_REACTIONS = frozenset({"swelling_or_breathing", "chest_pain_or_racing_heart", "seizure",
                              "confusion_weakness_vision_speech", "site_infection"})
PROCEDURE_ALLERGIES = frozenset({"latex", "local_anaesthetic", "heparin", "citrate", "skin_cleaners",
                                 "plasters_tape", "not_sure"})
PROXIES = frozenset({"parent_or_guardian", "family_or_carer", "clinic_staff", "someone_else"})
NONE: tuple[str, ...] = ()


def hand_fire(a: Mapping[str, Any], unanswered: frozenset[str]) -> list[str]:
    """The rules of rules/contraindications.yaml, by hand, on visible answers (routes expanded)."""
    get = a.get
    fired: list[str] = []
    add = fired.append
    routes = get("treatment_types") or NONE

    # B1. Urgent
    if get("chest_pain_now") == "yes":
        add("r_urgent_chest_pain_now")
    if get("breathing_trouble_now") == "yes":
        add("r_urgent_breathing_now")
    if get("stroke_signs_now") == "yes":
        add("r_urgent_stroke_signs_now")
    recent = get("recent_ozone_7d")
    if recent in YNS and not POST_OZONE_RED_FLAGS.isdisjoint(get("post_ozone_red_flags") or NONE):
        add("r_urgent_post_ozone_symptoms")
    if recent == "yes" and get("post_ozone_site_problem") in YNS:
        add("r_urgent_post_injection_infection")

    # B2. Discuss before booking
    if get("unwell_now") in YNS:
        add("r_current_infection_or_fever")
    g6pd = get("g6pd_deficiency")
    if g6pd == "yes":
        add("r_g6pd_known")
    if g6pd == "not_sure":
        add("r_g6pd_unknown")
    if get("red_cell_breakdown") in YNS:
        add("r_haemolysis_history")
    transfusion = get("anaemia_needed_transfusion") in YNS
    if transfusion and not MAH.isdisjoint(routes):
        add("r_anaemia_severe_mah")
    if get("bleeding_problem") in YNS:
        add("r_bleeding_disorder")
    if get("low_platelets") in YNS:
        add("r_low_platelets")
    thinner = get("blood_thinner") in YNS
    if thinner and not INJ.isdisjoint(routes):
        add("r_blood_thinner_injection")
    if get("heart_event_6m") in YNS:
        add("r_recent_heart_event")
    stroke_recent = get("stroke_recent_or_bleed") in YNS
    if stroke_recent:
        add("r_stroke_recent_or_bleed")
    heart_unstable = get("heart_condition_worse") in YNS
    if heart_unstable:
        add("r_heart_unstable")
    if get("chest_pain_past_month") in YNS:
        add("r_chest_pain_recent")
    hole = get("hole_in_heart")
    pfo_high = hole == "yes" and not MAH_OR_SPINE.isdisjoint(routes)
    if pfo_high:
        add("r_pfo_high_risk_route")
    high_bp = get("high_bp")
    bp_controlled = get("high_bp_controlled")
    if high_bp == "yes" and bp_controlled in (None, "no", "not_sure"):
        add("r_bp_uncontrolled")
    thyroid = get("overactive_thyroid")
    thyroid_controlled = get("thyroid_controlled")
    if (thyroid == "yes" and thyroid_controlled in (None, "no", "not_sure")) or thyroid == "not_sure":
        add("r_thyroid_uncontrolled")
    diabetes_unstable = get("diabetes_unstable") in YNS
    if diabetes_unstable:
        add("r_diabetes_unstable")
    seizures = get("seizures")
    if seizures == "yes":
        add("r_seizures")
    lung_unstable = get("lung_flare_4w") in YNS
    if lung_unstable:
        add("r_lung_unstable")
    if get("pregnant") in ("yes", "not_sure", "prefer_private"):
        add("r_pregnancy")
    severe = not SEVERE_REACTIONS.isdisjoint(get("prior_ozone_problem_type") or NONE)
    if severe:
        add("r_prior_reaction_severe")
    if get("skin_problem_at_site") in YNS and not INJ.isdisjoint(routes):
        add("r_skin_site_problem")
    if get("hot_swollen_joint") in YNS:
        add("r_hot_joint")
    age = get("patient_age_years")
    if age is not None and age < 18:
        add("r_under_18")
    if get("decision_help") in YNS:
        add("r_decision_support")
    if get("replacing_advised_treatment") in YNS:
        add("r_replacing_treatment")
    doctor = get("doctor_said_no")
    if doctor == "yes":
        add("r_doctor_advised_against")

    # B3. Mention at consultation
    if get("anaemia_recent") in YNS:
        add("r_anaemia_recent")
    if transfusion and routes and MAH.isdisjoint(routes):
        add("r_anaemia_severe_other")
    if thinner and "blood_drip" in routes and INJ.isdisjoint(routes):
        add("r_blood_thinner_drip")
    if get("stroke_ever") in YNS and not stroke_recent:
        add("r_stroke_history")
    if get("heart_condition") in YNS and not heart_unstable:
        add("r_heart_condition_stable")
    if hole == "not_sure" or (hole == "yes" and not pfo_high):
        add("r_pfo_other")
    if (high_bp == "yes" and bp_controlled == "yes") or high_bp == "not_sure":
        add("r_bp_controlled")
    if get("pril_medicine") in YNS:
        add("r_ace_inhibitor")
    if get("fainting_12m") == "yes":
        add("r_fainting")
    if get("faint_with_needles") in YNS:
        add("r_needle_faint")
    if thyroid == "yes" and thyroid_controlled == "yes":
        add("r_thyroid_controlled")
    if get("diabetes") in YNS and not diabetes_unstable:
        add("r_diabetes_stable")
    if get("diabetes_low_sugar_meds") in YNS:
        add("r_hypo_risk")
    if seizures == "not_sure":
        add("r_seizures_unknown")
    if get("lung_condition") in YNS and not lung_unstable:
        add("r_lung_stable")
    if get("breastfeeding") == "yes":
        add("r_breastfeeding")
    if get("prior_ozone_problem") in YNS and not severe:
        add("r_prior_reaction_mild")
    if "direct_iv_gas" in (get("prior_ozone_types") or NONE):
        add("r_prior_direct_iv_gas")
    if get("severe_allergy_ever") in YNS:
        add("r_anaphylaxis_history")
    if not PROCEDURE_ALLERGIES.isdisjoint(get("allergy_items") or NONE):
        add("r_procedure_allergy")
    if get("recent_surgery") in YNS:
        add("r_recent_surgery")
    if get("respondent_role") in PROXIES:
        add("r_proxy_completion")
    if doctor == "not_sure":
        add("r_doctor_advised_unknown")
    other = get("other_concerns")
    if isinstance(other, str) and other.strip():
        add("r_other_info")
    if unanswered:
        add("r_required_unanswered")
    return fired


# --- answer sets ---------------------------------------------------------------------------

ALL_NO: dict[str, Any] = {
    "chest_pain_now": "no", "breathing_trouble_now": "no", "stroke_signs_now": "no",
    "recent_ozone_7d": "no", "unwell_now": "no",
    "respondent_role": "patient", "patient_age_years": 45, "decision_help": "no", "treatment_types": ["joint"],
    "g6pd_deficiency": "no", "red_cell_breakdown": "no", "anaemia_recent": "no", "bleeding_problem": "no",
    "low_platelets": "no", "blood_thinner": "no",
    "heart_event_6m": "no", "stroke_ever": "no", "heart_condition": "no", "chest_pain_past_month": "no",
    "hole_in_heart": "no", "high_bp": "no", "pril_medicine": "no", "fainting_12m": "no", "faint_with_needles": "no",
    "overactive_thyroid": "no", "diabetes": "no", "seizures": "no", "lung_condition": "no",
    "pregnant": "not_applicable", "breastfeeding": "not_applicable",
    "prior_ozone": "no", "severe_allergy_ever": "no", "allergy_items": ["none_of_these"],
    "injection_body_area": "Left knee", "skin_problem_at_site": "no", "hot_swollen_joint": "no",
    "recent_surgery": "no", "replacing_advised_treatment": "no", "doctor_said_no": "no",
    "medicines_list": "none",
    "contact_name": "Alex Example", "contact_phone": "0161 496 0001", "contact_time": "morning",
    "declaration": "yes",
}

# Answer sets like real submissions: complete forms with no flag or a few, and the short ones.
TYPICAL: dict[str, dict[str, Any]] = {
    "all no": ALL_NO,
    "one mention flag": ALL_NO | {"faint_with_needles": "yes"},
    "one discuss flag": ALL_NO | {"blood_thinner": "yes", "blood_thinner_name": "warfarin"},
    "a few flags": ALL_NO | {"treatment_types": ["not_sure"], "high_bp": "yes", "high_bp_controlled": "yes",
                             "pril_medicine": "yes", "other_concerns": "A knee operation two years ago."},
    "urgent, stopped on page 1": {"chest_pain_now": "yes", "breathing_trouble_now": "no", "stroke_signs_now": "no",
                                  "recent_ozone_7d": "no", "unwell_now": "no"},
    "nothing answered": {},
}
# Stress: answer sets that trigger most rules.
FLAG_HEAVY: dict[str, dict[str, Any]] = {
    "many flags": ALL_NO | {
        "recent_ozone_7d": "yes", "post_ozone_red_flags": ["none_of_these"], "post_ozone_site_problem": "no",
        "respondent_role": "family_or_carer", "patient_age_years": 16, "treatment_types": ["blood_drip", "spine_neck"],
        "anaemia_recent": "yes", "anaemia_needed_transfusion": "not_sure", "blood_thinner": "yes",
        "blood_thinner_name": "warfarin", "stroke_ever": "yes", "stroke_recent_or_bleed": "no",
        "heart_condition": "yes", "heart_condition_worse": "no", "hole_in_heart": "yes", "high_bp": "yes",
        "high_bp_controlled": "yes", "diabetes": "yes", "diabetes_unstable": "no", "diabetes_low_sugar_meds": "yes",
        "lung_condition": "yes", "lung_flare_4w": "no", "prior_ozone": "yes", "prior_ozone_types": ["direct_iv_gas"],
        "prior_ozone_problem": "yes", "prior_ozone_problem_type": ["rash"], "allergy_items": ["latex", "citrate"],
        "other_concerns": "A knee operation two years ago.",
    },
    "not sure everywhere": {q.id: "not_sure" for q in QUESTIONNAIRE.questions.values() if q.kind == "ynu"}
    | {"treatment_types": ["not_sure"], "allergy_items": ["not_sure"], "pregnant": "not_sure"},
}
PERSONAS: dict[str, dict[str, Any]] = TYPICAL | FLAG_HEAVY


def random_answers(rng: random.Random, q_list: list[Question]) -> dict[str, Any]:
    """An answer set like the property tests build: each question absent or a valid value."""
    answers: dict[str, Any] = {}
    for q in q_list:
        if rng.random() < 0.3:
            continue
        if q.kind in ("yn", "ynu", "single"):
            answers[q.id] = rng.choice(q.values)
        elif q.kind == "multi":
            plain = [v for v in q.values if v not in q.exclusive_values]
            if q.exclusive_values and rng.random() < 0.3:
                answers[q.id] = [rng.choice(sorted(q.exclusive_values))]
            else:
                answers[q.id] = rng.sample(plain, rng.randint(1, len(plain)))
        elif q.kind == "int":
            assert q.min is not None and q.max is not None
            answers[q.id] = rng.randint(q.min, q.max)
        else:
            answers[q.id] = rng.choice(["", "  ", "none", "a knee operation"])
    return answers


def prepared(answers: Mapping[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """What Ruleset.fire sees: visible answers with routes expanded, and the unanswered safety questions."""
    visible = flow.visible_answers(answers)
    unanswered = frozenset(flow.unanswered_safety(visible))
    for q in QUESTIONNAIRE.questions.values():
        value = visible.get(q.id)
        # "Not sure", or no answer at all, counts as every choice (as in the engine).
        if q.means_all and ((isinstance(value, list) and q.means_all in value) or q.id in unanswered):
            visible[q.id] = list(q.values)
    return visible, unanswered


def compiled_ids(rs: Ruleset, answers: Mapping[str, Any], unanswered: frozenset[str]) -> set[str]:
    return {rid for rid, hit in rs.fire(answers, unanswered).items() if hit}


def check_equal(rs: Ruleset, answer_sets: list[tuple[str, Mapping[str, Any]]]) -> int:
    """Compare compiled and hand-written rules (and the full evaluate) on every answer set; count differences."""
    differences = 0
    for name, answers in answer_sets:
        visible, unanswered = prepared(answers)
        compiled = compiled_ids(rs, visible, unanswered)
        by_hand = hand_fire(visible, unanswered)
        evaluated = set(rs.evaluate(answers).rule_ids)
        if compiled != set(by_hand) or evaluated != compiled or len(by_hand) != len(set(by_hand)):
            differences += 1
            if differences <= 5:
                print(f"DIFFERENCE on {name!r}: compiled only {sorted(compiled - set(by_hand))}, "
                      f"hand only {sorted(set(by_hand) - compiled)}, evaluate {sorted(evaluated ^ compiled)}")
    return differences


# --- timing --------------------------------------------------------------------------------

def best_time(fn: Callable[[], Any], batches: int) -> float:
    """The fastest of several short batches: a batch the scheduler did not interrupt."""
    best = float("inf")
    clock = time.perf_counter
    for _ in range(batches):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def time_side_by_side(rs: Ruleset, personas: Mapping[str, Mapping[str, Any]], rounds: int,
                      batches: int) -> dict[str, list[float]]:
    """Evaluations per second of each way, per round; the ways alternate within every round."""
    sets = [prepared(a) for a in personas.values()]
    raw = list(personas.values())
    fire = rs.fire

    def compiled() -> None:
        for answers, unanswered in sets:
            fire(answers, unanswered)

    def by_hand() -> None:
        for answers, unanswered in sets:
            hand_fire(answers, unanswered)

    def evaluate() -> None:
        for answers in raw:
            rs.evaluate(answers)

    def evaluate_by_hand() -> None:   # the same pipeline as evaluate, with the hand-written rules
        for answers in raw:
            hand_fire(*prepared(answers))

    runs: dict[str, Callable[[], None]] = {"compiled": compiled, "hand": by_hand,
                                           "evaluate": evaluate, "evaluate_hand": evaluate_by_hand}
    rates: dict[str, list[float]] = {k: [] for k in runs}
    order = list(runs)
    for i in range(rounds):
        for key in (order if i % 2 == 0 else order[::-1]):   # alternate, so drift hits both sides
            rates[key].append(len(sets) / best_time(runs[key], batches))
    return rates


def time_loading(times: int) -> list[float]:
    """Milliseconds to build the definitions and load + validate the rules file, in this process."""
    out = []
    for _ in range(times):
        start = time.perf_counter()
        qn = build(PAGES_DEFINITION)
        load_ruleset(DEFAULT_PATH, qn)
        out.append((time.perf_counter() - start) * 1000)
    return out


FRESH = """
import time
from questionnaire.core.questions import PAGES_DEFINITION, build
from questionnaire.core.rules import DEFAULT_PATH, load_ruleset
start = time.perf_counter()
load_ruleset(DEFAULT_PATH, build(PAGES_DEFINITION))
print((time.perf_counter() - start) * 1000)
"""


def time_loading_fresh(times: int) -> list[float]:
    """The same, as the first load in a fresh interpreter (after the imports)."""
    return [float(subprocess.run([sys.executable, "-c", FRESH], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout) for _ in range(times)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    rounds, batches, random_sets, loads = (3, 30, 200, 1) if args.quick else (15, 400, 3000, 5)

    rs = load_ruleset()
    rng = random.Random(20261129)
    q_list = list(QUESTIONNAIRE.questions.values())
    answer_sets: list[tuple[str, Mapping[str, Any]]] = list(PERSONAS.items())
    answer_sets += [(f"example {ex['name']}", ex["answers"]) for ex in rs.examples]
    answer_sets += [(f"random #{i}", random_answers(rng, q_list)) for i in range(random_sets)]
    differences = check_equal(rs, answer_sets)
    print(f"checked {len(answer_sets)} answer sets ({len(PERSONAS)} personas, {len(rs.examples)} examples, "
          f"{random_sets} random): {differences} difference(s)")
    if differences:
        print("FAIL: the hand-written rules and the compiled rule set disagree")
        return 1
    hand_ids = set(hand_fire(*prepared(PERSONAS["many flags"])))
    print(f"{len(rs.rules)} rules compiled; the 'many flags' persona fires {len(hand_ids)} of them")

    in_process = time_loading(loads)
    fresh = time_loading_fresh(max(1, loads // 2))
    load_ok = statistics.median(in_process) < LOAD_TARGET_MS and statistics.median(fresh) < LOAD_TARGET_MS
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
          f"{rounds} alternating rounds, best of {batches} batches each")
    print(f"load + validate rules file and definitions: median {statistics.median(in_process):.1f} ms, "
          f"max {max(in_process):.1f} ms in process; {statistics.median(fresh):.1f} ms first load in a fresh "
          f"process (target < {LOAD_TARGET_MS:.0f} ms: {'met' if load_ok else 'MISSED'})")

    ratios: dict[str, float] = {}
    for group, personas in (("typical", TYPICAL), ("flag-heavy", FLAG_HEAVY)):
        rates = time_side_by_side(rs, personas, rounds, batches)
        med = {k: statistics.median(v) for k, v in rates.items()}
        ratios[group] = statistics.median(c / h for c, h in zip(rates["compiled"], rates["hand"]))
        eval_ratio = statistics.median(c / h for c, h in zip(rates["evaluate"], rates["evaluate_hand"]))
        print(f"{group} answer sets ({', '.join(personas)}):")
        print(f"  full evaluate (visible answers + rules): {med['evaluate']:>10,.0f} evaluations/s")
        print(f"  same pipeline, hand-written rules:       {med['evaluate_hand']:>10,.0f} evaluations/s "
              f"(ratio {eval_ratio:.2f})")
        print(f"  compiled rule set (Ruleset.fire):        {med['compiled']:>10,.0f} evaluations/s")
        print(f"  hand-written if statements:              {med['hand']:>10,.0f} evaluations/s "
              f"(ratio {ratios[group]:.2f})")
    ratio_ok = ratios["typical"] >= RATIO_TARGET
    print(f"ratio compiled/hand: {ratios['typical']:.2f} on typical answer sets (target >= {RATIO_TARGET}: "
          f"{'met' if ratio_ok else 'MISSED'}); {ratios['flag-heavy']:.2f} on flag-heavy ones")
    if args.strict and not (load_ok and ratio_ok):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
