"""The report's "Accounts" section and console lines (evaluation/accounts.py): the best single
conversation beside the account rule, on the same accounts, in one table. No handle is shown."""

from __future__ import annotations

from html import escape
from typing import Any

NOT_MEASURED = ('<p class="note">Not measured: pass <code>--accounts</code> (a corpus of accounts with several '
                "conversations each, <code>groomguard data synth-accounts</code>) and <code>--accounts-val</code> "
                "(another seed, to choose the rule's minimum risk on). <code>make accounts-eval</code> does.</p>")


def _f(x: Any, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _rows(block: dict[str, Any]) -> list[list[str]]:
    rows = []
    at = block.get("best_conversation_at_budget")
    at_label = ("Best single conversation at the rule's false-flag budget (reaches "
                f"{_f(at['threshold'], 4)}, chosen on validation)" if at else "")
    for label, key in (("Best single conversation (reaches review)", "best_conversation"),
                       (at_label, "best_conversation_at_budget"),
                       ("Account rule", "account_rule"), ("Either (what serving raises)", "either")):
        m = block.get(key)
        if m is None:
            continue
        false = ", ".join(f"{k} {v}" for k, v in m["false_flags_by_kind"].items()) or "none"
        rows.append([escape(label), _f(m["precision"]), _f(m["recall"]), f"<b>{_f(m['f0_5'])}</b>",
                     f"{m['tp']} / {m['fp']} / {m['fn']}", f"{_f(m['false_flag_rate'], 2)} ({escape(false)})",
                     _f(m["messages_until_flagged_median"], 1), str(m["never_flagged"])])
    return rows


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _selection(sel: dict[str, Any] | None, rule: dict[str, Any]) -> str:
    if sel is None:
        return (f'<p class="note">Minimum risk {_f(rule["min_risk"], 4)} from the config (no '
                "<code>--accounts-val</code>): not chosen on validation.</p>")
    def chosen(c: dict[str, Any]) -> bool:
        return bool(c["min_risk"] == sel["chosen"] and c.get("conversations") == sel.get("chosen_conversations"))

    rows = [[str(c.get("conversations", rule["conversations"])), _f(c["min_risk"], 4) + (" ✔" if chosen(c) else ""),
             _f(c["precision"]), _f(c["recall"]), _f(c["f0_5"]), _f(c["false_flag_rate"], 2),
             _f(c["messages_until_flagged_median"], 1)]
            for c in sel["candidates"]]
    return ('<p class="note">Rule conversations and minimum risk chosen on the VALIDATION accounts '
            f'({escape(str(sel.get("path", "")))}; '
            f'{sel["n_accounts"]} accounts, {sel["n_grooming"]} grooming), never on the test ones: '
            f'{escape(sel["reason"])}.</p>'
            + _table(["Conversations", "Minimum risk", "Precision", "Recall", "F0.5", "False-flag rate",
                      "Messages until flagged"], rows))


def render_accounts(block: dict[str, Any] | None) -> str:
    if not block:
        return NOT_MEASURED
    r, p = block["rule"], block["paired"]
    kinds = ", ".join(f"{v} {escape(k)}" for k, v in block["accounts_by_kind"].items())
    synthetic = " <b>SYNTHETIC</b> accounts." if block["synthetic"] else ""
    intro = (f'<p class="note">{block["n_accounts"]} accounts ({kinds}) in {block["n_conversations"]} conversations '
             f'({escape(block["path"])}).{synthetic} Both rules read off one replay of every message in time '
             "order through the served account code. Account rule: at least "
             f'{r["conversations"]} conversations at risk &ge; {_f(r["min_risk"], 4)} (review threshold '
             f'{_f(r["review_threshold"], 4)}) with as many distinct counterparts within {r["days"]:g} days. '
             "Messages until flagged: the account's own messages across its conversations, median over grooming "
             "accounts flagged.</p>")
    table = _table(["Rule", "Precision", "Recall", "F0.5", "TP / FP / FN", "False-flag rate (by kind)",
                    "Messages until flagged", "Grooming never flagged"], _rows(block))
    saved = _f(p["median_messages_saved"], 1)
    pair = (f'<p class="note">Grooming accounts both rules flag: {p["n"]}; the account rule flags '
            f'{p["sooner"]} sooner, {p["same"]} at the same message, {p["later"]} later (median messages saved '
            f'{saved}). Only the account rule: {p["only_account_rule"]}; only the best conversation: '
            f'{p["only_best_conversation"]}.</p>')
    return "\n".join([intro, table, pair, _at_budget(block), _selection(block.get("selection"), r)])


def _at_budget(block: dict[str, Any]) -> str:
    """Sooner, at equal false flags: the account rule beside one conversation held to the same budget."""
    single, at = block.get("single_selection"), block.get("best_conversation_at_budget")
    if single is None:
        return ""
    if at is None:
        return f'<p class="note">Best single conversation at the rule\'s budget: {escape(single["reason"])}.</p>'
    p = at["paired"]
    return ('<p class="note">At equal false flags (one conversation alone held to the account rule\'s validation '
            f'budget, {single["budget"]:.0%}: {escape(single["reason"])}), grooming accounts both flag: {p["n"]}; '
            f'the account rule flags {p["sooner"]} sooner, {p["same"]} at the same message, {p["later"]} later '
            f'(median messages saved {_f(p["median_messages_saved"], 1)}). Only the account rule: '
            f'{p["only_account_rule"]}; only the single conversation: {p["only_best_conversation"]}.</p>')


def account_lines(metrics: dict[str, Any]) -> list[str]:
    """Console summary (printed by `groomguard evaluate`)."""
    block = metrics.get("accounts")
    if not block:
        return []
    out = []
    for label, key in (("best conversation", "best_conversation"),
                       ("best conversation at the rule's budget", "best_conversation_at_budget"),
                       ("account rule", "account_rule")):
        m = block.get(key)
        if m is None:
            continue
        out.append(f"accounts ({block['n_accounts']}, {block['n_grooming']} grooming) {label}: precision "
                   f"{_f(m['precision'])} recall {_f(m['recall'])} F0.5 {_f(m['f0_5'])}; messages until flagged "
                   f"{_f(m['messages_until_flagged_median'], 1)} (median), {m['never_flagged']} never flagged")
    r = block["rule"]
    out.append(f"account rule: {r['conversations']} conversations at minimum risk {_f(r['min_risk'], 4)} (from "
               f"{r['min_risk_source']}; review {_f(r['review_threshold'], 4)})")
    return out
