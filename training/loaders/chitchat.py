"""The BYU PCC chit-chat corpus (pip package `chitchat-dataset`, MIT) -> canonical conversations.

Real two-person small talk between strangers getting to know each other: the benign side of real
chat that a grooming detector must stay quiet on. `dataset.json` maps a corpus key (a UUID) to
``{"messages": [[{"text", "timestamp", "sender"}, ...], ...], ...}``: a list of turns, each a list
of messages by one sender. Every conversation becomes label 0, `source: "chitchat"`, `lang: "en"`,
id ``chitchat-<key>``; senders become authors, timestamps are kept, empty texts are dropped (a
conversation left with no message is skipped and counted). Whether a conversation may ever be
trained on is decided by `groomguard.training.data.real_test_rule` from its key, never by this loader.

Errors read ``dataset.json: <key>: turn T message M: field: what is wrong`` and never quote text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from groomguard.errors import DataError
from groomguard.jsonl import ReadReport, describe_validation_error
from groomguard.schema import Conversation, Message
from groomguard.training.loaders.progress import LoadProgress

SOURCE = "chitchat"
ID_PREFIX = "chitchat-"


def default_chitchat_path() -> Path:
    """`dataset.json` of the installed `chitchat-dataset` package (in the `train` extra)."""
    try:
        import chitchat_dataset
    except ImportError:
        raise DataError("the chitchat corpus needs the `chitchat-dataset` package "
                        "(pip install 'groomguard[train]'), or pass --input path/to/dataset.json") from None
    path = Path(chitchat_dataset.__file__).parent / "dataset.json"
    if not path.is_file():
        raise DataError(f"{path}: chitchat-dataset is installed but its dataset.json is missing")
    return path


def _messages(key: str, record: Any, where: str) -> list[Message]:
    if not isinstance(record, dict) or not isinstance(record.get("messages"), list):
        raise DataError(f"{where}: {key}: messages: expected a list of turns")
    out: list[Message] = []
    for t, turn in enumerate(record["messages"]):
        if not isinstance(turn, list):
            raise DataError(f"{where}: {key}: turn {t}: expected a list of messages")
        for m, raw in enumerate(turn):
            if not isinstance(raw, dict):
                raise DataError(f"{where}: {key}: turn {t} message {m}: expected an object")
            text = raw.get("text")
            if not isinstance(text, str):
                raise DataError(f"{where}: {key}: turn {t} message {m}: text: expected a string")
            if not text.strip():
                continue
            try:
                out.append(Message(author=raw.get("sender"), text=text, timestamp=raw.get("timestamp"),
                                   message_id=f"t{t}m{m}"))
            except ValidationError as exc:
                raise DataError(f"{where}: {key}: turn {t} message {m}: {describe_validation_error(exc)}") from None
    return out


def iter_chitchat(path: str | Path | None = None, *, strict: bool = True, report: ReadReport | None = None,
                  progress: LoadProgress | None = None) -> Iterator[Conversation]:
    """Stream the corpus in key order of the file. `path` None = the installed package's copy."""
    path = Path(path) if path is not None else default_chitchat_path()
    report = report if report is not None else ReadReport()
    try:
        with path.open("rb") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a chitchat dataset.json ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object mapping corpus keys to conversations")
    if progress is not None:
        progress.total, progress.unit = len(data), "conversations"
    for key, record in data.items():
        if progress is not None:
            progress.done += 1
        try:
            messages = _messages(str(key), record, str(path))
        except DataError as exc:
            if strict:
                raise
            report.add_error(str(exc))
            continue
        if not messages:
            report.add_error(f"{path}: {key}: no non-empty messages; skipped")
            continue
        report.read += 1
        yield Conversation(conversation_id=f"{ID_PREFIX}{key}", messages=messages, label=0, source=SOURCE,
                           lang="en", tags=["real-chat"])
