"""Settings layering (groomguard.config): packaged default < --config file < GROOMGUARD_* environment
< --set < flags, each expectation worked out by hand from the layers the test writes; the packaged
configs themselves (`config show`, `config init`, a packaged name as --config)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from groomguard.config import layered_config, load_config, packaged_configs
from groomguard.errors import ConfigError
from groomguard.serving.settings import ServeConfig
from groomguard.serving.store import StoreConfig

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = yaml.safe_load((ROOT / "configs" / "serve.yaml").read_text(encoding="utf-8"))  # the repository copy


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text("server:\n  port: 9001\nstore:\n  url: sqlite:///from-file.db\n", encoding="utf-8")
    return path


def test_each_layer_wins_over_the_ones_below(tmp_path: Path) -> None:
    mine = _file(tmp_path)
    env = {"GROOMGUARD_SERVER__PORT": "9002", "GROOMGUARD_STORE__URL": "sqlite:///from-env.db"}

    def port_and_url(path: Path | None, environ: dict[str, str], sets: list[str], flags: dict[str, object]) -> tuple:
        cfg = load_config(ServeConfig, path, sets, default="serve.yaml", values=flags, environ=environ)
        return cfg.server.port, cfg.store.url

    shipped = (SHIPPED["server"]["port"], SHIPPED["store"]["url"])
    assert port_and_url(None, {}, [], {}) == shipped                                   # packaged default
    assert port_and_url(mine, {}, [], {}) == (9001, "sqlite:///from-file.db")           # file > packaged
    assert port_and_url(mine, env, [], {}) == (9002, "sqlite:///from-env.db")           # env > file
    assert port_and_url(None, env, [], {}) == (9002, "sqlite:///from-env.db")           # env > packaged
    assert port_and_url(mine, env, ["server.port=9003"], {}) == (9003, "sqlite:///from-env.db")  # --set > env
    assert port_and_url(mine, env, ["server.port=9003"], {"server.port": 9004, "store.url": "sqlite:///flag.db"}) \
        == (9004, "sqlite:///flag.db")                                                  # flag > --set > env
    assert port_and_url(mine, env, [], {"server.port": None}) == (9002, "sqlite:///from-env.db")  # flag not given


def test_a_partial_file_keeps_the_packaged_values_it_does_not_name(tmp_path: Path) -> None:
    cfg = load_config(ServeConfig, _file(tmp_path), default="serve.yaml", environ={})
    assert cfg.server.host == SHIPPED["server"]["host"]
    assert cfg.batching.max_delay_ms == SHIPPED["batching"]["max_delay_ms"]
    assert cfg.engine.providers == SHIPPED["engine"]["providers"]


def test_environment_spelling_types_and_scope() -> None:
    environ = {
        "groomguard_engine__max_batch_size": "4",                  # case-insensitive, converted by pydantic
        "GROOMGUARD_ENGINE__PROVIDERS": '["CPUExecutionProvider"]',  # JSON for lists
        "GROOMGUARD_TEST_POSTGRES_URL": "postgresql://elsewhere",    # first key not in the config: ignored
        "GROOMGUARDX_SERVER__PORT": "1",                             # another prefix: ignored
    }
    cfg = load_config(ServeConfig, default="serve.yaml", environ=environ)
    assert cfg.engine.max_batch_size == 4 and cfg.engine.providers == ["CPUExecutionProvider"]
    assert cfg.server.port == SHIPPED["server"]["port"]
    store = load_config(StoreConfig, default="serve.yaml", section="store",
                        environ={"GROOMGUARD_STORE__URL": "sqlite:///x.db", "GROOMGUARD_SERVER__PORT": "oops"})
    assert store.url == "sqlite:///x.db"  # a section load reads only its own section's variables


def test_bad_values_name_the_variable_or_flag_that_set_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^GROOMGUARD_SERVER__PORT: server.port: "):
        load_config(ServeConfig, default="serve.yaml", environ={"GROOMGUARD_SERVER__PORT": "eighty"})
    with pytest.raises(ConfigError, match=r"^--set server.port: server.port: "):
        load_config(ServeConfig, None, ["server.port=eighty"], default="serve.yaml", environ={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: eighty\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: server.port: "):
        load_config(ServeConfig, bad, default="serve.yaml", environ={})
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(ServeConfig, default="serve.yaml", environ={"GROOMGUARD_ENGINE__PROVIDERS": "[oops"})


def test_packaged_names_resolve_anywhere_and_files_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no configs/ here
    shipped = yaml.safe_load((ROOT / "configs" / "train-test.yaml").read_text(encoding="utf-8"))
    for spelling in ("configs/train-test.yaml", "train-test.yaml", "train-test"):
        assert layered_config(spelling, environ={}).data["name"] == shipped["name"]
    (tmp_path / "train-test.yaml").write_text("name: local-copy\n", encoding="utf-8")
    assert layered_config("train-test.yaml", environ={}).data == {"name": "local-copy"}  # an existing file wins
    with pytest.raises(ConfigError, match=r"nope\.yaml: config file not found"):
        layered_config("nope.yaml", environ={})


def gg(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "groomguard", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env={**os.environ, **(env or {})})


def test_config_show_and_init(tmp_path: Path) -> None:
    r = gg("config", "show", "serve", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == (ROOT / "configs" / "serve.yaml").read_text(encoding="utf-8")
    r = gg("config", "init", "-o", tmp_path / "mine", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == packaged_configs()
    assert (tmp_path / "mine" / "eval.yaml").read_bytes() == (ROOT / "configs" / "eval.yaml").read_bytes()
    r = gg("config", "init", tmp_path / "mine", "--name", "serve", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error: --output:") and "--force" in r.stderr
    r = gg("config", "show", "nope", cwd=tmp_path)
    assert r.returncode == 2 and "serve.yaml" in r.stderr and "Traceback" not in r.stderr


def test_environment_reaches_the_cli_and_flags_beat_it(tmp_path: Path) -> None:
    env_db, flag_db = tmp_path / "env.db", tmp_path / "flag.db"
    env = {"GROOMGUARD_STORE__URL": f"sqlite:///{env_db}"}
    r = gg("keys", "create", "--name", "from-env", "--scope", "score", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    r = gg("keys", "create", "--name", "from-flag", "--scope", "score", "--db-url", f"sqlite:///{flag_db}",
           cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    listed_env = gg("keys", "list", "--db-url", f"sqlite:///{env_db}", cwd=tmp_path).stdout
    listed_flag = gg("keys", "list", "--set", f"store.url=sqlite:///{flag_db}", cwd=tmp_path).stdout
    assert "from-env" in listed_env and "from-flag" not in listed_env
    assert "from-flag" in listed_flag and "from-env" not in listed_flag
    assert not (tmp_path / "var").exists()  # the packaged default store was never touched


def test_extends_merges_the_file_over_the_one_it_names(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("name: demo\ntraining:\n  max_steps: 260\n  batch_size: 16\n"
                                        "lexical:\n  weight: 0.75\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mid.yaml").write_text("extends: ../base.yaml\ntraining:\n  max_steps: 1600\n",
                                               encoding="utf-8")
    top = tmp_path / "sub" / "top.yaml"
    top.write_text("extends: mid.yaml\nname: full\n", encoding="utf-8")
    got = layered_config(top, ["lexical.weight=0.5"]).data
    # by hand: base < mid (max_steps) < top (name) < --set (weight); batch_size only in base
    assert got == {"name": "full", "training": {"max_steps": 1600, "batch_size": 16}, "lexical": {"weight": 0.5}}


def test_extends_loops_and_bad_values_are_named(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="loops back"):
        layered_config(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("extends: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.yaml: extends must name a config file"):
        layered_config(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("extends: missing.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"missing\.yaml: config file not found"):
        layered_config(tmp_path / "d.yaml")


def test_the_recipes_beside_the_demo_change_only_what_they_name() -> None:
    from groomguard.training.train_config import TrainConfig
    configs = ROOT / "configs"
    demo = load_config(TrainConfig, configs / "train-demo.yaml").model_dump()
    full = load_config(TrainConfig, configs / "train-full.yaml").model_dump()
    e5 = load_config(TrainConfig, configs / "train-e5.yaml").model_dump()
    # the differences, listed by hand from the two files; data, seeds, head and thresholds are the demo's
    assert {k for k in demo if demo[k] != full[k]} == {"name", "windows", "training", "output_dir"}
    assert (full["training"]["max_steps"], full["windows"]["train_per_conversation"]) == (1600, 4)
    assert {k for k in full["windows"] if full["windows"][k] != demo["windows"][k]} == {"train_per_conversation"}
    assert {k for k in demo if demo[k] != e5[k]} == {"name", "base_model", "output_dir", "lexical"}
    # e5 inherits the demo's word head (stop 38) and keeps only its own weight
    assert {k for k in e5["lexical"] if e5["lexical"][k] != demo["lexical"][k]} == {"weight"}
    assert (demo["lexical"]["weight"], e5["lexical"]["weight"]) == (0.85, 0.8)
    assert e5["lexical"]["units"] == "words" and e5["lexical"]["ngram_max"] == 3
    assert str(e5["base_model"]) == "var/base/multilingual-e5-small"


def test_a_recipe_copied_alone_extends_the_packaged_demo(tmp_path: Path) -> None:
    """`groomguard config init -n train-full` copies one file; its `extends: train-demo.yaml` has no
    sibling there, so the packaged demo is read (a sibling, when present, wins)."""
    from groomguard.training.train_config import TrainConfig
    alone = tmp_path / "train-full.yaml"
    alone.write_text((ROOT / "configs" / "train-full.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_config(TrainConfig, alone) == load_config(TrainConfig, ROOT / "configs" / "train-full.yaml")
    demo = (ROOT / "configs" / "train-demo.yaml").read_text(encoding="utf-8")
    assert "\nseed: 13\n" in demo
    (tmp_path / "train-demo.yaml").write_text(demo.replace("\nseed: 13\n", "\nseed: 99\n"), encoding="utf-8")
    assert load_config(TrainConfig, alone).seed == 99
