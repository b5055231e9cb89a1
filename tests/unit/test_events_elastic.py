"""Pure parts of the Elasticsearch sink: bulk answer classification, backoff, auth headers."""

from __future__ import annotations

import random

import pytest

from stasis_app.events.ecs import DataStream
from stasis_app.events.elastic import Backoff, _classify, _Retry
from stasis_app.settings import elasticsearch_headers as auth_headers


def _item(status: int, error: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"status": status}
    if error:
        body["error"] = {"type": error, "reason": "because"}
    return {"create": body}


def test_items_are_sorted_by_what_to_do_next() -> None:
    """2xx and 409 are delivered, 429/5xx retried, other 4xx dead-lettered with the reason."""
    ids = ["a", "b", "c", "d", "e", "f"]
    answer = {
        "errors": True,
        "items": [
            _item(201),
            _item(409, "version_conflict_engine_exception"),
            _item(429, "es_rejected_execution_exception"),
            _item(503, "unavailable_shards_exception"),
            _item(400, "mapper_parsing_exception"),
            _item(200),
        ],
    }
    outcome = _classify(ids, answer)
    assert outcome.delivered == ["a", "b", "f"]
    assert outcome.dead == [("e", "400 mapper_parsing_exception: because")]
    assert outcome.retry is not None
    assert outcome.retry.startswith("2 item(s)")
    assert outcome.auth is None


def test_an_item_refused_for_privileges_stops_the_sink() -> None:
    outcome = _classify(["a"], {"items": [_item(403, "security_exception")]})
    assert outcome.auth == "403 security_exception: because"
    assert outcome.dead == []


def test_a_response_that_does_not_match_the_request_is_retried() -> None:
    with pytest.raises(_Retry):
        _classify(["a", "b"], {"items": [_item(201)]})
    with pytest.raises(_Retry):
        _classify(["a"], ["not", "a", "dict"])


def test_backoff_is_capped_full_jitter() -> None:
    backoff = Backoff(initial=0.5, maximum=4.0)
    rng = random.Random(1)  # noqa: S311 - jitter
    for attempt in range(50):
        delay = backoff.delay(attempt, rng)
        assert 0 <= delay <= min(4.0, 0.5 * 2**attempt)


def test_auth_headers_from_the_environment() -> None:
    assert auth_headers({}) == {}
    assert auth_headers({"CTI_ELASTICSEARCH_API_KEY": "abc"}) == {"Authorization": "ApiKey abc"}
    basic = auth_headers({"CTI_ELASTICSEARCH_USER": "elastic", "CTI_ELASTICSEARCH_PASSWORD": "pw"})
    assert basic == {"Authorization": "Basic ZWxhc3RpYzpwdw=="}


@pytest.mark.parametrize(
    ("namespace", "name"),
    [("default", "logs-cti.calls-default"), ("prod", "logs-cti.calls-prod")],
)
def test_the_data_stream_name_follows_the_elastic_naming_scheme(namespace: str, name: str) -> None:
    assert DataStream(namespace=namespace).name == name


@pytest.mark.parametrize("namespace", ["", "Prod", "eu-west", "a b", "x*", "n" * 101])
def test_a_namespace_elasticsearch_refuses_is_refused_here(namespace: str) -> None:
    """Uppercase, '-' (it separates the name's parts), spaces, wildcards, over 100 characters."""
    with pytest.raises(ValueError, match="namespace"):
        DataStream(namespace=namespace)
