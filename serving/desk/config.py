"""`desk:` section of configs/serve.yaml: the moderator web UI's sessions, lockout and wellness defaults.

The values here only make a partial YAML valid; the shipped defaults live in configs/serve.yaml.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    session_minutes: float = Field(default=480, gt=0)  # absolute lifetime of a login
    idle_minutes: float = Field(default=30, gt=0)  # a session unused this long ends
    secure_cookie: bool = True  # Secure flag; false only for plain-HTTP development on localhost
    lockout_after: int = Field(default=5, ge=1)  # consecutive failed logins before the account locks
    lockout_minutes: float = Field(default=15, gt=0)  # first lock; doubles with each further failure
    # Per client address (guessing spread over many accounts from one address): this many failed
    # logins within client_window_minutes lock the address for client_lockout_minutes, doubling with
    # each further lock. Never reset by a successful login (one valid account must not buy more guesses).
    client_lockout_after: int = Field(default=30, ge=1)
    client_window_minutes: float = Field(default=15, gt=0)
    client_lockout_minutes: float = Field(default=15, gt=0)
    # A claim older than this lapses: the queue shows the case unclaimed and anyone may claim it
    # (a moderator who went home must not hold a case for ever). 0 = claims never lapse.
    claim_minutes: float = Field(default=120, ge=0)
    break_reminder_minutes: float = Field(default=25, gt=0)  # exposure timer turns into a break reminder
    blur_default: bool = True  # new accounts see message text blurred until revealed
    page_size: int = Field(default=25, ge=1, le=200)  # queue rows per page
    min_password_chars: int = Field(default=12, ge=8)
    # Long case pages (issue 25 item 4): runs of at least fold_low_risk_run consecutive low-risk messages
    # fold into one "N low-risk messages - show" row (0 = never fold). Never folded: messages that moved
    # the score, messages at review/high, fold_context messages either side of those, and the first and
    # last fold_keep_edges messages of the case.
    fold_low_risk_run: int = Field(default=8, ge=0)
    fold_keep_edges: int = Field(default=3, ge=0)
    fold_context: int = Field(default=1, ge=0)
    # "This account's other conversations" on a case page: at most this many per author, and at most
    # other_authors authors of the conversation (highest risk in it first); the account page has the rest.
    other_conversations: int = Field(default=20, ge=1, le=200)
    other_authors: int = Field(default=5, ge=1)
