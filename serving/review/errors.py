"""What the review service refuses with: the API maps these to 404/409/422 problem+json
(serving/api/errors.py) and the desk to its own error pages."""

from __future__ import annotations

from groomguard.errors import GroomguardError


class NotFound(GroomguardError):
    """No such case (or key)."""


class Conflict(GroomguardError):
    """The request contradicts the current state (e.g. deciding a case that is already final)."""


class InvalidRequest(GroomguardError):
    """A request the service cannot act on (bad filter, too many messages)."""


class LimitExceeded(InvalidRequest):
    """A request over a configured limit (serving/review/request_limits.py). Names the field and
    the setting, never the value: the API answers 422 problem+json with `field`."""

    def __init__(self, field: str, msg: str) -> None:
        super().__init__(f"{field}: {msg}")
        self.field = field
        self.msg = msg
