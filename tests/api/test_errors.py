"""Error mapping: every recorded error of both versions, proxy pages, redirects and transport faults."""

from __future__ import annotations

import ssl

import httpx
import pytest

from immich_mirror.api.errors import error_from_response, error_from_transport, server_messages
from immich_mirror.errors import (
    ApiError,
    AuthenticationFailed,
    BadRequest,
    ConnectionFailed,
    ImmichError,
    NotFound,
    NotImmich,
    PermissionDenied,
    RateLimited,
    ServerError,
    UnexpectedResponse,
    UnsupportedServer,
)

from .conftest import API_KEY, BASE, VERSIONS, response_from_cassette

# recording -> (error class, text the one-line message must contain)
RECORDED: dict[str, tuple[type[ImmichError], str]] = {
    "error_401_bad_api_key": (
        AuthenticationFailed,
        "Immich rejected the API key (401 Invalid API key): create a new key in "
        "Immich > Account Settings > API Keys",
    ),
    "error_401_no_auth": (AuthenticationFailed, "401 Authentication required"),
    "error_403_missing_permission": (PermissionDenied, "the API key lacks the permission album.read"),
    "error_400_unknown_album": (NotFound, "GET /api/albums/"),
    "error_400_unknown_asset_get": (NotFound, "Not found or no asset.read access"),
    "error_400_unknown_asset_put": (NotFound, "Not found or no asset.update access"),
    "error_400_unknown_tag": (NotFound, "Not found or no tag.read access"),
    "error_400_bulk_put_unknown_ids": (NotFound, "PUT /api/assets"),
    "error_400_invalid_json": (BadRequest, "Expected property name"),
    "error_404_unknown_route": (UnsupportedServer, "may not point at Immich's API"),
    "tags_create_conflict": (BadRequest, "A tag with that name already exists"),
}
VALIDATION: dict[str, dict[str, str]] = {
    # the same bad request, v2 class-validator words vs v3 zod words
    "error_400_malformed_uuid": {"2.7.5": "id must be a UUID", "3.1.0": "id: Invalid UUID"},
    "error_400_search_size_too_big": {
        "2.7.5": "size must not be greater than 1000",
        "3.1.0": "size: Too big: expected number to be <=1000",
    },
    "error_400_bad_body_tags_assets": {
        "2.7.5": "each value in tagIds must be a UUID; tagIds should not be empty",
        "3.1.0": "tagIds: Invalid input: expected array, received undefined; assetIds.0: Invalid UUID",
    },
    "error_bulk_put_date_and_relative": {
        "2.7.5": "dateTimeRelative cannot exist alongside any of the following properties",
        "3.1.0": "dateTimeRelative cannot exist alongside dateTimeOriginal",
    },
}


def _check_line(err: Exception) -> str:
    text = str(err)
    assert "\n" not in text and API_KEY not in text
    return text


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(RECORDED))
def test_recorded_errors(version: str, name: str) -> None:
    cls, expected = RECORDED[name]
    err = error_from_response(response_from_cassette(version, name), base_url=BASE)
    assert type(err) is cls
    assert expected in _check_line(err)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(VALIDATION))
def test_validation_errors_join_the_server_messages(version: str, name: str) -> None:
    err = error_from_response(response_from_cassette(version, name), base_url=BASE)
    assert isinstance(err, BadRequest) and err.status == 400
    text = _check_line(err)
    assert VALIDATION[name][version] in text
    assert "Validation failed" not in text  # the details say more


@pytest.mark.parametrize("version", VERSIONS)
def test_api_error_keeps_status_method_path_and_permission(version: str) -> None:
    err = error_from_response(response_from_cassette(version, "error_403_missing_permission"), base_url=BASE)
    assert isinstance(err, PermissionDenied)
    assert (err.status, err.method, err.path, err.permission) == (403, "GET", "/api/albums", "album.read")
    assert err.server_message == "Missing required permission: album.read"


def test_v3_page_as_string_400() -> None:
    err = error_from_response(
        response_from_cassette("3.1.0", "search_metadata_page_as_string"), base_url=BASE
    )
    assert isinstance(err, BadRequest)
    assert "page: Invalid input: expected number, received string" in _check_line(err)


def test_server_messages_both_shapes() -> None:
    assert server_messages({"message": ["a", "b", "a"], "error": "Bad Request"}) == ["a", "b"]
    assert server_messages(
        {
            "message": "Validation failed",
            "errors": [{"path": ["x", 0], "message": "bad"}, {"path": [], "message": "m"}],
        }
    ) == ["x.0: bad", "m"]
    assert server_messages("oops") == []


def _resp(status: int, *, method: str = "GET", path: str = "/api/albums", **kw: object) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request(method, BASE + path), **kw)  # type: ignore[arg-type]


def test_generic_403_and_sync_refusal() -> None:
    err = error_from_response(
        _resp(403, json={"message": "Sync endpoints cannot be used with API keys"}), base_url=BASE
    )
    assert isinstance(err, PermissionDenied) and err.permission == ""
    assert "Sync endpoints cannot be used with API keys" in _check_line(err)


def test_429_and_5xx() -> None:
    err = error_from_response(_resp(429, headers={"retry-after": "12"}), base_url=BASE)
    assert isinstance(err, RateLimited) and err.retry_after == 12
    assert "retry after 12 s" in _check_line(err)
    err = error_from_response(
        _resp(500, json={"message": "Failed to send sync ack", "statusCode": 500}), base_url=BASE
    )
    assert isinstance(err, ServerError) and "500 Failed to send sync ack" in _check_line(err)
    err = error_from_response(_resp(502, html="<html><body>502 Bad Gateway</body></html>"), base_url=BASE)
    assert isinstance(err, ServerError) and "is the Immich server running?" in _check_line(err)


def test_html_login_page_and_unknown_statuses() -> None:
    page = "<!DOCTYPE html><html><head><title>Sign in - Authelia</title></head>\n<body>x</body></html>"
    err = error_from_response(_resp(401, html=page), base_url=BASE)
    assert isinstance(err, UnexpectedResponse)
    text = _check_line(err)
    assert 'title "Sign in - Authelia"' in text and "reverse-proxy login page" in text
    err = error_from_response(_resp(404, html="<html>nginx</html>"), base_url=BASE)
    assert isinstance(err, NotImmich) and "does not look like Immich's API" in _check_line(err)
    err = error_from_response(_resp(413, json={"message": "request entity too large"}), base_url=BASE)
    assert type(err) is ApiError and "413" in _check_line(err)


def test_redirects_are_explained_not_followed() -> None:
    err = error_from_response(
        _resp(301, headers={"location": "https://immich.test/api/albums"}), base_url=BASE
    )
    assert isinstance(err, UnexpectedResponse) and "use https://" in _check_line(err)
    err = error_from_response(
        _resp(302, headers={"location": "https://sso.example.com/login?rd=x"}), base_url="https://immich.test"
    )
    assert "reverse proxy may require a login" in _check_line(err)


def test_plain_http_to_https_port() -> None:
    nginx = "<html><head><title>400 The plain HTTP request was sent to HTTPS port</title></head></html>"
    err = error_from_response(_resp(400, html=nginx), base_url="http://immich.test:443")
    assert isinstance(err, ConnectionFailed) and "use https://" in _check_line(err)
    closed = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    err = error_from_transport(closed, base_url="http://immich.test:8443", speaks_tls=lambda: True)
    assert "the port speaks HTTPS: use https://" in _check_line(err)
    # A line that merely dropped (the port does not answer a TLS handshake) gets no such hint.
    err = error_from_transport(closed, base_url="http://immich.test:8443", speaks_tls=lambda: False)
    assert "https" not in _check_line(err).split("at http://immich.test:8443")[1]


def _ssl_connect_error(reason: str, *, verify: bool) -> httpx.ConnectError:
    cause: ssl.SSLError
    if verify:
        cause = ssl.SSLCertVerificationError(
            1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {reason} (_ssl.c:1000)"
        )
    else:
        cause = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower()} (_ssl.c:1000)")
    err = httpx.ConnectError(str(cause))
    err.__cause__ = cause
    return err


def test_tls_failures() -> None:
    err = error_from_transport(
        _ssl_connect_error("self-signed certificate", verify=True), base_url="https://nas:2283"
    )
    text = _check_line(err)
    assert text.startswith(
        "cannot reach Immich at https://nas:2283: the TLS certificate could not be verified"
    )
    assert "(self-signed certificate)" in text and "--insecure" in text
    err = error_from_transport(
        _ssl_connect_error("WRONG_VERSION_NUMBER", verify=False), base_url="https://nas:2283"
    )
    assert "does not speak HTTPS" in _check_line(err) and "use http://" in str(err)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), "host name not found (DNS)"),
        (httpx.ConnectError("[Errno 8] nodename nor servname provided, or not known"), "host name not found"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused (is Immich running"),
        (httpx.ConnectTimeout("timed out"), "timed out connecting"),
        (httpx.PoolTimeout("pool"), "no free connection"),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), "closed the connection ([Errno 104]"),
    ],
)
def test_transport_errors(exc: httpx.RequestError, expected: str) -> None:
    err = error_from_transport(exc, base_url="http://nas:2283")
    assert isinstance(err, ConnectionFailed)
    text = _check_line(err)
    assert text.startswith("cannot reach Immich at http://nas:2283: ") and expected in text


def test_read_timeout_names_the_request_and_timeout() -> None:
    exc = httpx.ReadTimeout("timed out", request=httpx.Request("POST", BASE + "/api/search/metadata"))
    err = error_from_transport(exc, base_url=BASE, timeout=30)
    assert "no answer to POST /api/search/metadata within 30 s" in _check_line(err)
