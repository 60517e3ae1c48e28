"""gunicorn's access log keeps one line per request: a path with %0A (decoded to a line break before it
is logged) cannot forge a line. A real gunicorn with the production settings (questionnaire.gunicorn_conf)."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from ..servers import HOST, LiveServer

pytestmark = pytest.mark.slow

FORGED = '203.0.113.1 "GET /staff/admin/export" 200 1 0.1s'


def test_a_line_break_in_a_path_cannot_forge_an_access_log_line(tmp_path: Path) -> None:
    with LiveServer(tmp_path, workers=1) as server:
        connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
        path = "/no-such-page%0A" + FORGED.replace(" ", "%20").replace('"', "%22") + "%0D%0Aend%09tab"
        connection.request("GET", path)
        assert connection.getresponse().status == 404
        connection.close()
    lines = server.log_path.read_text(encoding="utf-8").splitlines()
    assert not any(line.startswith(FORGED) or line.startswith("end") for line in lines)
    (logged,) = [line for line in lines if '"GET /no-such-page' in line]  # the access log's line
    assert (
        '"GET /no-such-page\\x0a203.0.113.1 \\x22GET /staff/admin/export\\x22 200 1 0.1s\\x0d\\x0aend\\x09tab" 404'
        in logged
    )
