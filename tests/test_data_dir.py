"""The default data directory: where the audit log and label store go unless told otherwise."""

import json
import re
from pathlib import Path

import platformdirs
import pytest
from typer.testing import CliRunner

from flagger.api.settings import ServiceSettings
from flagger.cli import app
from flagger.data_dir import data_dir, default_audit_log, default_store_url
from flagger.errors import ConfigError


def test_env_var_is_honoured_and_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = tmp_path / "not" / "yet"
    monkeypatch.setenv("FLAGGER_DATA_DIR", str(wanted))
    assert data_dir() == wanted
    assert wanted.is_dir()
    assert default_audit_log() == wanted / "audit.jsonl"
    assert default_store_url() == f"sqlite:///{wanted / 'labels.db'}"


def test_env_var_is_expanded_and_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FLAGGER_DATA_DIR", "~/flagger")
    assert data_dir() == tmp_path / "home" / "flagger"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLAGGER_DATA_DIR", "relative")
    assert data_dir() == tmp_path / "relative"
    assert data_dir().is_absolute()


def test_default_is_the_user_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[tuple[object, ...], dict[str, object]]] = []

    def user_data_dir(*args: object, **kwargs: object) -> str:
        asked.append((args, kwargs))
        return str(tmp_path / "user-data" / "flagger")

    monkeypatch.delenv("FLAGGER_DATA_DIR")
    monkeypatch.setattr(platformdirs, "user_data_dir", user_data_dir)
    assert data_dir() == tmp_path / "user-data" / "flagger"
    assert (tmp_path / "user-data" / "flagger").is_dir()
    assert asked == [(("flagger",), {"appauthor": False})]


def test_uncreatable_directory_is_a_config_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("FLAGGER_DATA_DIR", str(blocker / "data"))
    with pytest.raises(ConfigError, match=rf"{re.escape(str(blocker / 'data'))}.*FLAGGER_DATA_DIR"):
        data_dir()


def test_service_settings_default_under_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAGGER_DATA_DIR", str(tmp_path))
    settings = ServiceSettings()
    assert settings.audit_log == tmp_path / "audit.jsonl"
    assert settings.store_url == f"sqlite:///{tmp_path / 'labels.db'}"

    monkeypatch.setenv("FLAGGER_AUDIT_LOG", str(tmp_path / "elsewhere.jsonl"))
    monkeypatch.setenv("FLAGGER_STORE_URL", "sqlite:///:memory:")
    settings = ServiceSettings()
    assert settings.audit_log == tmp_path / "elsewhere.jsonl"
    assert settings.store_url == "sqlite:///:memory:"


def test_labels_commands_use_the_data_dir_and_leave_the_cwd_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flagger_data_dir: Path
) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"id": "m1", "text": "a message", "label": "sexist"}) + "\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("FLAGGER_STORE_URL", raising=False)
    runner = CliRunner()

    imported = runner.invoke(app, ["labels", "import", str(labels)])
    assert imported.exit_code == 0, imported.output
    stats = runner.invoke(app, ["labels", "stats"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.stdout)["usable_cases"] == 1
    assert (flagger_data_dir / "labels.db").is_file()
    assert list(cwd.iterdir()) == []


def test_an_explicit_store_overrides_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flagger_data_dir: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    explicit = tmp_path / "mine.db"
    result = CliRunner().invoke(app, ["labels", "stats", "--db", f"sqlite:///{explicit}"])
    assert result.exit_code == 0, result.output
    assert explicit.is_file()
    assert not (flagger_data_dir / "labels.db").exists()


def test_schemathesis_cache_is_kept_out_of_the_checkout() -> None:
    storage = pytest.importorskip("schemathesis.core.storage")
    checkout = Path(__file__).resolve().parents[1]
    assert Path(storage.DEFAULT_ROOT).is_absolute()
    assert not Path(storage.DEFAULT_ROOT).is_relative_to(checkout)
