"""A form posted from another site is refused without touching the patient's session cookie."""

from __future__ import annotations

from ..helpers import NO_FLAGS, Patient, form_data


def test_a_cross_site_post_is_refused_and_sets_no_cookie(app, patient: Patient) -> None:  # type: ignore[no-untyped-def]
    patient.start()
    data = {"csrf_token": patient.token, **form_data("urgent", NO_FLAGS)}
    # The browser sends no SameSite=Lax cookie with a cross-site post: a client without cookies.
    other_site = app.test_client(use_cookies=False)
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        response = other_site.post("/questions/urgent", data=data, headers=headers)
        assert response.status_code == 403
        assert "Set-Cookie" not in response.headers
    # The patient's own session still works: the same page posted from the site itself is saved.
    same_site = patient.client.post(
        "/questions/urgent", data=data, headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}
    )
    assert same_site.status_code == 302 and same_site.location == "/questions/about"


def test_staff_sign_in_from_another_site_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/staff/sign-in", data={"email": "a@b.c", "password": "x" * 12}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403 and "Set-Cookie" not in response.headers
