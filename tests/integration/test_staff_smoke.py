"""A front-desk morning through the test client: sign in, open the top urgent submission, note, status."""

from __future__ import annotations

from flask import Flask

from ..helpers import PERSONAS, Patient
from ..staff_helpers import make_staff, sign_in, token_of


def test_front_desk_handles_the_top_urgent_submission(app: Flask) -> None:
    for level in ("none", "urgent", "discuss_before_booking"):
        Patient(app.test_client()).complete(PERSONAS[level])
    secret = make_staff(app)
    client = app.test_client()
    response = sign_in(client, "desk@clinic.example", secret)
    assert response.status_code == 302
    queue = client.get("/staff/").get_data(as_text=True)
    first_link = queue.index("/staff/submissions/")
    reference = queue[first_link + len("/staff/submissions/") :].split('"')[0]
    page = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    assert "Urgent" in page and "Chest pain or tightness right now" in page and "r_urgent_chest_pain_now" not in page
    assert "Not given" in page  # the form stopped before the contact page
    assert "All answers" not in page  # front desk sees flags and contact, not every answer
    token = token_of(page)
    assert (
        client.post(
            f"/staff/submissions/{reference}/notes", data={"csrf_token": token, "body": "Called, <b>no answer</b>"}
        ).status_code
        == 303
    )
    page = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    assert "Called, &lt;b&gt;no answer&lt;/b&gt;" in page
    version = page.split('name="version" value="')[1].split('"')[0]
    assert (
        client.post(
            f"/staff/submissions/{reference}/status",
            data={"csrf_token": token, "status": "contacted", "version": version},
        ).status_code
        == 303
    )
    conflict = client.post(
        f"/staff/submissions/{reference}/status", data={"csrf_token": token, "status": "closed", "version": version}
    )
    assert conflict.status_code == 409
    assert "Changed by someone else" in conflict.get_data(as_text=True)


def test_front_desk_sees_contact_details_and_triggering_answers(app: Flask) -> None:
    Patient(app.test_client()).complete(PERSONAS["discuss_before_booking"])
    client = app.test_client()
    sign_in(client, "desk@clinic.example", make_staff(app))
    queue = client.get("/staff/").get_data(as_text=True)
    reference = queue.split("/staff/submissions/")[1].split('"')[0]
    page = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    assert "Alex Example" in page and "0161 496 0001" in page
    assert "Takes a blood thinner, injection possible" in page and "r_blood_thinner_injection" not in page
    assert "Do you take a medicine that thins your blood" in page
