"""Specification of the queue and agent routes: GET /queues, /queues/{name}, /agents, and an
agent's login, logout, pause (POST) and unpause (DELETE .../pause)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.http_support import FakeQueues, a_busy_morning, client, make_app


@pytest.mark.asyncio
async def test_get_queues_answers_every_queue_with_callers_agents_and_figures() -> None:
    """GET /queues: every queue in file order, each with its waiting callers (next first), its
    members and agents (logged in or not), and today's figures; times are ISO 8601."""
    async with client(make_app(queues=a_busy_morning())) as http:
        response = await http.get("/queues")
    assert response.status_code == 200
    sales, support = response.json()["queues"]
    assert (sales["name"], sales["strategy"]) == ("sales", "longest-idle")
    assert (support["name"], support["strategy"]) == ("support", "round-robin")
    assert sales["waiting"] == [
        {
            "call_id": "c7",
            "caller_number": "1000",
            "caller_name": "Bob",
            "position": 1,
            "joined": "2024-05-01T10:00:57.960000Z",
            "waiting_seconds": 42.04,
            "offered_to": ["2000"],
        },
        {
            "call_id": "c8",
            "caller_number": "1001",
            "caller_name": "Carol",
            "position": 2,
            "joined": "2024-05-01T10:01:28Z",
            "waiting_seconds": 12.0,
            "offered_to": [],
        },
    ]
    assert sales["agents"][0] == {
        "extension": "2000",
        "state": "ringing",
        "since": "2024-05-01T10:01:40Z",
        "seconds_in_state": 0.0,
        "queues": ["sales"],
        "pause_reason": None,
        "reachable": True,
        "calls_today": 0,
        "call_id": "c7",
    }
    assert [(a["extension"], a["state"]) for a in sales["agents"]] == [
        ("2000", "ringing"),
        ("2001", "logged-out"),
        ("2002", "logged-out"),
    ]
    assert support["waiting"] == []


@pytest.mark.asyncio
async def test_todays_figures_are_rounded_to_a_tenth_of_a_second() -> None:
    """The figures carry every count, the service level with its threshold, and seconds
    rounded to one decimal; a figure with no call to measure yet is null."""
    async with client(make_app()) as http:
        sales = (await http.get("/queues/sales")).json()["today"]
        support = (await http.get("/queues/support")).json()["today"]
    assert sales == {
        "date": "2024-05-01",
        "offered": 12,
        "answered": 10,
        "abandoned": 1,
        "overflowed": 1,
        "answered_within_sl": 9,
        "service_level_pct": 75.0,
        "service_level_threshold": 20.0,
        "average_speed_of_answer": 7.5,
        "longest_wait": 42.0,
        "average_handle_time": 95.5,
    }
    assert support["service_level_pct"] is None
    assert support["average_speed_of_answer"] is None
    assert support["service_level_threshold"] == 30.0


@pytest.mark.asyncio
async def test_get_one_queue_is_the_same_as_in_the_list() -> None:
    """GET /queues/{name} answers that queue, exactly as GET /queues shows it."""
    async with client(make_app(queues=a_busy_morning())) as http:
        one = await http.get("/queues/sales")
        listed = (await http.get("/queues")).json()["queues"][0]
    assert (one.status_code, one.json()) == (200, listed)


@pytest.mark.asyncio
async def test_an_unknown_queue_is_404_naming_it() -> None:
    """A queue name nobody configured: 404 queue-not-found, its name in the details."""
    async with client(make_app()) as http:
        response = await http.get("/queues/billing")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "queue-not-found",
        "message": "no queue 'billing'",
        "details": {"queue": "billing"},
    }


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["sa les", "sales.x", "q" * 65, "sälj"])
async def test_a_malformed_queue_name_is_400_naming_the_path(name: str) -> None:
    """Queue names are 1 to 64 of A-Z a-z 0-9 _ -: anything else is a 400 naming path.name."""
    async with client(make_app()) as http:
        response = await http.get(f"/queues/{name}")
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (400, "invalid-request")
    assert error["details"]["field"] == "path.name"


@pytest.mark.asyncio
async def test_get_agents_lists_every_member_and_agent_by_extension() -> None:
    """GET /agents: every extension any queue names, with its state, clock, queues, reason,
    calls today and whether it is reachable."""
    queues = FakeQueues()
    queues.agents_["2002"].reachable = False
    async with client(make_app(queues=queues)) as http:
        response = await http.get("/agents")
    assert response.status_code == 200
    agents = response.json()["agents"]
    assert [a["extension"] for a in agents] == ["2000", "2001", "2002"]
    assert agents[0] == {
        "extension": "2000",
        "state": "available",
        "since": "2024-05-01T10:00:00Z",
        "seconds_in_state": 100.0,
        "queues": ["sales"],
        "pause_reason": None,
        "reachable": True,
        "calls_today": 0,
        "call_id": None,
    }
    assert (agents[2]["state"], agents[2]["queues"], agents[2]["reachable"]) == (
        "logged-out",
        [],
        False,
    )


# ----------------------------------------------------------------------------------- login
@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [None, {}, {"queues": None}],
    ids=["no body", "empty object", "queues null"],
)
async def test_login_without_queues_logs_in_to_every_queue_listing_the_agent(
    body: dict[str, Any] | None,
) -> None:
    """POST /agents/{ext}/login without queues: every queue that lists it as an agent; the
    answer is the agent afterwards, its clock restarted."""
    queues = FakeQueues()
    async with client(make_app(queues=queues)) as http:
        response = await http.post("/agents/2001/login", json=body)
    assert response.status_code == 200
    agent = response.json()
    assert (agent["state"], agent["queues"]) == ("available", ["sales", "support"])
    assert (agent["since"], agent["seconds_in_state"]) == ("2024-05-01T10:01:40Z", 0.0)
    assert queues.calls == [("login", "2001", ("sales", "support"))]


@pytest.mark.asyncio
async def test_login_to_named_queues_only() -> None:
    """With `queues`, only those; the others stay as they were."""
    queues = FakeQueues()
    async with client(make_app(queues=queues)) as http:
        response = await http.post("/agents/2001/login", json={"queues": ["support"]})
    assert (response.status_code, response.json()["queues"]) == (200, ["support"])
    assert queues.calls == [("login", "2001", ("support",))]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("extension", "body", "status", "code", "details"),
    [
        ("2999", None, 404, "agent-not-found", {"extension": "2999"}),
        ("2001", {"queues": ["billing"]}, 404, "queue-not-found", {"queue": "billing"}),
        (
            "2002",
            {"queues": ["support"]},
            409,
            "agent-state-conflict",
            {
                "extension": "2002",
                "reason": "is not listed as an agent of queue 'support'",
                "queue": "support",
            },
        ),
        (
            "2000",
            {"queues": ["sales"]},
            409,
            "agent-state-conflict",
            {
                "extension": "2000",
                "reason": "is a static member of queue 'sales'",
                "queue": "sales",
            },
        ),
    ],
    ids=["unknown agent", "unknown queue", "not listed", "static member"],
)
async def test_a_refused_login_says_why(
    extension: str,
    body: dict[str, Any] | None,
    status: int,
    code: str,
    details: dict[str, str],
) -> None:
    """An extension no queue names is 404, so is a queue nobody configured; a queue that does
    not list it as an agent (or where it is a static member) is 409 with the reason."""
    queues = FakeQueues()
    async with client(make_app(queues=queues)) as http:
        response = await http.post(f"/agents/{extension}/login", json=body)
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["details"]) == (status, code, details)
    assert queues.calls == []


# ---------------------------------------------------------------------------------- logout
@pytest.mark.asyncio
async def test_logout_without_queues_leaves_every_queue_it_logged_in_to() -> None:
    """POST /agents/{ext}/logout without a body: out of every queue; it is logged out."""
    queues = FakeQueues()
    async with client(make_app(queues=queues)) as http:
        await http.post("/agents/2001/login")
        response = await http.post("/agents/2001/logout")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["queues"]) == ("logged-out", [])
    assert queues.calls[-1] == ("logout", "2001", ("sales", "support"))


@pytest.mark.asyncio
async def test_logout_of_one_queue_keeps_the_others() -> None:
    """With `queues`, only those are left; the agent stays available in the rest."""
    async with client(make_app()) as http:
        await http.post("/agents/2001/login")
        response = await http.post("/agents/2001/logout", json={"queues": ["sales"]})
    assert (response.json()["state"], response.json()["queues"]) == ("available", ["support"])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("extension", "reason"),
    [
        ("2000", "is a static member of queue 'sales': pause it instead"),
        ("2001", "is not logged in to any queue dynamically"),
    ],
)
async def test_a_refused_logout_is_409_with_the_reason(extension: str, reason: str) -> None:
    """A static member cannot log out (it is paused instead), nor can a logged-out agent."""
    async with client(make_app()) as http:
        response = await http.post(
            f"/agents/{extension}/logout",
            json={"queues": ["sales"]} if extension == "2000" else None,
        )
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (409, "agent-state-conflict")
    assert error["details"]["reason"] == reason
    assert error["message"] == f"agent {extension}: {reason}"


# ------------------------------------------------------------------------------ pause
@pytest.mark.asyncio
async def test_pause_with_a_reason_and_unpause() -> None:
    """POST /agents/{ext}/pause {"reason"}: paused with the reason; DELETE takes it back to
    available, the reason gone. The clock restarts each time."""
    queues = FakeQueues()
    async with client(make_app(queues=queues)) as http:
        paused = await http.post("/agents/2000/pause", json={"reason": "점심 lunch"})
        queues.now += 60
        shown = (await http.get("/agents")).json()["agents"][0]
        back = await http.delete("/agents/2000/pause")
    assert paused.status_code == 200
    assert (paused.json()["state"], paused.json()["pause_reason"]) == ("paused", "점심 lunch")
    assert (shown["state"], shown["seconds_in_state"]) == ("paused", 60.0)
    assert back.status_code == 200
    assert (back.json()["state"], back.json()["pause_reason"]) == ("available", None)
    assert back.json()["since"] == "2024-05-01T10:02:40Z"
    assert queues.calls == [("pause", "2000", "점심 lunch"), ("unpause", "2000")]


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [None, {}, {"reason": None}])
async def test_pause_without_a_reason(body: dict[str, Any] | None) -> None:
    """The reason is optional."""
    queues = FakeQueues()
    async with client(make_app(queues=queues)) as http:
        response = await http.post("/agents/2000/pause", json=body)
    assert (response.json()["state"], response.json()["pause_reason"]) == ("paused", None)
    assert queues.calls == [("pause", "2000", None)]


@pytest.mark.asyncio
async def test_pausing_again_changes_only_the_reason() -> None:
    """A paused agent paused again keeps its clock and gets the new reason."""
    queues = FakeQueues()
    async with client(make_app(queues=queues)) as http:
        await http.post("/agents/2000/pause", json={"reason": "lunch"})
        queues.now += 5
        response = await http.post("/agents/2000/pause", json={"reason": "training"})
    assert response.json()["pause_reason"] == "training"
    assert response.json()["seconds_in_state"] == 5.0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "reason"),
    [("POST", "is logged out"), ("DELETE", "is not paused")],
)
async def test_pausing_a_logged_out_agent_or_unpausing_a_free_one_is_409(
    method: str, reason: str
) -> None:
    """A logged-out agent cannot pause; an agent that is not paused cannot unpause."""
    queues = FakeQueues()
    async with client(make_app(queues=queues)) as http:
        response = await http.request(method, "/agents/2001/pause")
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (409, "agent-state-conflict")
    assert error["details"] == {"extension": "2001", "reason": reason}
    assert queues.calls == []


# ------------------------------------------------------------------------------ input rules
AGENT_OPERATIONS = [
    ("POST", "login"),
    ("POST", "logout"),
    ("POST", "pause"),
    ("DELETE", "pause"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "action"), AGENT_OPERATIONS)
@pytest.mark.parametrize("extension", ["20x1", "2", "12345678901", "+2001"])
async def test_a_malformed_extension_is_400_naming_the_path(
    method: str, action: str, extension: str
) -> None:
    """Extensions are 2 to 10 digits: anything else is a 400 naming path.extension."""
    queues = FakeQueues()
    async with client(make_app(queues=queues)) as http:
        response = await http.request(method, f"/agents/{extension}/{action}")
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (400, "invalid-request")
    assert error["details"]["field"] == "path.extension"
    assert queues.calls == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("login", {"queues": []}, "body.queues"),
        ("login", {"queues": "sales"}, "body.queues"),
        ("login", {"queues": ["sa les"]}, "body.queues.0"),
        ("login", {"queues": ["sales", 7]}, "body.queues.1"),
        ("login", {"queues": ["sales"], "queue": "sales"}, "body.queue"),
        ("logout", {"queues": ["q" * 65]}, "body.queues.0"),
        ("logout", {"queue": "sales"}, "body.queue"),
        ("logout", ["sales"], "body"),
        ("pause", {"reason": ""}, "body.reason"),
        ("pause", {"reason": "x" * 65}, "body.reason"),
        ("pause", {"reason": "lunch\nbreak"}, "body.reason"),
        ("pause", {"reason": "lunch\x07"}, "body.reason"),
        ("pause", {"reason": " lunch"}, "body.reason"),
        ("pause", {"reason": 5}, "body.reason"),
        ("pause", {"why": "lunch"}, "body.why"),
    ],
)
async def test_a_malformed_body_is_400_naming_the_field(
    action: str, body: object, field: str
) -> None:
    """`queues` is a non-empty list of queue names, `reason` 1 to 64 printable characters on
    one line; nothing else is accepted, and the ACD is not asked."""
    queues = FakeQueues()
    async with client(make_app(queues=queues)) as http:
        response = await http.post(f"/agents/2000/{action}", json=body)
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (400, "invalid-request")
    assert error["details"]["field"] == field
    assert queues.calls == []


@pytest.mark.asyncio
async def test_a_bad_reason_gets_a_readable_message() -> None:
    """The message says what a reason may be rather than quoting a regular expression."""
    async with client(make_app()) as http:
        response = await http.post("/agents/2000/pause", json={"reason": "a\tb"})
    assert response.json()["error"]["message"] == (
        "body.reason: Value error, must be printable, on one line, without a space at either end"
    )


@pytest.mark.asyncio
async def test_a_reason_of_64_characters_is_accepted() -> None:
    """The limit is inclusive, and inner spaces are fine."""
    reason = "in a meeting " + "x" * 51
    async with client(make_app()) as http:
        response = await http.post("/agents/2000/pause", json={"reason": reason})
    assert (response.status_code, response.json()["pause_reason"]) == (200, reason)


QUEUE_OPERATIONS = [
    ("GET", "/queues", None),
    ("GET", "/queues/sales", None),
    ("GET", "/agents", None),
    ("POST", "/agents/2001/login", {"queues": ["sales"]}),
    ("POST", "/agents/2000/logout", None),
    ("POST", "/agents/2000/pause", {"reason": "lunch"}),
    ("DELETE", "/agents/2000/pause", None),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "path", "body"), QUEUE_OPERATIONS)
async def test_every_queue_operation_needs_the_token(
    method: str, path: str, body: dict[str, Any] | None
) -> None:
    """Without the bearer token: 401 unauthorized, before any word about the input, and the
    ACD is not asked."""
    queues = FakeQueues()
    async with client(make_app(queues=queues), auth=False) as http:
        response = await http.request(method, path, json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert queues.calls == []


@pytest.mark.asyncio
async def test_openapi_documents_the_queue_errors() -> None:
    """The document names the codes each status stands for."""
    async with client(make_app()) as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
    login = paths["/agents/{extension}/login"]["post"]["responses"]
    assert set(login) == {"200", "400", "401", "403", "404", "409"}
    assert "agent-not-found" in login["404"]["description"]
    assert "queue-not-found" in login["404"]["description"]
    assert "agent-state-conflict" in login["409"]["description"]
    assert set(paths["/agents/{extension}/pause"]) == {"post", "delete"}
    assert "queue-not-found" in paths["/queues/{name}"]["get"]["responses"]["404"]["description"]
    assert set(paths["/queues"]["get"]["responses"]) == {"200", "400", "401", "403"}
