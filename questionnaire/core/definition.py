"""THE questionnaire: its pages, questions, choices, hints, "why we ask" and shown-when conditions (data).

Built and checked by questions.build() on import; the types and constructors are in questions.py.
Texts are English msgids, marked with N_() so that Babel extracts them.
"""

from __future__ import annotations

from collections.abc import Mapping

from questionnaire.core.questions import N_, Page, build, multi, number, page, single, text, yn, ynu

LOCAL_ROUTES = ["muscle", "joint", "under_skin", "spine_neck", "not_sure"]

PAGES_DEFINITION: tuple[Page, ...] = (
    # --- A2. Urgent check (asked first) ---
    page(
        "urgent",
        N_("Urgent check"),
        yn(
            "chest_pain_now",
            N_("Do you have chest pain, pressure, or tightness right now?"),
            N_("Select yes if you have chest pain, pressure, or tightness right now"),
            why=N_(
                "Chest pain can be a sign of a heart problem. If you have it now, you need medical help straight away."
            ),
        ),
        yn(
            "breathing_trouble_now",
            N_("Are you having trouble breathing right now?"),
            N_("Select yes if you are having trouble breathing right now"),
            why=N_("Trouble breathing can be serious. If you have it now, you need medical help straight away."),
        ),
        yn(
            "stroke_signs_now",
            N_(
                "Right now, do you have any of these: one side of your face drooping, new weakness or numbness "
                "in an arm or leg, or new trouble speaking or seeing?"
            ),
            N_("Select yes if you have any of these signs right now"),
            why=N_("These can be signs of a stroke. A stroke needs medical help straight away."),
        ),
        ynu(
            "recent_ozone_7d",
            N_("Have you had any ozone treatment in the last 7 days?"),
            N_("Select yes if you have had any ozone treatment in the last 7 days"),
            why=N_(
                "Some problems can start hours or days after a treatment. If you had one recently, we ask "
                "about new symptoms."
            ),
        ),
        ynu(
            "unwell_now",
            N_(
                "Do you have a fever, or feel unwell with an infection (like flu, a chest infection, or a urine "
                "infection) right now?"
            ),
            N_("Select yes if you have a fever or an infection right now"),
            why=N_(
                "If you are ill now, it may be better to wait until you feel better. A clinician will help you decide."
            ),
        ),
        intro=N_("We ask these first so we can tell you straight away if you need medical help."),
    ),
    page(
        "urgent-follow-up",
        N_("More about your recent treatment"),
        multi(
            "post_ozone_red_flags",
            N_("Since that treatment, have you had any of these? Pick all that apply."),
            N_("Select the problems you have had since that treatment, or select none of these"),
            choices=[
                ("chest_pain", N_("Chest pain")),
                ("fainting", N_("Fainting or passing out")),
                ("seizure", N_("A fit (seizure)")),
                ("confusion", N_("New confusion or memory problems")),
                ("weakness_numbness_speech", N_("New weakness, numbness, or trouble speaking")),
                ("vision", N_("New trouble seeing")),
                ("severe_headache", N_("A very bad headache")),
                ("breathing", N_("Trouble breathing")),
                ("none_of_these", N_("None of these")),
                ("not_sure", N_("Not sure")),
            ],
            why=N_(
                "Serious problems have been reported after ozone treatment. These signs mean you may need "
                "medical help now."
            ),
            shown_when={"q": "recent_ozone_7d", "in": ["yes", "not_sure"]},
        ),
        ynu(
            "post_ozone_site_problem",
            N_(
                "Think of any ozone treatment in the last 7 days. Since then, has the place where the needle went in "
                "become more red, hot, or swollen, or leaked pus? Or have you had a fever?"
            ),
            N_("Select yes if the place where the needle went in has changed, or you have had a fever"),
            why=N_(
                "These can be signs of an infection. An infection after an injection needs medical advice the same day."
            ),
            shown_when={"q": "recent_ozone_7d", "in": ["yes", "not_sure"]},
        ),
    ),
    # --- A1. About you and the treatment ---
    page(
        "about",
        N_("About you and the treatment"),
        single(
            "respondent_role",
            N_("Who is filling in this form?"),
            N_("Select who is filling in this form"),
            choices=[
                ("patient", N_("Me, the patient")),
                ("parent_or_guardian", N_("A parent or guardian of the patient")),
                ("family_or_carer", N_("A family member or carer helping the patient")),
                ("clinic_staff", N_("Clinic staff helping the patient")),
                ("someone_else", N_("Someone else")),
            ],
            why=N_("If someone else fills in the form, the clinician will also check the answers with the patient."),
        ),
        number(
            "patient_age_years",
            N_("How old is the patient? (in years)"),
            N_("Enter the patient's age in years, as a number"),
            min=0,
            max=120,
            suffix=N_("years"),
            why=N_("If the patient is under 18, our team needs to talk with a parent or guardian first."),
        ),
        ynu(
            "decision_help",
            N_("Does the patient usually need someone else to help them make decisions about their health care?"),
            N_("Select yes if the patient usually needs help to make decisions about their health care"),
            why=N_(
                "The patient must agree to any treatment. If they need help to decide, our team will make "
                "sure the right person is involved."
            ),
        ),
        multi(
            "treatment_types",
            N_("Which treatment are you asking about? Pick all that apply."),
            N_("Select the treatments you are asking about, or select I'm not sure"),
            choices=[
                (
                    "blood_drip",
                    N_(
                        "Ozone mixed with your own blood, then given back through a drip in "
                        "your arm (called 'major autohemotherapy' or 'MAH')"
                    ),
                ),
                ("muscle", N_("An injection into a muscle")),
                ("joint", N_("An injection into a joint, like a knee or shoulder")),
                ("under_skin", N_("An injection just under the skin")),
                ("spine_neck", N_("An injection in the back or neck, near the spine")),
                ("not_sure", N_("I'm not sure")),
            ],
            exclusive=("not_sure",),
            means_all="not_sure",
            why=N_("Some questions matter only for some treatments. This helps us ask you the right questions."),
        ),
    ),
    # --- A3. Blood ---
    page(
        "blood",
        N_("Your blood"),
        ynu(
            "g6pd_deficiency",
            N_('Has a doctor ever told you that you have G6PD deficiency (also called "favism")?'),
            N_("Select yes if a doctor has told you that you have G6PD deficiency"),
            hint=N_(
                "You are born with it. With this condition, some foods (like fava beans) or some medicines "
                "can damage your red blood cells."
            ),
            why=N_(
                "Some ozone treatments mix ozone with your blood. With G6PD deficiency, red blood cells can "
                "be damaged more easily, so a clinician needs to know."
            ),
        ),
        ynu(
            "red_cell_breakdown",
            N_(
                "Have you ever been told that your red blood cells break down too fast (haemolytic anaemia)? "
                "Or have you had very dark, cola-coloured pee with yellow skin or eyes after a food or medicine?"
            ),
            N_("Select yes if you have been told your red blood cells break down too fast, or have had these signs"),
            why=N_(
                "Ozone mixed with blood can affect red blood cells. If yours break down too fast, a "
                "clinician needs to check this first."
            ),
        ),
        ynu(
            "anaemia_recent",
            N_("In the last 6 months, has a doctor told you that you have anaemia (a low blood count or low iron)?"),
            N_("Select yes if a doctor has told you in the last 6 months that you have anaemia"),
            why=N_(
                "Some treatments take some of your blood. If your blood count is low, the clinician may "
                "need to change the plan."
            ),
        ),
        ynu(
            "bleeding_problem",
            N_(
                "Do you have a bleeding problem, like haemophilia or von Willebrand disease? Or do you bleed for "
                "a long time, or bruise very easily?"
            ),
            N_("Select yes if you have a bleeding problem, or you bleed for a long time or bruise very easily"),
            why=N_("Treatments use needles. If you bleed or bruise easily, a clinician needs to check this first."),
        ),
        ynu(
            "low_platelets",
            N_(
                "Has a doctor told you that your platelet count is low? (Platelets are tiny cells that help your "
                "blood clot.)"
            ),
            N_("Select yes if a doctor has told you that your platelet count is low"),
            why=N_("Platelets help stop bleeding. If you have too few, a needle can cause more bleeding or bruising."),
        ),
        ynu(
            "blood_thinner",
            N_("Do you take a medicine that thins your blood or stops clots?"),
            N_("Select yes if you take a medicine that thins your blood or stops clots"),
            hint=N_(
                "For example: warfarin, acenocoumarol, phenprocoumon, apixaban, rivaroxaban, dabigatran, "
                "edoxaban, heparin or enoxaparin injections, clopidogrel, ticagrelor, or aspirin every day."
            ),
            why=N_(
                "Some treatments use needles. Medicines that thin the blood can make bleeding or bruising "
                "more likely, so a clinician needs to know."
            ),
        ),
    ),
    page(
        "blood-follow-up",
        N_("Your blood: a few more questions"),
        ynu(
            "anaemia_needed_transfusion",
            N_("In the last 6 months, have you needed a blood transfusion or an iron drip for anaemia?"),
            N_("Select yes if you needed a blood transfusion or an iron drip for anaemia"),
            why=N_("This tells the clinician how low your blood count was."),
            shown_when={"q": "anaemia_recent", "in": ["yes", "not_sure"]},
        ),
        text(
            "blood_thinner_name",
            N_("If you take a medicine like this, which one? Write the name if you know it."),
            optional=True,
            why=N_("Different blood thinners work in different ways. The name helps the clinician plan."),
            shown_when={"q": "blood_thinner", "in": ["yes", "not_sure"]},
        ),
    ),
    # --- A4. Heart and circulation (two short pages) ---
    page(
        "heart",
        N_("Your heart"),
        ynu(
            "heart_event_6m",
            N_(
                "In the last 6 months, have you had a heart attack, heart surgery, or a stent (a small tube) put "
                "in a heart artery?"
            ),
            N_("Select yes if you have had a heart attack, heart surgery, or a stent in the last 6 months"),
            why=N_("After a recent heart problem, treatment may need to wait. A clinician will look at this with you."),
        ),
        ynu(
            "stroke_ever",
            N_('Have you ever had a stroke or a "mini-stroke" (TIA)?'),
            N_("Select yes if you have ever had a stroke or a mini-stroke"),
            why=N_(
                "Strokes have been reported after some ozone treatments. A clinician needs to know about "
                "any stroke you have had."
            ),
        ),
        ynu(
            "heart_condition",
            N_("Has a doctor ever said you have a heart condition?"),
            N_("Select yes if a doctor has said you have a heart condition"),
            hint=N_("For example: heart failure, an irregular heartbeat, or a heart valve problem."),
            why=N_(
                "A heart condition can change how your body copes with treatment. The clinician will talk "
                "about it with you."
            ),
        ),
        ynu(
            "chest_pain_past_month",
            N_("In the past month, have you had chest pain when you were resting or doing everyday things?"),
            N_("Select yes if you have had chest pain in the past month when resting or doing everyday things"),
            why=N_("Chest pain can be a sign of a heart problem. A clinician needs to check this first."),
        ),
        ynu(
            "hole_in_heart",
            N_('Has a doctor ever told you that you have a "hole in the heart"?'),
            N_("Select yes if a doctor has told you that you have a hole in the heart"),
            hint=N_(
                "This is a small opening between the two top parts of the heart. (Doctors may call it a "
                "PFO, short for patent foramen ovale, or an ASD.)"
            ),
            why=N_(
                "With a hole in the heart, gas bubbles can travel to the brain. This has been reported after "
                "some ozone treatments."
            ),
        ),
    ),
    page(
        "circulation",
        N_("Your blood pressure and fainting"),
        ynu(
            "high_bp",
            N_("Has a doctor told you that you have high blood pressure?"),
            N_("Select yes if a doctor has told you that you have high blood pressure"),
            why=N_(
                "If your blood pressure is not under control, treatment may need to wait. Staff may check it "
                "on the day."
            ),
        ),
        ynu(
            "pril_medicine",
            N_('Do you take a blood pressure or heart medicine whose name ends in "-pril"?'),
            N_('Select yes if you take a medicine whose name ends in "-pril"'),
            hint=N_("For example: ramipril, lisinopril, enalapril, perindopril, or captopril."),
            why=N_(
                "These medicines may lower your blood pressure during treatments that use your blood. Please "
                "do not stop any medicine unless the doctor who prescribes it tells you to."
            ),
        ),
        yn(
            "fainting_12m",
            N_("In the last 12 months, have you fainted (passed out) or lost your balance because of dizziness?"),
            N_("Select yes if you have fainted or lost your balance because of dizziness in the last 12 months"),
            hint=N_(
                "Answer No if the dizziness only happened when you were breathing very fast, like during hard exercise."
            ),
            why=N_(
                "Some people feel faint during treatment. If we know, staff can plan ahead, for example by "
                "having you lie down."
            ),
        ),
        ynu(
            "faint_with_needles",
            N_("Have you ever fainted, or nearly fainted, during a blood test, an injection, or a drip?"),
            N_("Select yes if you have fainted or nearly fainted during a blood test, an injection, or a drip"),
            why=N_("If needles make you feel faint, staff can have you lie down during treatment."),
        ),
    ),
    page(
        "heart-follow-up",
        N_("Your heart: a few more questions"),
        ynu(
            "stroke_recent_or_bleed",
            N_("If you have had a stroke: was it in the last 6 months, or was it caused by bleeding in the brain?"),
            N_("Select yes if a stroke was in the last 6 months or was caused by bleeding in the brain"),
            why=N_("A recent stroke, or one caused by bleeding, needs a clinician to look at it first."),
            shown_when={"q": "stroke_ever", "in": ["yes", "not_sure"]},
        ),
        ynu(
            "heart_condition_worse",
            N_(
                "If you have a heart condition: in the last 3 months, has it got worse, or did you need to go to "
                "hospital for it?"
            ),
            N_("Select yes if your heart condition got worse or you went to hospital for it in the last 3 months"),
            why=N_(
                "If your heart condition has changed lately, treatment may need to wait. A clinician will "
                "talk with you."
            ),
            shown_when={"q": "heart_condition", "in": ["yes", "not_sure"]},
        ),
        ynu(
            "high_bp_controlled",
            N_("If you have high blood pressure: is it usually kept under control with treatment?"),
            N_("Select yes if your blood pressure is usually kept under control with treatment"),
            why=N_("If your blood pressure is not under control, treatment may need to wait."),
            shown_when={"q": "high_bp", "in": ["yes", "not_sure"]},
        ),
    ),
    # --- A5. Hormones and sugar ---
    page(
        "hormones",
        N_("Your thyroid and blood sugar"),
        ynu(
            "overactive_thyroid",
            N_(
                "Do you have an overactive thyroid? (This is also called hyperthyroidism or Graves' disease. It "
                "can make your heart race and make you lose weight.)"
            ),
            N_("Select yes if you have an overactive thyroid"),
            hint=N_("Answer No if your thyroid is underactive."),
            why=N_(
                "If an overactive thyroid is not under control, treatment may need to wait. A clinician "
                "needs to check this."
            ),
        ),
        ynu(
            "diabetes",
            N_("Do you have diabetes?"),
            N_("Select yes if you have diabetes"),
            why=N_(
                "If your diabetes is not steady, treatment may need to wait. Staff may also check your blood "
                "sugar on the day."
            ),
        ),
    ),
    page(
        "hormones-follow-up",
        N_("Your thyroid and blood sugar: a few more questions"),
        ynu(
            "thyroid_controlled",
            N_(
                "If you have an overactive thyroid: is it under control? (A doctor checked it with a blood test in "
                "the last 6 months and told you the levels are normal.)"
            ),
            N_("Select yes if your overactive thyroid is under control"),
            why=N_("This helps the clinician know if your thyroid is steady."),
            shown_when={"q": "overactive_thyroid", "in": ["yes", "not_sure"]},
        ),
        ynu(
            "diabetes_unstable",
            N_(
                "In the last 3 months, has your blood sugar been very high or very low? Or have you needed a "
                "hospital or an ambulance because of your blood sugar?"
            ),
            N_("Select yes if your diabetes has caused these problems in the last 3 months"),
            why=N_("If your diabetes has not been steady lately, treatment may need to wait."),
            shown_when={"q": "diabetes", "in": ["yes", "not_sure"]},
        ),
        ynu(
            "diabetes_low_sugar_meds",
            N_(
                "Do you use insulin, or tablets that can make your blood sugar go too low (for example "
                "gliclazide or glipizide)?"
            ),
            N_("Select yes if you use insulin or tablets that can make your blood sugar go too low"),
            why=N_(
                "Your blood sugar could go too low during your visit. Staff may check it and ask you to bring "
                "your usual diabetes supplies."
            ),
            shown_when={"q": "diabetes", "in": ["yes", "not_sure"]},
        ),
    ),
    # --- A6. Brain and lungs ---
    page(
        "brain-lungs",
        N_("Your brain and lungs"),
        ynu(
            "seizures",
            N_("Do you have epilepsy, or have you had a fit (seizure) in the last 12 months?"),
            N_("Select yes if you have epilepsy or have had a fit in the last 12 months"),
            why=N_(
                "Fits have been reported after some ozone treatments. A clinician needs to know if you have "
                "epilepsy or fits."
            ),
        ),
        ynu(
            "lung_condition",
            N_("Do you have asthma, COPD (emphysema or long-term bronchitis), or another long-term lung condition?"),
            N_("Select yes if you have asthma, COPD, or another long-term lung condition"),
            why=N_(
                "Breathing in ozone can irritate the lungs and make asthma worse. The clinic needs to know so "
                "it can plan your visit."
            ),
        ),
    ),
    page(
        "brain-lungs-follow-up",
        N_("Your lungs: a few more questions"),
        ynu(
            "lung_flare_4w",
            N_(
                "In the last 4 weeks, have you needed steroid tablets, a lot more inhaler than usual, or hospital "
                "care for your breathing?"
            ),
            N_("Select yes if you have needed extra treatment for your breathing in the last 4 weeks"),
            why=N_("If your breathing has been worse lately, treatment may need to wait."),
            shown_when={"q": "lung_condition", "in": ["yes", "not_sure"]},
        ),
    ),
    # --- A7. Pregnancy ---
    page(
        "pregnancy",
        N_("Pregnancy and breastfeeding"),
        single(
            "pregnant",
            N_("Are you pregnant, or could you be pregnant?"),
            N_("Select if you are pregnant or could be pregnant"),
            choices=[
                ("yes", N_("Yes")),
                ("no", N_("No")),
                ("not_sure", N_("Not sure")),
                ("not_applicable", N_("This does not apply to me")),
                ("prefer_private", N_("I'd rather talk about this in private")),
            ],
            why=N_(
                "Many sources advise against ozone treatment during pregnancy. If you might be pregnant, a "
                "clinician needs to talk with you first."
            ),
        ),
        single(
            "breastfeeding",
            N_("Are you breastfeeding?"),
            N_("Select if you are breastfeeding"),
            choices=[("yes", N_("Yes")), ("no", N_("No")), ("not_applicable", N_("This does not apply to me"))],
            why=N_(
                "Little is known about ozone treatment while breastfeeding. The clinician will talk about it with you."
            ),
        ),
    ),
    # --- A8. Past reactions and allergies ---
    page(
        "reactions",
        N_("Past reactions and allergies"),
        ynu(
            "prior_ozone",
            N_("Have you ever had ozone treatment before (of any kind)?"),
            N_("Select yes if you have had ozone treatment before"),
            why=N_("How you felt after a past treatment helps the clinician plan this one."),
        ),
        ynu(
            "severe_allergy_ever",
            N_("Have you ever had a severe allergic reaction (anaphylaxis) to anything?"),
            N_("Select yes if you have ever had a severe allergic reaction"),
            hint=N_("For example, your throat swelled up or you could not breathe."),
            why=N_(
                "Allergic reactions have been reported with ozone treatment. If you have had a severe "
                "reaction before, staff need to be ready."
            ),
        ),
        multi(
            "allergy_items",
            N_("Are you allergic to any of these? Pick all that apply."),
            N_("Select the things you are allergic to, or select none of these"),
            choices=[
                ("latex", N_("Latex (rubber gloves, balloons)")),
                ("local_anaesthetic", N_("Numbing medicine (local anaesthetic, like lidocaine)")),
                ("heparin", N_("Heparin")),
                ("citrate", N_("Citrate")),
                ("skin_cleaners", N_("Iodine or chlorhexidine skin cleaners")),
                ("plasters_tape", N_("Plasters or medical tape")),
                ("none_of_these", N_("None of these")),
                ("not_sure", N_("Not sure")),
            ],
            why=N_(
                "Some of these may be used during treatment. If you are allergic, staff can use something "
                "else or take extra care."
            ),
        ),
    ),
    page(
        "reactions-follow-up",
        N_("Your past ozone treatment"),
        multi(
            "prior_ozone_types",
            N_("If you have had ozone treatment before, what kind? Pick all that apply."),
            N_("Select the kinds of ozone treatment you have had, or select not sure"),
            choices=[
                ("blood_drip", N_("Ozone mixed with my blood and given back by drip")),
                ("muscle", N_("Injection into a muscle")),
                ("joint", N_("Injection into a joint")),
                ("under_skin", N_("Injection under the skin")),
                ("spine_neck", N_("Injection in the back or neck")),
                ("direct_iv_gas", N_("Ozone gas injected straight into a vein")),
                ("other", N_("Other (for example, in the bottom/rectum, ear, or a sauna)")),
                ("not_sure", N_("Not sure")),
            ],
            exclusive=("not_sure",),
            why=N_("This helps the clinician make sense of any reaction you had."),
            shown_when={"q": "prior_ozone", "in": ["yes", "not_sure"]},
        ),
        ynu(
            "prior_ozone_problem",
            N_("If you have had ozone treatment before, did you have any problems during or after it?"),
            N_("Select yes if you had any problems during or after your ozone treatment"),
            why=N_("A problem with an earlier treatment can happen again. The clinician needs to know."),
            shown_when={"q": "prior_ozone", "in": ["yes", "not_sure"]},
        ),
    ),
    page(
        "reactions-detail",
        N_("What happened after your past treatment"),
        multi(
            "prior_ozone_problem_type",
            N_("What happened? Pick all that apply."),
            N_("Select what happened, or select something else"),
            choices=[
                ("fainting", N_("Felt faint or fainted")),
                ("rash", N_("Rash, hives, or itching")),
                ("swelling_or_breathing", N_("Swelling of the face, lips, or throat, or trouble breathing")),
                ("chest_pain_or_racing_heart", N_("Chest pain or a racing heart")),
                ("seizure", N_("A fit (seizure)")),
                ("confusion_weakness_vision_speech", N_("Confusion, weakness, or trouble seeing or speaking")),
                ("site_infection", N_("The skin where the needle went in became red, hot, swollen, or leaked pus")),
                ("something_else", N_("Something else")),
            ],
            exclusive=(),
            why=N_("Some reactions are more serious than others. This tells the clinician what to check."),
            shown_when={"q": "prior_ozone_problem", "in": ["yes", "not_sure"]},
        ),
        text(
            "prior_ozone_problem_details",
            N_("Please tell us what happened, and when."),
            optional=True,
            multiline=True,
            why=N_("Your own words help the clinician understand what happened."),
            shown_when={"q": "prior_ozone_problem", "in": ["yes", "not_sure"]},
        ),
    ),
    # --- A9. The injection site (local routes) ---
    page(
        "injection-site",
        N_("Where the injection would go"),
        text(
            "injection_body_area",
            N_("Where on your body would the injection go?"),
            optional=True,
            hint=N_("For example, right knee or lower back. Leave this empty if you do not know yet."),
            why=N_("This helps the clinician check the part of your body where the needle would go."),
            shown_when={"q": "treatment_types", "any_of": LOCAL_ROUTES},
        ),
        ynu(
            "skin_problem_at_site",
            N_(
                "Where the injection would go, is there a cut, a sore, a rash, or a skin infection (skin that is "
                "red, hot, swollen, or leaking)?"
            ),
            N_("Select yes if there is a cut, a sore, a rash, or a skin infection where the injection would go"),
            why=N_(
                "A needle going through broken or infected skin can spread infection. A clinician needs to "
                "check the skin first."
            ),
            shown_when={"q": "treatment_types", "any_of": LOCAL_ROUTES},
        ),
        ynu(
            "hot_swollen_joint",
            N_("If the injection would go into a joint: is that joint red, hot, and very swollen right now?"),
            N_("Select yes if the joint is red, hot, and very swollen right now"),
            why=N_("A hot, swollen joint may be infected. A clinician needs to check it before any injection."),
            shown_when={"q": "treatment_types", "any_of": ["joint", "not_sure"]},
        ),
    ),
    # --- A10. Other ---
    page(
        "other",
        N_("Other things we need to know"),
        ynu(
            "recent_surgery",
            N_("Have you had an operation in the last 2 weeks, or do you have one planned in the next 2 weeks?"),
            N_("Select yes if you have had an operation in the last 2 weeks or have one planned in the next 2 weeks"),
            why=N_("Treatment close to an operation may need to wait. The clinician will help plan the timing."),
        ),
        ynu(
            "replacing_advised_treatment",
            N_(
                "Are you thinking of having ozone treatment instead of a treatment your doctor has advised? (For "
                "example, for cancer, an infection, or a heart problem.)"
            ),
            N_("Select yes if you are thinking of having ozone instead of a treatment your doctor advised"),
            why=N_(
                "Stopping or delaying a treatment your doctor advised can harm your health. Our team will "
                "talk with you about it."
            ),
        ),
        ynu(
            "doctor_said_no",
            N_(
                "Has a doctor ever told you not to have ozone treatment, injections, or treatments that use your blood?"
            ),
            N_("Select yes if a doctor has told you not to have these treatments"),
            why=N_(
                "Your doctor may know something important about your health. With your permission, the "
                "clinician may contact them."
            ),
        ),
        ynu(
            "immune_weakened",
            N_("Do you have a condition, or take a medicine, that weakens your immune system?"),
            N_("Select yes if you have a condition or take a medicine that weakens your immune system"),
            hint=N_(
                "For example: steroid tablets for more than 3 weeks, chemotherapy, medicines after a "
                "transplant, or injections or drips for arthritis, psoriasis or bowel disease."
            ),
            why=N_(
                "A weak immune system makes infections more likely after an injection. The clinician needs to know."
            ),
        ),
        text(
            "medicines_list",
            N_(
                "Please list all the medicines you take. Include ones you buy without a prescription, vitamins, "
                "and herbal products."
            ),
            N_("List the medicines you take, or write none"),
            hint=N_('Write "none" if you do not take any.'),
            why=N_(
                "Some medicines matter for treatment, such as blood thinners. Please do not stop any medicine "
                "unless the doctor who prescribes it tells you to."
            ),
            multiline=True,
        ),
        text(
            "other_concerns",
            N_("Is there anything else about your health that you think the clinic should know before treatment?"),
            optional=True,
            multiline=True,
        ),
    ),
    # --- Contact details (not used by rules) ---
    page(
        "contact",
        N_("Contact details"),
        text("contact_name", N_("Your name"), N_("Enter your name"), autocomplete="name"),
        text(
            "contact_phone",
            N_("Phone number"),
            optional=True,
            hint=N_("For example 0161 496 0000 or +34 600 000 000"),
            input_type="tel",
            autocomplete="tel",
        ),
        text("contact_email", N_("Email address"), optional=True, input_type="email", autocomplete="email"),
        single(
            "contact_time",
            N_("When is the best time to call you?"),
            N_("Select when we should call you"),
            choices=[
                ("morning", N_("Morning (9am to 12pm)")),
                ("afternoon", N_("Afternoon (12pm to 5pm)")),
                ("evening", N_("Evening (5pm to 7pm)")),
                ("any_time", N_("Any time")),
            ],
        ),
        intro=N_(
            "Only the clinic's team will see these details. We use them to call you back. Give a phone "
            "number, an email address, or both."
        ),
    ),
    # --- Declaration ---
    page(
        "declaration",
        N_("Declaration"),
        yn(
            "declaration",
            N_(
                "I have answered these questions as well as I can. I will tell the clinic if my health changes "
                "before my visit. I understand that this form does not decide whether this treatment is right for "
                "me."
            ),
            N_("Confirm the declaration to send your answers"),
            checkbox=True,
        ),
    ),
)

QUESTIONNAIRE = build(PAGES_DEFINITION)

# The contact page's answers as the staff pages name them, in the page's order (English and not
# marked for translation: the staff area is in English; the patient read each question's text).
CONTACT_LABELS: Mapping[str, str] = {
    "contact_name": "Name",
    "contact_phone": "Phone",
    "contact_email": "Email",
    "contact_time": "Preferred time",
}
