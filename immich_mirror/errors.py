"""The one exception tree of immich_mirror and autotag.

Every error a user can cause or meet is one of these, and each renders as a single line that says
what to fix. The CLI turns them into ``error: <message>`` and an exit code; tracebacks only with
``--debug``. No message ever contains the API key: errors are built from status, URL path and the
server's own message, never from request headers.

    ImmichMirrorError                 exit 1 unless noted
     ├── ConfigError                  bad config file, key or value (exit 2)
     │    └── RuleError               a classification rule that cannot compile
     ├── ImmichError                  talking to the server failed
     │    ├── ConnectionFailed        DNS, refused, TLS, timeout: "cannot reach Immich at <URL>"
     │    ├── UnsupportedServer       server version too old, or an endpoint it lacks
     │    ├── UnexpectedResponse      non-JSON body, HTML login page, wrong shape
     │    │    ├── NotImmich          the URL leads to something that is not Immich's API
     │    │    └── GarbledResponse    a 200 whose body is no JSON (cut short, HTML, text): retried
     │    └── ApiError                the server answered with an error status
     │         ├── AuthenticationFailed   401
     │         ├── PermissionDenied       403, names the missing permission
     │         ├── NotFound               unknown id (Immich answers 400 "Not found or no ... access")
     │         ├── BadRequest             other 400 (validation)
     │         ├── RateLimited            429
     │         └── ServerError            5xx
     └── MirrorDBError                the SQLite mirror cannot be used
          ├── CorruptDatabase
          ├── DatabaseTooNew          written by a newer version of this tool
          ├── DatabaseBusy            another autotag process holds the lock
          └── DatabaseUnwritable      read-only directory, full disk
"""

from __future__ import annotations


class ImmichMirrorError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # One line, always: a multi-line server message would break the CLI's promise.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(ImmichMirrorError):
    exit_code = 2


class RuleError(ConfigError):
    pass


class ImmichError(ImmichMirrorError):
    pass


class ConnectionFailed(ImmichError):
    pass


class UnsupportedServer(ImmichError):
    pass


class UnexpectedResponse(ImmichError):
    pass


class NotImmich(UnexpectedResponse):
    """A 404 where every Immich answers: the server URL is wrong, not the server's version."""


class GarbledResponse(UnexpectedResponse):
    """A 200 whose body is not JSON: cut short, a proxy's HTML page, other text. Like a 502, it is
    retried for idempotent requests; ``response`` is kept so the caller can still say what it expected."""

    def __init__(self, message: str, *, response: object = None) -> None:
        super().__init__(message)
        self.response = response


class ApiError(ImmichError):
    """An error status from Immich. ``status``, ``method``, ``path`` and ``server_message`` are kept."""

    def __init__(
        self, message: str, *, status: int = 0, method: str = "", path: str = "", server_message: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path
        self.server_message = server_message


class AuthenticationFailed(ApiError):
    pass


class PermissionDenied(ApiError):
    def __init__(self, message: str, *, permission: str = "", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.permission = permission


class NotFound(ApiError):
    pass


class BadRequest(ApiError):
    pass


class RateLimited(ApiError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(ApiError):
    pass


class MirrorDBError(ImmichMirrorError):
    pass


class CorruptDatabase(MirrorDBError):
    pass


class DatabaseTooNew(MirrorDBError):
    pass


class DatabaseBusy(MirrorDBError):
    exit_code = 3


class DatabaseUnwritable(MirrorDBError):
    pass
