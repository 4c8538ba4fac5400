"""PAN12 sexual-predator-identification XML -> canonical conversations (streaming).

The corpus is one XML file::

    <conversations>
      <conversation id="...">
        <message line="1"><author>..</author><time>03:20</time><text>..</text></message>

It is parsed incrementally (ElementTree's pull parser, the machinery under `iterparse`), fed one
line at a time so errors can name the line; each message and conversation element is cleared as
soon as it has been read, so memory stays flat however large the file is.

Decisions:
- Text is HTML-unescaped once after XML parsing (PAN12 escapes twice: ``&amp;lt;`` -> ``<``);
  a missing or empty ``<text>`` is an empty message.
- ``<time>`` is only ``HH:MM`` with no date or time zone, so no unambiguous datetime exists: it is
  dropped (``timestamp`` stays unset). ``message_id`` is the message's ``line`` attribute.
- With a predator-ids file a conversation is label 1 iff any of its authors is listed
  (``predator_ids`` = those authors, in order of appearance), else 0; without it, unlabelled.
- The problem-2 file (``conversation_id<TAB>line``) sets ``first_risk_index`` to the index of the
  earliest marked message present in the conversation.
- A malformed XML file cannot be resynchronised: that error is fatal even in lenient mode. A bad
  conversation (no id, no messages, a message without author) is raised (strict) or skipped.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from groomguard.errors import DataError
from groomguard.jsonl import ReadReport, describe_validation_error
from groomguard.schema import Conversation, Message
from groomguard.training.loaders.progress import LoadProgress

SOURCE = "pan12"
CHUNK = 1 << 16  # longest piece fed at once; a longer line is fed in pieces (line count stays right)


def read_predator_ids(path: str | Path) -> set[str]:
    """One author id per line (blank lines ignored)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: predator-ids file not found")
    with path.open("r", encoding="utf-8") as fh:
        return {line.strip() for line in fh if line.strip()}


def read_problem2(path: str | Path) -> dict[str, set[str]]:
    """``conversation_id<TAB>line`` per line -> {conversation_id: {line, ...}}."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: problem-2 file not found")
    marks: dict[str, set[str]] = {}
    with path.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit():
                raise DataError(f"{path}:{lineno}: expected 'conversation_id<TAB>message line number'")
            marks.setdefault(parts[0], set()).add(parts[1])
    return marks


@dataclass
class _Conv:
    conversation_id: str | None
    line: int
    messages: list[Message] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # each message's `line` attribute
    error: str | None = None


def _message(elem: ET.Element, where: str) -> tuple[Message, str]:
    line_attr = (elem.get("line") or "").strip()
    author = (elem.findtext("author") or "").strip()
    if not author:
        raise DataError(f"{where}: author: missing or empty")
    text = html.unescape(elem.findtext("text") or "")
    try:
        return Message(author=author, text=text, message_id=line_attr or None), line_attr
    except ValidationError as exc:
        raise DataError(f"{where}: {describe_validation_error(exc)}") from None


def _finish(
    conv: _Conv, where: str, predators: set[str] | None, problem2: dict[str, set[str]] | None
) -> Conversation:
    if conv.error is not None:
        raise DataError(conv.error)
    if not conv.conversation_id:
        raise DataError(f"{where}: conversation: missing id attribute")
    if not conv.messages:
        raise DataError(f"{where}: conversation: has no messages")
    label: Literal[0, 1] | None = None
    present: list[str] = []
    if predators is not None:
        authors = dict.fromkeys(m.author for m in conv.messages)
        present = [a for a in authors if a in predators]
        label = 1 if present else 0
    first_risk: int | None = None
    if problem2 is not None and conv.conversation_id in problem2:
        marked = problem2[conv.conversation_id]
        first_risk = next((i for i, ln in enumerate(conv.lines) if ln in marked), None)
    return Conversation.model_construct(
        conversation_id=conv.conversation_id,
        messages=conv.messages,
        label=label,
        predator_ids=present,
        first_risk_index=first_risk,
        source=SOURCE,
        lang=None,
        tags=[],
    )


def iter_pan12(
    path: str | Path,
    *,
    predators: set[str] | None = None,
    problem2: dict[str, set[str]] | None = None,
    strict: bool = True,
    report: ReadReport | None = None,
    progress: LoadProgress | None = None,
) -> Iterator[Conversation]:
    """Yield conversations from a PAN12 XML file; `progress` counts bytes."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    rep = report if report is not None else ReadReport()
    prog = progress
    if prog is not None:
        prog.total = path.stat().st_size
    parser: ET.XMLPullParser = ET.XMLPullParser(events=("start", "end"))
    root: ET.Element | None = None
    conv: _Conv | None = None
    msg_line = 0
    lineno = 0  # lines completely fed so far
    with path.open("rb") as fh:
        while True:
            chunk = fh.readline(CHUNK)
            here = lineno + 1
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                events: list[tuple[str, ET.Element]] = list(parser.read_events())  # type: ignore[arg-type]
            except ET.ParseError as exc:
                line, col = exc.position if exc.position else (here, 0)
                reason = str(exc).split(":")[0]  # expat's reason, e.g. "mismatched tag"; never the text
                raise DataError(f"{path}:{line}: xml: not well-formed ({reason}, column {col + 1})") from None
            if chunk.endswith(b"\n"):
                lineno += 1
            if prog is not None:
                prog.done += len(chunk)
            for event, elem in events:
                tag = elem.tag
                if event == "start":
                    if root is None:
                        root = elem
                        if tag != "conversations":
                            raise DataError(f"{path}:{here}: xml: root element is <{tag}>, expected <conversations>")
                    elif tag == "conversation":
                        conv = _Conv((elem.get("id") or "").strip() or None, here)
                    elif tag == "message":
                        msg_line = here
                    continue
                if tag == "message" and conv is not None:
                    if conv.error is None:
                        try:
                            message, line_attr = _message(elem, f"{path}:{msg_line}")
                            conv.messages.append(message)
                            conv.lines.append(line_attr)
                        except DataError as exc:
                            conv.error = str(exc)
                    elem.clear()
                elif tag == "conversation" and conv is not None:
                    try:
                        done = _finish(conv, f"{path}:{conv.line}", predators, problem2)
                    except DataError as exc:
                        if strict:
                            raise
                        rep.add_error(str(exc))
                    else:
                        rep.read += 1
                        yield done
                    conv = None
                    elem.clear()
                    if root is not None:
                        root.clear()  # drop the finished conversation from the tree
            if not chunk:
                break
    if root is None:
        raise DataError(f"{path}: empty file (no <conversations> element)")
