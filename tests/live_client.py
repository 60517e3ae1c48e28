"""A small HTTP client for tests against a LiveServer (standard library only, loopback only).

client = HttpClient(server.base_url)
reference = complete_patient(client, answers)      # the whole patient flow, like a browser
staff_sign_in(client, app, "desk@clinic.example", secret)
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE

from .helpers import form_data
from .staff_helpers import PASSWORD, current_code

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str
    set_cookies: list[str] = field(default_factory=list)

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    @property
    def path(self) -> str:
        """The path (and query) the redirect goes to."""
        parts = urlsplit(self.location)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def token(self) -> str:
        found = TOKEN.search(self.body)
        assert found, f"no CSRF token in a {self.status} page"
        return found.group(1)


class HttpClient:
    """One browser: a cookie jar (name -> value, every path), no redirects followed."""

    def __init__(self, base_url: str, *, timeout: float = 30, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        assert parts.hostname == "127.0.0.1", "loopback only"
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.headers = dict(headers or {})
        self.token = ""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        keep_cookies: bool = True,
    ) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            sent = {"Host": f"{self.host}:{self.port}", **self.headers, **(headers or {})}
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read().decode("utf-8", errors="replace")
            set_cookies = response.headers.get_all("Set-Cookie") or []
            reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data, set_cookies)
        finally:
            conn.close()
        if keep_cookies:
            self.take_cookies(reply)
        found = TOKEN.search(reply.body)
        if found:
            self.token = found.group(1)
        return reply

    def take_cookies(self, reply: Reply) -> None:
        for header in reply.set_cookies:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "expires=thu, 01 jan 1970" in header.lower() or "max-age=0" in header.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(
        self,
        path: str,
        data: dict[str, Any] | list[tuple[str, Any]] | None = None,
        *,
        token: bool = True,
        headers: dict[str, str] | None = None,
        keep_cookies: bool = True,
    ) -> Reply:
        fields: Any = dict(data or {}) if not isinstance(data, list) else list(data)
        if token and isinstance(fields, dict):
            fields = {"csrf_token": self.token, **fields}
        body = urlencode(fields, doseq=True).encode()
        return self.request(
            "POST",
            path,
            body=body,
            keep_cookies=keep_cookies,
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )


def reach_check_answers(client: HttpClient, answers: dict[str, Any]) -> Reply | None:
    """Start and answer every page shown for these answers; None when the form stopped early."""
    client.get("/")
    started = client.post("/start")
    assert started.status in (302, 303), (started.status, started.body[:500])
    page = QUESTIONNAIRE.pages[0]
    while page is not None and page.id != "declaration":
        client.get(f"/questions/{page.id}")
        reply = client.post(f"/questions/{page.id}", form_data(page.id, answers))
        assert reply.status in (302, 303), (page.id, reply.status, reply.body[:1000])
        if "/get-help-now" in reply.location:
            return None
        page = flow.next_page(page.id, answers)
    return client.get("/check-answers")


def complete_patient(client: HttpClient, answers: dict[str, Any]) -> Reply:
    """The whole flow; returns the reply of the final send (a redirect to the outcome)."""
    check = reach_check_answers(client, answers)
    assert check is not None and check.status == 200, check
    return client.post("/check-answers", {"declaration": "yes"})


def staff_sign_in(client: HttpClient, email: str, secret: str, password: str = PASSWORD) -> str:
    """Password, then the current code; returns the code used."""
    client.get("/staff/sign-in")
    reply = client.post("/staff/sign-in", {"email": email, "password": password})
    assert reply.status == 302, (reply.status, reply.body[:500])
    client.get(reply.path)
    code = current_code(secret)
    done = client.post(reply.path, {"code": code})
    assert done.status == 302, (done.status, done.body[:500])
    return code
