"""One CLI surface, checked over every command's --help (the typer/click command tree, walked):
-i/--input and -o/--output for the data a command reads and writes, --config + --set on every
config-driven command, declared choices (listed in help, refused by the parser), a worked example,
no absolute paths. Old spellings still work for one release, with a warning on stderr."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from groomguard.cli import _register, app, main

ROOT = Path(__file__).resolve().parent.parent

# Which commands read (-i) and write (-o) files or directories of data; every other command must not.
READS = {"score", "evaluate", "data stats", "data convert", "data split", "data audit", "triton serve", "store restore"}
WRITES = {"score", "evaluate", "export", "data stats", "data convert", "data split", "data synth",
          "data synth-accounts", "data audit", "data mix", "data verdicts", "keys ensure-local", "triton export",
          "config init", "store backup"}
# Commands that take no settings (they print or copy the packaged configs themselves).
NOT_CONFIG_DRIVEN = {"config show", "config init"}
# Path options that name a resource rather than the data in/out: a model bundle, a checkpoint, a
# config, or side inputs of a loader or of the evaluation.
NAMED_PATHS = {"--bundle", "--config", "--checkpoint", "--train", "--real-benign", "--real-grooming",
               "--predators", "--problem2", "--handwritten", "--real-full", "--test-disjoint", "--real-grooming-same",
               "--accounts", "--accounts-val"}
CHOICE_FLAGS = {"--by", "--backend", "--variant", "--format", "--triton-protocol", "--log-level", "--pool-half",
                "--role", "--instance-kind"}
OLD_SPELLINGS = {"--out", "--out-dir", "--data", "--json", "--repo", "--store"}


def _commands() -> Iterator[tuple[str, typing.Any]]:
    import typer.main

    _register()
    root = typer.main.get_command(app)

    def walk(prefix: str, group: typing.Any) -> Iterator[tuple[str, typing.Any]]:
        for name, cmd in sorted(group.commands.items()):
            path = f"{prefix} {name}".strip()
            if hasattr(cmd, "commands"):
                yield from walk(path, cmd)
            else:
                yield path, cmd

    yield from walk("", root)


COMMANDS = dict(_commands())


def _visible(cmd: typing.Any) -> dict[str, typing.Any]:
    """Visible options by long name."""
    return {o: p for p in cmd.params if not getattr(p, "hidden", False) and p.param_type_name == "option"
            for o in p.opts if o.startswith("--")}


def _annotation(param: typing.Any) -> typing.Any:
    return param.type_descriptor.annotation


def _help(path: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        main([*path.split(), "--help"])
    assert done.value.code == 0, path
    return capsys.readouterr().out


def test_the_tree_has_every_command() -> None:
    assert {"train", "export", "score", "evaluate", "serve", "data stats", "data convert", "data split", "data synth",
            "data synth-accounts",
            "data audit", "data mix", "data verdicts", "keys create", "keys list", "keys revoke",
            "keys ensure-local", "store migrate", "store purge", "store backup", "store restore",
            "users create", "users list", "users disable",
            "triton export", "triton serve", "config show", "config init"} <= set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_help_is_consistent(path: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one line per option: choices are not wrapped mid-word
    cmd = COMMANDS[path]
    opts = _visible(cmd)
    text = _help(path, capsys)

    # files: -i/--input where data is read, -o/--output where it is written, nowhere else
    assert ("--input" in opts) == (path in READS), path
    assert ("--output" in opts) == (path in WRITES), path
    if "--input" in opts:
        assert "-i" in opts["--input"].opts
    if "--output" in opts:
        assert "-o" in opts["--output"].opts
    for name, p in opts.items():
        ann = _annotation(p)
        if ann is Path or (typing.get_origin(ann) is list and typing.get_args(ann) == (Path,)):
            assert name in NAMED_PATHS | {"--input", "--output"}, f"{path}: {name} reads/writes a file: use -i/-o"
    assert not OLD_SPELLINGS & set(opts), f"{path}: old spelling shown in help"

    # settings
    if path not in NOT_CONFIG_DRIVEN:
        assert {"--config", "--set"} <= set(opts), path

    # choices: declared, so help lists them (and test_bad_choices_are_refused_by_the_parser)
    for name in CHOICE_FLAGS & set(opts):
        ann = _annotation(opts[name])
        assert typing.get_origin(ann) is typing.Literal, f"{path} {name}: free string"
        assert "|".join(typing.get_args(ann)) in text, f"{path} {name}: choices not in help"

    # a worked example naming the command itself
    flat = " ".join((cmd.help or "").split())
    assert re.search(rf"Example: .*groomguard {path}( |$)", flat), f"{path}: no example"

    # help shows the docstring as written (no markup eats `[train]` or `[a,b]`)
    shown = " ".join(text.split())
    for bracketed in re.findall(r"\[[^\]\s]+\]", cmd.help or ""):
        assert bracketed in shown, f"{path}: help lost {bracketed}"

    # defaults shown relative: no absolute path of this checkout or of site-packages
    for forbidden in (str(ROOT), "site-packages", str(Path.home())):
        assert forbidden not in text, f"{path}: help shows {forbidden}"
    for p in cmd.params:
        if isinstance(p.default, Path):
            assert not p.default.is_absolute(), f"{path}: absolute default {p.default}"


def _bad_choice_cases() -> list[tuple[str, str]]:
    return sorted((path, name) for path, cmd in COMMANDS.items() for name in CHOICE_FLAGS & set(_visible(cmd)))


@pytest.mark.parametrize(("path", "flag"), _bad_choice_cases())
def test_bad_choices_are_refused_by_the_parser(path: str, flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    cmd = COMMANDS[path]
    # required options get a dummy value, so the only thing wrong is the choice (no work can start)
    argv = [*path.split(), flag, "no-such-choice"]
    for p in cmd.params:
        if p.required and p.param_type_name == "option":
            argv += [p.opts[0], "x"]
    with pytest.raises(SystemExit) as done:
        main(argv)
    err = capsys.readouterr().err
    assert done.value.code == 2 and "Traceback" not in err
    assert flag in err and "no-such-choice" in err, err


def test_version_names_package_normalisation_and_bundle_format(capsys: pytest.CaptureFixture[str]) -> None:
    from groomguard import __version__
    from groomguard.bundle import BUNDLE_FORMAT_VERSION
    from groomguard.normalise import NORMALISATION_VERSION

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == (
        f"groomguard {__version__} (normalisation v{NORMALISATION_VERSION}, bundle format {BUNDLE_FORMAT_VERSION})")


CONV = {"conversation_id": "c-1", "label": 0, "messages": [{"author": "a", "text": "is the homework due friday?"},
                                                          {"author": "b", "text": "yes, page 40"}]}


def gg(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "groomguard", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env=dict(os.environ))


def _warned(r: subprocess.CompletedProcess[str], old: str, new: str) -> None:
    assert f"warning: {old} is deprecated and will be removed in 0.3; use {new}" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_old_spellings_still_work_with_a_warning(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({**CONV, "conversation_id": f"c-{i}", "label": i % 2}) + "\n"
                           for i in range(10)), encoding="utf-8")
    r = gg("data", "convert", "-i", inp, "--out", tmp_path / "conv.jsonl", cwd=tmp_path)
    assert r.returncode == 0
    _warned(r, "--out", "--output")
    assert len((tmp_path / "conv.jsonl").read_text(encoding="utf-8").splitlines()) == 10

    r = gg("data", "split", "-i", inp, "--out-dir", tmp_path / "split", "--by", "conversation", cwd=tmp_path)
    assert r.returncode == 0
    _warned(r, "--out-dir", "--output")
    assert (tmp_path / "split" / "manifest.json").is_file()

    r = gg("data", "stats", "-i", inp, "--json", cwd=tmp_path)
    assert r.returncode == 0
    _warned(r, "--json", "-o -")
    assert json.loads(r.stdout)["conversations"] == 10

    r = gg("data", "stats", "-i", inp, "--json", "-o", tmp_path / "s.json", cwd=tmp_path)
    assert r.returncode == 2 and "given twice" in r.stderr

    r = gg("keys", "ensure-local", "--db-url", f"sqlite:///{tmp_path / 'k.db'}", "--out", tmp_path / "key.txt",
           cwd=tmp_path)
    assert r.returncode == 0
    _warned(r, "--out", "--output")
    assert (tmp_path / "key.txt").read_text(encoding="utf-8").strip() in r.stdout

    r = gg("data", "verdicts", "--store", f"sqlite:///{tmp_path / 'k.db'}", "--out", tmp_path / "v.jsonl",
           cwd=tmp_path)
    assert r.returncode == 0 and "wrote 0 decided case(s)" in r.stdout
    _warned(r, "--store", "--db-url")
    _warned(r, "--out", "--output")

    # evaluate's --data/--out map onto -i/-o before any work: the existing file given as the output
    # directory is refused under the new name, before the (missing) bundle is looked at
    r = gg("evaluate", "--bundle", tmp_path / "no-bundle", "--data", inp, "--out", inp, cwd=tmp_path)
    assert r.returncode == 2 and "error: --output:" in r.stderr and "is not a directory" in r.stderr
    _warned(r, "--data", "--input")

    # audit's positional FILE is its --input: an unlabelled corpus is read and refused by the audit itself
    unlabelled = tmp_path / "u.jsonl"
    unlabelled.write_text(json.dumps({**CONV, "label": None}) + "\n", encoding="utf-8")
    r = gg("data", "audit", unlabelled, cwd=tmp_path)
    assert r.returncode == 2 and "both classes" in r.stderr
    _warned(r, "the positional FILE", "--input")

    r = gg("triton", "export", "--bundle", tmp_path / "missing", "--repo", tmp_path / "repo", cwd=tmp_path)
    assert r.returncode == 2 and "not a model bundle" in r.stderr
    _warned(r, "--repo", "--output")


def test_a_required_flag_missing_under_both_names_is_one_line(tmp_path: Path) -> None:
    r = gg("data", "convert", "-i", tmp_path / "x.jsonl", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == "error: missing option --output"
