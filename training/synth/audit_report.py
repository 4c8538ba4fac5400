"""Rich tables and JSON for an `AuditReport` (kept apart from the measurements)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from groomguard.training.synth.audit import AuditReport


def _verdict(ok: bool) -> str:
    return "[green]ok[/green]" if ok else "[red]FAIL[/red]"


def print_report(console: Console, r: AuditReport) -> None:
    console.print(f"[bold]Corpus audit[/bold] {r.file}: {r.n_conversations} conversations "
                  f"({r.n_positive} grooming / {r.n_negative} benign), French {r.french_share:.1%}, "
                  f"hard negatives {r.hard_negative_share:.1%} of benign")
    t = Table(title="Shallow-feature ROC-AUC (5-fold CV; length, punctuation, emoji, authors, gaps)")
    t.add_column("classifier")
    t.add_column("ROC-AUC", justify="right")
    t.add_column(f"< {r.shallow_auc_limit}")
    for name, auc in r.shallow_auc.items():
        t.add_row(name, f"{auc:.3f}", _verdict(auc < r.shallow_auc_limit))
    console.print(t)
    if r.style_auc:
        origins = ", ".join(f"{k}: {v}" for k, v in sorted(r.origins.items()))
        t = Table(title=f"Style-shortcut ROC-AUC: label from origin + shallow style ({origins})")
        t.add_column("classifier")
        t.add_column("ROC-AUC", justify="right")
        t.add_column(f"< {r.style_auc_limit}")
        for name, auc in r.style_auc.items():
            t.add_row(name, f"{auc:.3f}", _verdict(auc < r.style_auc_limit))
        console.print(t)
    t = Table(title="Distinct word n-gram ratios (unique / total)")
    t.add_column("class")
    for n in (1, 2, 3):
        t.add_column(f"distinct-{n}", justify="right")
    for cls, d in r.distinct_ngrams.items():
        t.add_row(cls, *(f"{d[f'distinct_{n}']:.3f}" for n in (1, 2, 3)))
    console.print(t)
    t = Table(title=f"Most frequent message lines (max share {r.max_line_share:.2%}, "
                    f"limit {r.max_line_share_limit:.0%}: {'ok' if r.lines_ok else 'FAIL'})")
    t.add_column("% of conversations", justify="right")
    t.add_column("line (lower-cased)")
    for ls in r.top_lines:
        t.add_row(f"{ls.share:.2%}", escape(ls.line))
    console.print(t)
    td = r.template_disjoint
    if td:
        t = Table(title="Template-disjoint generalisation (train: pool half A, test: pool half B)")
        t.add_column("model")
        t.add_column("test ROC-AUC", justify="right")
        t.add_row("TF-IDF (word+char) + logistic regression", f"{td['tfidf_lr_auc']:.3f}")
        ft = td.get("finetuned_auc")
        t.add_row("fine-tuned demo model (served bundle)",
                  f"{ft:.3f}" if isinstance(ft, float) else str(td.get("finetuned_note", "not run")))
        console.print(t)
        console.print(f"train: {td['train']}; test: {td['test']}")
    console.print(f"audit took {r.seconds:.0f}s. SYNTHETIC data: these checks guard against shortcuts; "
                  "they do not show how a model does on real chats.")
