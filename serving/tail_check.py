"""Start-up rule: the stored tail (`state.tail_messages`) must hold every message a window can use.

Streaming scores the window ending at the newest message from the stored tail only; batch scoring
(`/v1/score`, `groomguard score`, evaluation) sees the whole conversation. They agree only if the
tail never cuts a window short. A window keeps the newest messages that fit `max_length` tokens;
every rendered message (`"<role>: <text>"`, the role alone is a token) costs at least one token and
every message before the newest also pays the separator. So a window holds at most
`1 + (budget - 1) // (1 + len(separator))` messages, where budget = max_length minus the special
tokens: 31 for a 64-token BERT window, 63 for 128, 127 for 256. Fewer stored messages is refused.
"""

from __future__ import annotations

from groomguard.errors import ConfigError
from groomguard.windowing import Windower


def max_messages_per_window(windower: Windower) -> int:
    """The most messages one window of this windower can contain (tokenizer-independent bound)."""
    return 1 + (windower.budget - 1) // (1 + len(windower.sep))


def check_tail_covers_window(tail_messages: int, windower: Windower) -> None:
    """Raise ConfigError when streaming could score a shorter window than batch scoring."""
    need = max_messages_per_window(windower)
    if tail_messages < need:
        raise ConfigError(
            f"state.tail_messages={tail_messages} is too small for this bundle: a {windower.config.max_length}-token "
            f"window can hold up to {need} messages, so streaming would score shorter windows than batch "
            f"scoring; set state.tail_messages >= {need}"
        )
