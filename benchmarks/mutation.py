"""Mutation check: known-bad changes, applied one at a time to a copy of the repository, must each
make at least one test fail ("killed"). A survivor means no test pins that behaviour.

Why a small applier of listed mutations rather than a mutation tool: every mutant here is a
plausible real bug (the table in issue 15 plus a few more), each is an exact string replacement
that must match exactly once (so a refactor that moves the code fails loudly here instead of
silently testing nothing), and each runs only the tests that should catch it, so the whole check
takes minutes on a 2-core machine and gives the same answer every time.

    .venv/bin/python benchmarks/mutation.py             # all mutants (make mutation)
    .venv/bin/python benchmarks/mutation.py --only risk-inverted --only cache-key-prefix
    .venv/bin/python benchmarks/mutation.py --list

The copy is made from `git ls-files` (tracked + untracked, not ignored) into a temporary directory;
tests run there with that directory first on PYTHONPATH, so the working tree is never modified.
The PostgreSQL variants run when GROOMGUARD_TEST_POSTGRES_URL is set or a server answers locally
(database `test`, as in `make test`). Exit status 1 if any mutant survives or a baseline fails.
Results are recorded in docs/testing.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCORE_TESTS = ("tests/test_score_meaning.py",)
AUTH_TESTS = ("tests/test_api_key_cache.py", "tests/test_api_auth.py", "tests/test_keys.py")
RETENTION_TESTS = ("tests/test_retention.py",)
BACKUP_TESTS = ("tests/test_store_backup.py",)
UPGRADE_TESTS = ("tests/test_store_upgrade.py",)
DISK_FULL_TESTS = ("tests/test_store_disk_full.py",)
STREAM_TESTS = ("tests/test_streaming_equals_batch.py",)
WINDOW_TESTS = ("tests/test_contract_windowing.py",)
TRAIN_TESTS = ("tests/test_train_pipeline.py", "tests/test_train_calibration.py")
HYBRID_TESTS = ("tests/test_lexical.py", "tests/test_lexical_windows.py", "tests/test_train_hybrid.py")
REAL_CHAT_TESTS = ("tests/test_real_chat.py",)
ENGINE_TESTS = ("tests/test_score_meaning.py", "tests/test_streaming_equals_batch.py")
DESK_USER_TESTS = ("tests/test_desk_users.py",)
DESK_QUEUE_TESTS = ("tests/test_desk_queue.py",)
DESK_WEB_TESTS = ("tests/test_desk_web.py",)


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    note: str = ""


MUTANTS: list[Mutant] = [
    # --- the table in issue 15 ---
    Mutant("risk-inverted", "groomguard/scores.py",
           "(logits[:, positive_index] - logits[:, 1 - positive_index]) / temperature",
           "(logits[:, 1 - positive_index] - logits[:, positive_index]) / temperature", SCORE_TESTS),
    Mutant("temperature-multiplied", "groomguard/scores.py",
           "logits[:, 1 - positive_index]) / temperature", "logits[:, 1 - positive_index]) * temperature",
           SCORE_TESTS),
    Mutant("thresholds-args-swapped", "training/export/pipeline.py",
           "t.review_alerts_per_1000, t.high_precision,\n                                     t.high_alerts_per_1000",
           "t.high_alerts_per_1000, t.high_precision,\n                                     t.review_alerts_per_1000",
           TRAIN_TESTS),
    Mutant("temperature-not-saved", "training/export/pipeline.py",
           "temperature=temperature, bias=bias, ece_val=ece)",
           "temperature=1.0, bias=0.0, ece_val=ece)", TRAIN_TESTS),
    Mutant("review-budget-off-by-one", "evaluation/thresholds.py", "np.nextafter(s[allowed], np.inf)",
           "np.nextafter(s[max(allowed - 1, 0)], np.inf)", TRAIN_TESTS),
    Mutant("high-ignores-precision", "evaluation/thresholds.py", "ok = (n_flag > 0) & (tp >= high_precision",
           "ok = (n_flag > 0) | (tp >= high_precision", TRAIN_TESTS),
    Mutant("cache-key-prefix", "serving/api/auth.py",
           'return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()', "return plaintext[:3]", AUTH_TESTS),
    Mutant("purge-escalated-tails", "serving/store/cases.py",
           "exists().where(CaseRow.status.in_(ACTIVE_STATUSES),", "exists().where(CaseRow.status == OPEN,",
           RETENTION_TESTS),
    Mutant("fill-forward-zero", "groomguard/scores.py", "        out[i] = current\n",
           "        out[i] = float(by_end.get(i, 0.0))\n", SCORE_TESTS),
    Mutant("level-high-strict", "groomguard/scores.py", "if risk >= thresholds.high:", "if risk > thresholds.high:",
           SCORE_TESTS),
    Mutant("level-review-strict", "groomguard/scores.py", "if risk >= thresholds.review:",
           "if risk > thresholds.review:", SCORE_TESTS),
    # --- more of the same kind ---
    Mutant("positive-index-ignored", "groomguard/scores.py", "logits[:, positive_index] - logits",
           "logits[:, 1] - logits", SCORE_TESTS),
    Mutant("cache-ttl-ignored", "serving/api/auth.py",
           "self._entries[_digest(plaintext)] = (time.monotonic() + self.ttl_s, info)",
           "self._entries[_digest(plaintext)] = (time.monotonic() + 1e9, info)", AUTH_TESTS),
    Mutant("revoked-key-accepted", "serving/apikeys.py", "if row is None or not ok or row.revoked_at is not None:",
           "if row is None or not ok:", AUTH_TESTS),
    Mutant("admin-scope-missing", "serving/api/auth.py",
           'return "admin" in info.scopes or scope in info.scopes', "return scope in info.scopes", AUTH_TESTS),
    Mutant("purge-stops-after-full-batch", "serving/retention.py",
           "            conv_db.delete_conversations(s, ids)\n        result.conversations += len(ids)\n"
           "        if len(ids) < BATCH:",
           "            conv_db.delete_conversations(s, ids)\n        result.conversations += len(ids)\n"
           "        if len(ids) <= BATCH:", RETENTION_TESTS),
    Mutant("purge-no-row-lock", "serving/retention.py",
           ".with_for_update(of=ConversationRow, skip_locked=True)", "", RETENTION_TESTS,
           "only PostgreSQL can tell (SQLite serialises writers): needs the PostgreSQL tests"),
    Mutant("stream-tail-truncated", "serving/review/appends.py", "ids[max(0, end + 1 - self.state.tail_messages)",
           "ids[max(0, end + 1 - 8)", STREAM_TESTS),
    Mutant("tail-rule-too-loose", "serving/tail_check.py",
           "return 1 + (windower.budget - 1) // (1 + len(windower.sep))", "return windower.budget // 4",
           STREAM_TESTS),
    Mutant("window-off-by-one", "groomguard/windowing.py", "if used + cost > self.budget:",
           "if used + cost >= self.budget:",
           WINDOW_TESTS + STREAM_TESTS),
    Mutant("stride-ends-shifted", "groomguard/windowing.py", "ends = list(range(stride - 1, n_messages, stride))",
           "ends = list(range(0, n_messages, stride))", WINDOW_TESTS + SCORE_TESTS),
    # --- issue 22: the held-out rules, the per-message windows of an append, the production running maxima ---
    Mutant("real-test-trained-on", "training/data/prepare.py", 'for k in ("train", "val"):  # the real-test rule',
           'for k in ("val",):  # the real-test rule', REAL_CHAT_TESTS),
    Mutant("real-test-validated-on", "training/data/prepare.py", 'for k in ("train", "val"):  # the real-test rule',
           'for k in ("train",):  # the real-test rule', REAL_CHAT_TESTS),
    Mutant("real-test-in-extra-train", "training/data/prepare.py",
           "            assert_not_real_test(extra, str(extra_path))\n", "", REAL_CHAT_TESTS),
    Mutant("val-real-from-train-pool", "training/data/mix.py", "real_val = _sample(rng, pool_val, cfg.real_val)",
           "real_val = _sample(rng, pool_train, cfg.real_val)", REAL_CHAT_TESTS),
    Mutant("grafts-from-whole-pool", "training/data/mix.py", "grafts_train = make_grafts(pool_train, cfg.grafts_train",
           "grafts_train = make_grafts(pool, cfg.grafts_train", REAL_CHAT_TESTS),
    Mutant("append-newest-window-only", "serving/review/appends.py",
           "windows = [w.assemble_newest(ids[max(0, end + 1 - self.state.tail_messages) : end + 1]) for end in ends]",
           "windows = [w.assemble_newest(ids[-self.state.tail_messages :])] * len(ends)", STREAM_TESTS),
    Mutant("append-running-max-is-last", "serving/review/appends.py", "            best = max(best, r)\n",
           "            best = r\n", STREAM_TESTS),
    Mutant("engine-bias-dropped", "serving/engine.py", "self.bias = bundle.manifest.calibration.bias",
           "self.bias = 0.0", SCORE_TESTS),
    # --- issue 23: the hybrid's lexical head ---
    Mutant("engine-lexical-head-dropped", "serving/engine.py", "        if self.hybrid is not None:\n",
           "        if False:\n", HYBRID_TESTS),
    Mutant("lexical-idf-ignored", "groomguard/lexical.py", "values = (1.0 + np.log(counts)) * self.idf[feats]",
           "values = 1.0 + np.log(counts)", HYBRID_TESTS),
    Mutant("lexical-extra-benign-ignored", "training/lexical_fit.py",
           "own, extra = _own_windows(cfg, data), _extra_benign_windows(cfg, data)",
           "own, extra = _own_windows(cfg, data), WindowSet()", HYBRID_TESTS),
    Mutant("budget-check-least-risky-first", "training/export/variant_budget.py",
           "order = idx[np.argsort(-fp32_conv_risk[idx], kind=\"stable\")]",
           "order = idx[np.argsort(fp32_conv_risk[idx], kind=\"stable\")]", ("tests/test_variant_budget.py",)),
    Mutant("engine-running-max-is-last", "serving/engine.py", "overall = max(by_msg)", "overall = by_msg[-1]",
           ENGINE_TESTS),
    Mutant("export-running-max-is-last", "training/export/pipeline.py",
           "np.maximum.at(out, self.owner, risk_from_logits(self.logits, temperature, bias=bias))",
           "out[self.owner] = risk_from_logits(self.logits, temperature, bias=bias)", TRAIN_TESTS),
    Mutant("windows-from-oldest", "groomguard/windowing.py",
           "start = self.window_start([len(m) for m in message_ids], end)", "start = 0",
           WINDOW_TESTS + STREAM_TESTS),
    # --- issue 26: desk security ---
    Mutant("claims-never-lapse", "serving/desk/queue.py", "    if claim_minutes <= 0:\n        return None\n",
           "    return None\n", DESK_QUEUE_TESTS),
    Mutant("client-lock-ignored", "serving/desk/users.py",
           "if source is not None and source.locked_until is not None and source.locked_until > now:",
           "if False:", DESK_USER_TESTS),
    Mutant("client-lock-one-late", "serving/desk/users.py",
           "if row.failures < config.client_lockout_after:", "if row.failures <= config.client_lockout_after:",
           DESK_USER_TESTS),
    Mutant("password-change-keeps-sessions", "serving/desk/users.py",
           "        s.execute(delete(DeskSessionRow).where(DeskSessionRow.user_name == name))\n"
           "        audit(s, \"user:password\"", "        audit(s, \"user:password\"", DESK_USER_TESTS),
    Mutant("desk-no-frame-header", "serving/desk/web.py",
           '(b"referrer-policy", b"no-referrer"),\n           (b"x-frame-options", b"DENY")]',
           '(b"referrer-policy", b"no-referrer")]', DESK_WEB_TESTS),
    # --- issue 26: operations ---
    Mutant("restore-over-populated-store", "serving/store/backup.py", "if held and not force:", "if False:",
           BACKUP_TESTS),
    Mutant("restore-left-at-old-schema", "serving/store/backup.py", "        migrate(engine)\n        rows = ",
           "        rows = ", BACKUP_TESTS),
    Mutant("migrate-check-always-ok", "groomguard/cli/keys_store.py", "    if current == head:\n",
           "    if True:\n", UPGRADE_TESTS),
    Mutant("readiness-probe-needs-no-page", "serving/store/db.py",
           'if self.dialect == "sqlite":  # inserted and deleted', 'if False:  # inserted and deleted',
           DISK_FULL_TESTS),
    Mutant("disk-full-retried-as-conflict", "serving/review/appends.py",
           "if is_disk_full(exc):  # retrying at once", "if False:  # retrying at once", DISK_FULL_TESTS),
]


LAYERS = ("training", "serving", "evaluation", "configs")


def copy_repo(dest: Path) -> None:
    """Tracked + untracked (not ignored) files, plus `groomguard/<layer>` links to the copy's layer
    directories: the venv's editable install maps `groomguard.training` (etc.) to the *original*
    checkout, and `PYTHONPATH=copy` alone only redirects `groomguard` itself, so without the links a
    mutant in a layer would be tested against unmutated code (and survive for no reason)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file() and not src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for layer in LAYERS:
        (dest / "groomguard" / layer).symlink_to(dest / layer, target_is_directory=True)


def imports_the_copy(copy: Path, env: dict[str, str]) -> None:
    """Fail loudly unless a layer module imports from the copy (the check above, verified)."""
    out = subprocess.run([sys.executable, "-c", "import groomguard.serving.engine as m; print(m.__file__)"],
                         cwd=copy, env=env, capture_output=True, text=True, check=True).stdout.strip()
    if not Path(out).resolve().is_relative_to(copy.resolve()):
        raise SystemExit(f"the copy's layers are not what Python imports ({out}); mutants would test nothing")


def mutant_env(copy: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(copy), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    env.pop("CI", None)  # a mutant run is not CI: a missing PostgreSQL skips instead of failing
    if not env.get("GROOMGUARD_TEST_POSTGRES_URL") and shutil.which("pg_isready") and subprocess.run(
            ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], check=False).returncode == 0:
        env["GROOMGUARD_TEST_POSTGRES_URL"] = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    return env


def run_tests(copy: Path, tests: tuple[str, ...], env: dict[str, str]) -> tuple[bool, str]:
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    res = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, check=False)
    lines = (res.stdout + res.stderr).strip().splitlines()
    failed = [ln.split(" - ")[0].split()[1] for ln in lines if ln.startswith(("FAILED ", "ERROR "))]
    return res.returncode == 0, failed[0] if failed else (lines[-1] if lines else "")


def apply(copy: Path, m: Mutant) -> str:
    """Apply `m` in the copy; returns the original text for restoring."""
    file = copy / m.path
    text = file.read_text(encoding="utf-8")
    count = text.count(m.old)
    if count != 1:
        raise SystemExit(f"mutant {m.name}: pattern found {count} times in {m.path} (expected exactly once); "
                         "update benchmarks/mutation.py")
    file.write_text(text.replace(m.old, m.new), encoding="utf-8")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description="Apply known-bad changes one at a time; each must be caught.")
    parser.add_argument("--only", action="append", default=[], help="run only this mutant (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.list or not chosen:
        for m in MUTANTS:
            print(f"{m.name:30} {m.path:28} {' '.join(m.tests)}")
        return 0 if args.list else 2
    with tempfile.TemporaryDirectory(prefix="gg-mutation-") as tmp:
        copy = Path(tmp)
        copy_repo(copy)
        env = mutant_env(copy)
        imports_the_copy(copy, env)
        print(f"copy: {copy}; PostgreSQL: {'yes' if env.get('GROOMGUARD_TEST_POSTGRES_URL') else 'no (skipped)'}")
        for tests in sorted({m.tests for m in chosen}):
            ok, last = run_tests(copy, tests, env)
            if not ok:
                print(f"baseline FAILED for {' '.join(tests)}: {last}")
                return 1
        rows, survivors = [], 0
        for m in chosen:
            original = apply(copy, m)
            t0 = time.monotonic()
            try:
                passed, last = run_tests(copy, m.tests, env)
            finally:
                (copy / m.path).write_text(original, encoding="utf-8")
            verdict = "SURVIVED" if passed else "killed"
            survivors += passed
            rows.append((m.name, m.path, verdict, last if not passed else "", m.note))
            print(f"{verdict:8} {m.name:30} {m.path:28} {time.monotonic() - t0:6.1f}s  {last}", flush=True)
    print("\n| mutant | file | result | first failing test | note |\n|---|---|---|---|---|")
    for name, path, verdict, test, note in rows:
        print(f"| {name} | `{path}` | {verdict} | {f'`{test}`' if test else ''} | {note} |")
    print(f"\n{len(rows) - survivors}/{len(rows)} killed")
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main())
