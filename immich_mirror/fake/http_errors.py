"""Error answers in each version's shape, and the request validation that produces them.

v2 (NestJS + class-validator): `{message, error, statusCode, correlationId}`, `message` a list of
strings on validation errors. v3 (zod): `{message}` only, `"Validation failed"` plus `errors[]`
(zod issues) on validation errors, and the correlation id in the `X-Correlation-ID` header.
"""

from __future__ import annotations

import json
import random
import re
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from starlette.responses import Response

from immich_mirror.fake.state import parse_dt

V4_PATTERN = "/^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12})$/"
_V4 = re.compile(V4_PATTERN.strip("/"))
_ANY_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_REASONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    429: "Too Many Requests", 500: "Internal Server Error",
}


@dataclass
class Issue:
    v2: str
    v3: dict[str, Any]


@dataclass
class ApiFailure(Exception):
    """Raised by handlers; the app turns it into the version's error answer."""

    status: int
    message: str = ""
    issues: list[Issue] = field(default_factory=list)
    correlation_in_body: bool = True


def correlation_id() -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=8))


def error_response(version: str, failure: ApiFailure) -> Response:
    cid = correlation_id()
    if version.startswith("2."):
        message: Any = [i.v2 for i in failure.issues] if failure.issues else failure.message
        body: dict[str, Any] = {
            "message": message, "error": _REASONS.get(failure.status, "Error"), "statusCode": failure.status,
        }
        if failure.correlation_in_body:
            body["correlationId"] = cid
        return json_response(body, failure.status)
    if failure.issues:
        body = {"message": "Validation failed", "errors": [i.v3 for i in failure.issues]}
    else:
        body = {"message": failure.message}
    return json_response(body, failure.status, {"X-Correlation-ID": cid})


def json_response(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    """JSON with the content type Immich sends (`application/json; charset=utf-8`)."""
    try:
        # orjson: a search page of 1000 assets encodes in a few ms instead of tens.
        content = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # what orjson refuses (ints beyond 64 bits, ...) the stdlib still writes
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(
        content, status_code=status, media_type="application/json; charset=utf-8", headers=headers
    )


def not_found(permission: str) -> ApiFailure:
    return ApiFailure(400, f"Not found or no {permission} access")


def is_uuid(value: object, version: str) -> bool:
    if not isinstance(value, str):
        return False
    return bool((_ANY_UUID if version.startswith("2.") else _V4).match(value))


_TYPE_NAMES = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}


def _received(value: object) -> str:
    if value is None:
        return "null"
    return _TYPE_NAMES.get(type(value), "unknown")


class Check:
    """Collects validation issues for one request body; `done()` raises them all at once."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.issues: list[Issue] = []

    def add(self, v2: str, v3: dict[str, Any]) -> None:
        self.issues.append(Issue(v2, v3))

    def done(self) -> None:
        if self.issues:
            raise ApiFailure(400, issues=self.issues)

    def missing_type(self, key: str, expected: str, value: object, v2: str) -> None:
        self.add(v2, {"expected": expected, "code": "invalid_type", "path": [key],
                      "message": f"Invalid input: expected {expected}, received {_received(value)}"})

    def _bad_uuid(self, path: list[str | int], v2: str) -> None:
        self.add(v2, {"origin": "string", "code": "invalid_format", "format": "uuid", "pattern": V4_PATTERN,
                      "path": path, "message": "Invalid UUID"})

    def path_id(self, value: str, name: str = "id") -> None:
        if not is_uuid(value, self.version):
            self._bad_uuid([name], f"{name} must be a UUID")

    def uuid(self, body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
        value = body.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            self.missing_type(key, "string", value, f"{key} must be a UUID")
            return None
        if not is_uuid(value, self.version):
            self._bad_uuid([key], f"{key} must be a UUID")
            return None
        return value

    def uuids(self, body: dict[str, Any], key: str, *, required: bool = True) -> list[str]:
        value = body.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            if self.version.startswith("2."):
                for text in (f"each value in {key} must be a UUID", f"{key} should not be empty",
                             f"{key} must be an array"):
                    self.add(text, {})
            else:
                received = _received(value) if key in body else "undefined"
                self.add("", {"expected": "array", "code": "invalid_type", "path": [key],
                              "message": f"Invalid input: expected array, received {received}"})
            return []
        bad = [i for i, item in enumerate(value) if not is_uuid(item, self.version)]
        if bad:
            if self.version.startswith("2."):
                self.add(f"each value in {key} must be a UUID", {})
            else:
                for i in bad:
                    self._bad_uuid([key, i], "")
        return [v for v in value if isinstance(v, str)]

    def boolean(self, body: dict[str, Any], key: str) -> bool | None:
        value = body.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.missing_type(key, "boolean", value, f"{key} must be a boolean value")
            return None
        return value

    def integer(self, body: dict[str, Any], key: str, *, low: int | None = None, high: int | None = None,
                coerce: bool = False) -> int | None:
        value = body.get(key)
        if value is None:
            return None
        if coerce and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            self.missing_type(key, "number", value, f"{key} must be an integer number")
            return None
        number = int(value)
        if high is not None and number > high:
            self.add(f"{key} must not be greater than {high}", {
                "origin": "number", "code": "too_big", "maximum": high, "inclusive": True, "path": [key],
                "message": f"Too big: expected number to be <={high}"})
            return None
        if low is not None and number < low:
            self.add(f"{key} must not be less than {low}", {
                "origin": "number", "code": "too_small", "minimum": low, "inclusive": True, "path": [key],
                "message": f"Too small: expected number to be >={low}"})
            return None
        return number

    def date(self, body: dict[str, Any], key: str) -> datetime | None:
        value = body.get(key)
        if value is None:
            return None
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return parse_dt(value)
        except ValueError:
            self.add(f"{key} must be a valid ISO 8601 date string", {
                "origin": "string", "code": "invalid_format", "format": "datetime", "path": [key],
                "message": "Invalid ISO datetime"})
            return None

    def choice(self, body: dict[str, Any], key: str, values: tuple[str, ...]) -> str | None:
        value = body.get(key)
        if value is None:
            return None
        if value not in values:
            quoted = "|".join(f'"{v}"' for v in values)
            self.add(f"{key} must be one of the following values: {', '.join(values)}", {
                "code": "invalid_value", "values": list(values), "path": [key],
                "message": f"Invalid option: expected one of {quoted}"})
            return None
        return str(value)

    def string(self, body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
        value = body.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            self.missing_type(key, "string", value, f"{key} must be a string")
            return None
        return value
