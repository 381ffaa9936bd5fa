"""The retry policy: what is retried, how long it waits, what it logs. Runs with zero sleep."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from immich_mirror.api.client import ImmichClient
from immich_mirror.api.retry import RetryPolicy, parse_retry_after
from immich_mirror.errors import BadRequest, ConnectionFailed, RateLimited, ServerError

from .conftest import API_KEY, Recorder, json_response

MakeClient = Callable[..., tuple[ImmichClient, Recorder]]


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _flaky(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = datetime(2026, 11, 25, 3, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 25 Nov 2026 03:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 25 Nov 2026 02:00:00 GMT", now=now) == 0.0


def test_503_then_success(make_client: MakeClient) -> None:
    client, rec = make_client(_flaky(json_response(503, {"message": "busy"}), json_response(200, [])))
    assert client.list_tags() == []
    assert len(rec.requests) == 2
    assert client.requests == 3  # version + 2 attempts


def test_429_honours_retry_after_seconds_and_dates(make_client: MakeClient) -> None:
    sleeps = Sleeps()
    limited = httpx.Response(429, text="slow down", headers={"retry-after": "7"})
    client, _ = make_client(_flaky(limited, json_response(200, [])), retry=RetryPolicy(sleep=sleeps))
    client.list_tags()
    assert sleeps == [7.0]

    sleeps.clear()
    capped = httpx.Response(429, headers={"retry-after": "100000"})
    client, _ = make_client(
        _flaky(capped, json_response(200, [])), retry=RetryPolicy(sleep=sleeps, max_retry_after=60)
    )
    client.list_tags()
    assert sleeps == [60.0]


def test_429_gives_up_as_rate_limited(make_client: MakeClient) -> None:
    client, rec = make_client(
        _flaky(httpx.Response(429, headers={"retry-after": "1"})), retry=RetryPolicy.no_sleep(max_attempts=3)
    )
    with pytest.raises(RateLimited) as info:
        client.list_tags()
    assert info.value.retry_after == 1.0 and len(rec.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_4xx_are_never_retried(make_client: MakeClient, status: int) -> None:
    client, rec = make_client(_flaky(json_response(status, {"message": "no"})))
    with pytest.raises(Exception):  # noqa: B017 - the class is tested in test_errors
        client.list_tags()
    assert len(rec.requests) == 1


def test_500_is_retried_once_for_idempotent_requests_only(make_client: MakeClient) -> None:
    boom = json_response(500, {"message": "Failed to send sync ack"})
    client, rec = make_client(_flaky(boom))
    with pytest.raises(ServerError, match="500 Failed to send sync ack"):
        client.list_tags()
    assert len(rec.requests) == 2
    client, rec = make_client(_flaky(boom))
    with pytest.raises(ServerError):
        client.create_album("x")
    assert len(rec.requests) == 1


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_only_for_idempotent(make_client: MakeClient, status: int) -> None:
    client, rec = make_client(
        _flaky(httpx.Response(status, text="<html>bad gateway</html>")),
        retry=RetryPolicy.no_sleep(max_attempts=4),
    )
    with pytest.raises(ServerError, match="reverse proxy"):
        client.list_tags()
    assert len(rec.requests) == 4
    client, rec = make_client(_flaky(httpx.Response(status)))
    with pytest.raises(ServerError):
        client.create_album("x")
    assert len(rec.requests) == 1


def test_connect_errors_are_retried_even_for_posts(make_client: MakeClient) -> None:
    created = json_response(201, {"id": "al", "albumName": "x", "ownerId": "me"})
    client, rec = make_client(_flaky(httpx.ConnectError("[Errno 111] Connection refused"), created))
    assert client.create_album("x").id == "al"
    assert len(rec.requests) == 2


def test_read_timeouts_are_not_retried_for_non_idempotent_posts(make_client: MakeClient) -> None:
    client, rec = make_client(_flaky(httpx.ReadTimeout("timed out")))
    with pytest.raises(ConnectionFailed, match="no answer to POST /api/albums"):
        client.create_album("x")
    assert len(rec.requests) == 1
    client, rec = make_client(_flaky(httpx.ReadTimeout("timed out"), json_response(200, [])))
    assert client.list_tags() == []
    assert len(rec.requests) == 2


def test_remote_protocol_errors_retried_for_search(make_client: MakeClient) -> None:
    page = {"assets": {"items": [{"id": "a"}], "nextPage": None}}
    client, _ = make_client(
        _flaky(httpx.RemoteProtocolError("Server disconnected"), json_response(200, page))
    )
    assert list(client.search_assets(visibility="timeline")) == [[{"id": "a"}]]


def test_attempts_and_total_time_are_bounded(make_client: MakeClient) -> None:
    client, rec = make_client(
        _flaky(json_response(503, {"message": "busy"})), retry=RetryPolicy.no_sleep(max_attempts=5)
    )
    with pytest.raises(ServerError):
        client.list_tags()
    assert len(rec.requests) == 5
    client, rec = make_client(
        _flaky(json_response(503, {"message": "busy"})),
        retry=RetryPolicy(max_attempts=50, max_total=0.0, sleep=lambda s: None),
    )
    with pytest.raises(ServerError):
        client.list_tags()
    assert len(rec.requests) == 1


def test_backoff_grows_and_is_capped() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=7, initial=1.0, max_wait=8.0, jitter=0.0, sleep=sleeps)
    calls = []

    def fail() -> None:
        calls.append(1)
        raise httpx.ConnectError("refused")

    with pytest.raises(httpx.ConnectError):
        policy.call(fail, idempotent=True, what="GET /api/x")
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    jittered = Sleeps()
    policy = RetryPolicy(max_attempts=3, initial=1.0, jitter=0.5, sleep=jittered)
    with pytest.raises(httpx.ConnectError):
        policy.call(fail, idempotent=True, what="GET /api/x")
    assert 1.0 <= jittered[0] <= 1.5 and 2.0 <= jittered[1] <= 3.0


def test_each_retry_logs_one_warning_without_secrets(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = make_client(_flaky(json_response(503, {}), json_response(503, {}), json_response(200, [])))
    client.list_tags()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "GET /api/tags failed (HTTP 503); retry 1 of 4" in warnings[0].getMessage()
    for record in caplog.records:
        assert API_KEY not in record.getMessage() and "x-api-key" not in record.getMessage().lower()


def test_bad_request_is_raised_at_once(make_client: MakeClient) -> None:
    client, rec = make_client(_flaky(json_response(400, {"message": ["size must not be greater than 1000"]})))
    with pytest.raises(BadRequest):
        client.list_tags()
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "message",
    [
        "[Errno -2] Name or service not known",
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate",
        "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
    ],
)
def test_permanent_connect_errors_fail_at_once(make_client: MakeClient, message: str) -> None:
    client, rec = make_client(_flaky(httpx.ConnectError(message)))
    with pytest.raises(ConnectionFailed):
        client.list_tags()
    assert len(rec.requests) == 1


def test_transient_dns_is_retried(make_client: MakeClient) -> None:
    dns = httpx.ConnectError("[Errno -3] Temporary failure in name resolution")
    client, rec = make_client(_flaky(dns, json_response(200, [])))
    assert client.list_tags() == []
    assert len(rec.requests) == 2


def test_503_retry_after_is_honoured(make_client: MakeClient) -> None:
    sleeps = Sleeps()
    busy = json_response(503, {"message": "maintenance"}, headers={"retry-after": "3"})
    client, _ = make_client(_flaky(busy, json_response(200, [])), retry=RetryPolicy(sleep=sleeps))
    client.list_tags()
    assert sleeps == [3.0]


LOGIN_PAGE = "<html><head><title>Sign in</title></head><body>log in</body></html>"


@pytest.mark.parametrize(
    "bad",
    [
        httpx.Response(200, content=b'[{"id": "t1", "na', headers={"content-type": "application/json"}),
        httpx.Response(200, text=LOGIN_PAGE, headers={"content-type": "text/html"}),
        httpx.Response(200, text="upstream hiccup", headers={"content-type": "text/plain"}),
    ],
    ids=["truncated", "html", "not-json"],
)
def test_a_body_that_is_not_json_is_retried_like_a_502(make_client: MakeClient, bad: httpx.Response) -> None:
    client, rec = make_client(_flaky(bad, json_response(200, [])))
    assert client.list_tags() == []
    assert len(rec.requests) == 2


def test_a_body_that_stays_bad_ends_with_what_was_expected(make_client: MakeClient) -> None:
    from immich_mirror.errors import UnexpectedResponse

    page = httpx.Response(200, text=LOGIN_PAGE, headers={"content-type": "text/html"})
    client, rec = make_client(_flaky(page))
    with pytest.raises(UnexpectedResponse) as info:
        client.list_tags()
    assert len(rec.requests) == 5
    assert "from GET /api/tags, got an HTML page (text/html, title \"Sign in\")" in info.value.message


def test_a_bad_body_of_a_create_is_not_retried(make_client: MakeClient) -> None:
    from immich_mirror.errors import UnexpectedResponse

    page = httpx.Response(201, text=LOGIN_PAGE, headers={"content-type": "text/html"})
    client, rec = make_client(_flaky(page, json_response(201, {"id": "a1"})))
    with pytest.raises(UnexpectedResponse):
        client.create_album("2019-01-01 x")
    assert len(rec.requests) == 1
