"""Log-injection defence: no client-supplied value can start a new log line.

Client values (conversation ids, case ids) are logged with `%r`, which escapes newlines and other
control characters. As a second line of defence, `EscapeControlChars` is attached to every root
handler by the server: it rewrites any record whose formatted message still holds a control
character (CR, LF, ESC, ...) with those characters escaped, so a value that reaches a log call
unquoted (`x\\n... ERROR groomguard.access: FORGED`) stays on its own line. Tracebacks
(`exc_info`) are untouched; the server does not log them for request errors.
"""

from __future__ import annotations

import logging
import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def escape_control(text: str) -> str:
    """`text` with control characters written as escapes (`\\n`, `\\x1b`, `\\u2028`)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class EscapeControlChars(logging.Filter):
    """Handler filter: escapes control characters in the rendered message (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _CONTROL.search(message):
            record.msg, record.args = escape_control(message), None
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Attach the filter to the handlers of `logger` (default: root), once each."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, EscapeControlChars) for f in handler.filters):
            handler.addFilter(EscapeControlChars())
