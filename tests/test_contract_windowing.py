"""Pins groomguard/windowing.py with the real MiniLM tokenizer (token ids are the contract)."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer

from groomguard.schema import Conversation, Message
from groomguard.windowing import WindowConfig, Windower, assign_roles, pad_batch, role_name, window_label

CLS, SEP = 101, 102


def conv(*pairs: tuple[str, str], **kw: object) -> Conversation:
    return Conversation(conversation_id="t", messages=[Message(author=a, text=t) for a, t in pairs], **kw)  # type: ignore[arg-type]


FOUR = conv(("alice99", "Hi there"), ("bob_x", "hello"), ("alice99", "how old r u?"), ("carol", "s n a p"))
GROUP = conv(("mod_1", "Welcome!  Please read the rules."), ("Zed", "ｏｋ thanks"), ("newbie", "add me on d1sc0rd"),
             ("mod_1", "no DMs here"))


@pytest.fixture()
def w16(minilm_tokenizer: Tokenizer) -> Windower:
    return Windower(minilm_tokenizer, WindowConfig(max_length=16))


@pytest.fixture()
def w64(minilm_tokenizer: Tokenizer) -> Windower:
    return Windower(minilm_tokenizer, WindowConfig(max_length=64))


def test_special_layout(w16: Windower) -> None:
    assert (w16.prefix, w16.suffix, w16.sep, w16.pad_id, w16.budget) == ([CLS], [SEP], [SEP], 0, 14)


def test_roles_by_first_appearance() -> None:
    assert assign_roles(FOUR.messages) == {"alice99": "A", "bob_x": "B", "carol": "C"}
    extended = assign_roles([Message(author="dave", text="x"), Message(author="bob_x", text="y")], {"bob_x": "A"})
    assert extended == {"bob_x": "A", "dave": "B"}
    assert [role_name(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]


def render_window(w: Windower, conv: Conversation, end: int) -> str:
    """A window's text as the tokenizer decodes it (the model's view, special tokens included)."""
    return str(w.tokenizer.decode(w.window_ids(w.encode_messages(conv.messages), end), skip_special_tokens=False))


def test_per_message_ids_pinned(w16: Windower, w64: Windower) -> None:
    assert w16.encode_messages(FOUR.messages) == [
        [1037, 1024, 7632, 2045], [1038, 1024, 7592], [1037, 1024, 2129, 2214, 1054, 1057, 1029], [1039, 1024, 10245]]
    assert w64.encode_messages(GROUP.messages) == [
        [1037, 1024, 6160, 999, 3531, 3191, 1996, 3513, 1012], [1038, 1024, 7929, 4283],
        [1039, 1024, 5587, 2033, 2006, 12532, 4103], [1037, 1024, 2053, 1040, 5244, 2182]]


def test_rendered_text_and_no_handles(w64: Windower) -> None:
    text = render_window(w64, GROUP, 3)
    assert text == "[CLS] a : welcome! please read the rules. [SEP] b : ok thanks [SEP] c : add me on discord [SEP] " \
                   "a : no dms here [SEP]"
    roles = assign_roles(GROUP.messages)
    assert w64.render_messages(GROUP.messages, roles)[1] == "B: ok thanks"  # NFKC + whitespace, case kept
    for end in range(4):
        rendered = render_window(w64, GROUP, end).lower() + " ".join(w64.render_messages(GROUP.messages, roles)).lower()
        for handle in ("mod_1", "zed", "newbie"):
            assert handle not in rendered


def test_left_truncation_keeps_most_recent(w16: Windower) -> None:
    ids = w16.encode_messages(FOUR.messages)
    assert w16.window_ids(ids, 0) == [CLS, 1037, 1024, 7632, 2045, SEP]
    assert w16.window_ids(ids, 1) == [CLS, 1037, 1024, 7632, 2045, SEP, 1038, 1024, 7592, SEP]
    # 7 + (3 + sep) fits 14; adding message 0 (4 + sep) would not: it is dropped, not cut.
    assert w16.window_ids(ids, 2) == [CLS, 1038, 1024, 7592, SEP, 1037, 1024, 2129, 2214, 1054, 1057, 1029, SEP]
    assert render_window(w16, FOUR, 3) == "[CLS] a : how old r u? [SEP] c : snap [SEP]"
    for end in range(4):
        assert len(w16.window_ids(ids, end)) <= 16
    with pytest.raises(IndexError):
        w16.window_ids(ids, 4)


def test_window_that_fills_max_length_exactly_keeps_every_message(minilm_tokenizer: Tokenizer) -> None:
    """[CLS] a : hi there [SEP] b : hello [SEP] is 10 tokens (ids pinned above): max_length 10 holds both
    messages, 9 drops the older one. Catches `>` turned into `>=` in the budget check."""
    two = conv(("alice99", "Hi there"), ("bob_x", "hello"))
    both = [CLS, 1037, 1024, 7632, 2045, SEP, 1038, 1024, 7592, SEP]
    w10, w9 = (Windower(minilm_tokenizer, WindowConfig(max_length=n)) for n in (10, 9))
    assert w10.window_ids(w10.encode_messages(two.messages), 1) == both
    assert w9.window_ids(w9.encode_messages(two.messages), 1) == [CLS, 1038, 1024, 7592, SEP]


def test_overlong_newest_message_keeps_its_first_tokens(minilm_tokenizer: Tokenizer) -> None:
    w = Windower(minilm_tokenizer, WindowConfig(max_length=10))
    c = conv(("x", "hi"), ("y", "one two three four five six seven eight nine ten"))
    assert w.window_ids(w.encode_messages(c.messages), 1) == [CLS, 1038, 1024, 2028, 2048, 2093, 2176, 2274, 2416, SEP]


def test_prefix_windows_with_stride(w64: Windower) -> None:
    assert w64.window_ends(4, 1) == [0, 1, 2, 3]
    assert w64.window_ends(4, 3) == [2, 3]
    assert w64.window_ends(6, 3) == [2, 5]
    assert w64.window_ends(2, 5) == [1]
    assert w64.window_ends(1) == [0]
    windows = w64.prefix_windows(GROUP, stride=2)
    assert [win.end for win in windows] == [1, 3]
    ids = w64.encode_messages(GROUP.messages)
    assert [win.input_ids for win in windows] == [w64.window_ids(ids, 1), w64.window_ids(ids, 3)]
    assert [win.end for win in w64.prefix_windows(GROUP)] == [0, 1, 2, 3]  # config stride 1


@pytest.mark.parametrize("c", [FOUR, GROUP, conv(("solo", "just me"))])
@pytest.mark.parametrize("max_length", [12, 16, 64])
def test_newest_window_equals_last_prefix_window(minilm_tokenizer: Tokenizer, c: Conversation, max_length: int) -> None:
    w = Windower(minilm_tokenizer, WindowConfig(max_length=max_length, stride=3))
    assert w.newest_window(c.messages) == w.prefix_windows(c)[-1]


def test_window_config_validation() -> None:
    with pytest.raises(ValueError, match="max_length"):
        WindowConfig(max_length=4)
    with pytest.raises(ValueError, match="stride"):
        WindowConfig(stride=0)


def test_window_label() -> None:
    assert window_label(conv(("a", "x"), ("b", "y")), 1) is None
    assert [window_label(conv(("a", "x"), ("b", "y"), label=0), e) for e in (0, 1)] == [0, 0]
    assert [window_label(conv(("a", "x"), ("b", "y"), label=1), e) for e in (0, 1)] == [1, 1]
    c = conv(("a", "1"), ("b", "2"), ("a", "3"), ("b", "4"), label=1, first_risk_index=2)
    assert [window_label(c, e) for e in range(4)] == [0, 0, 1, 1]


def test_pad_batch_right_pads() -> None:
    b = pad_batch([[CLS, 5, SEP], [CLS, SEP]], pad_id=0)
    assert b.input_ids.dtype == np.int64 and b.attention_mask.dtype == np.int64
    assert b.input_ids.tolist() == [[CLS, 5, SEP], [CLS, SEP, 0]]
    assert b.attention_mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    with pytest.raises(ValueError):
        pad_batch([], 0)
