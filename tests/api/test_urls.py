"""normalize_server_url and web_link (immich_mirror/urls.py; lives here because tests/api is the client's)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from immich_mirror.errors import ConfigError
from immich_mirror.urls import normalize_server_url, web_link


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("localhost:2283", "http://localhost:2283"),
        ("localhost", "http://localhost"),
        ("nas:2283/", "http://nas:2283"),
        ("192.168.1.5:2283/api", "http://192.168.1.5:2283"),
        ("192.168.1.5:2283/api/", "http://192.168.1.5:2283"),
        ("10.0.0.2", "http://10.0.0.2"),
        ("photos.example.com", "https://photos.example.com"),
        ("photos.example.com:443", "https://photos.example.com"),
        ("photos.example.com:2283", "http://photos.example.com:2283"),
        ("Photos.Example.COM/", "https://photos.example.com"),
        ("https://photos.example.com/api", "https://photos.example.com"),
        ("HTTPS://photos.example.com:443/", "https://photos.example.com"),
        ("http://photos.example.com:80/api", "http://photos.example.com"),
        ("https://example.com/immich/api/", "https://example.com/immich"),
        ("https://example.com:8443", "https://example.com:8443"),
        ("immich.local", "http://immich.local"),
        ("  http://nas:2283  ", "http://nas:2283"),
        ("[::1]:2283", "http://[::1]:2283"),
        ("::1", "http://[::1]"),
        ("https://nas//api//", "https://nas"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize_server_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "http://http://nas:2283",
        "https://http://nas",
        "http//nas:2283",
        "http:nas",
        "ftp://nas",
        "nas:99999",
        "nas:abc",
        "nas:",
        "http://user:pw@nas",
        "https://nas/?x=1",
        "https://nas/#frag",
        "photos example com",
        "https://",
        "bad_host!:2283",
        "999.1.1.1",
        "https://nas/api/api",
    ],
)
def test_garbage_is_a_config_error_naming_the_value(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        normalize_server_url(raw)
    assert " ".join(repr(raw).split()) in str(info.value)  # the error tree folds whitespace
    assert "\n" not in str(info.value)


def test_web_link() -> None:
    assert web_link("https://photos.example.com", "abc") == "https://photos.example.com/photos/abc"
    assert web_link("https://photos.example.com/", "abc") == "https://photos.example.com/photos/abc"


_label = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
_host = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
)


@given(
    scheme=st.sampled_from(["", "http://", "https://", "HTTP://"]),
    host=_host,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    prefix=st.sampled_from(["", "/immich"]),
    suffix=st.sampled_from(["", "/", "/api", "/api/", "//api//"]),
)
def test_normalize_properties(scheme: str, host: str, port: int | None, prefix: str, suffix: str) -> None:
    raw = f"{scheme}{host}{'' if port is None else f':{port}'}{prefix}{suffix}"
    out = normalize_server_url(raw)
    assert out.count("://") == 1
    assert out.startswith(("http://", "https://"))
    assert not out.endswith("/") and not out.endswith("/api")
    assert normalize_server_url(out) == out  # idempotent: a stored URL re-normalises to itself
    assert host in out
    if scheme:
        assert out.startswith(scheme.lower())
    if port is not None and port not in (80, 443):
        assert f":{port}" in out
    assert out.endswith(prefix)
    assert out.split("://", 1)[1].split("/")[0] in (host, f"{host}:{port}")
