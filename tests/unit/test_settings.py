"""Settings come from the environment, read at call time, with embedded defaults."""

from __future__ import annotations

import pytest

from hydroml.settings import APP_ENV_VARS, PROJECT_ROOT, get_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in APP_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def test_default_database_is_sqlite_in_the_data_folder():
    settings = get_settings()

    assert settings.data_dir == (PROJECT_ROOT / "data").resolve()
    assert settings.db_url == f"sqlite:///{settings.data_dir / 'hydroml.db'}"


def test_redis_is_off_by_default():
    settings = get_settings()

    assert settings.redis_url is None
    assert settings.uses_redis is False


def test_default_upload_limit_is_2048_mb():
    assert get_settings().max_upload_mb == 2048


def test_data_dir_moves_the_default_database(tmp_path, monkeypatch):
    monkeypatch.setenv("HYDROML_DATA_DIR", str(tmp_path))

    assert get_settings().db_url == f"sqlite:///{tmp_path.resolve() / 'hydroml.db'}"


def test_reflex_db_url_selects_the_database(monkeypatch):
    monkeypatch.setenv("REFLEX_DB_URL", "postgresql+psycopg2://hydro@db:5432/hydroml")

    assert get_settings().db_url == "postgresql+psycopg2://hydro@db:5432/hydroml"


def test_plain_postgresql_url_uses_the_installed_psycopg2_driver(monkeypatch):
    monkeypatch.setenv("REFLEX_DB_URL", "postgresql://hydro@db:5432/hydroml")

    assert get_settings().db_url == "postgresql+psycopg2://hydro@db:5432/hydroml"


def test_reflex_redis_url_turns_redis_on(monkeypatch):
    monkeypatch.setenv("REFLEX_REDIS_URL", "redis://cache:6379/0")

    settings = get_settings()

    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.uses_redis is True


def test_upload_limit_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("HYDROML_MAX_UPLOAD_MB", " 512 ")

    assert get_settings().max_upload_mb == 512


@pytest.mark.parametrize("raw", ["lots", "2.5", "1e3"])
def test_non_integer_upload_limit_names_the_variable(monkeypatch, raw: str):
    monkeypatch.setenv("HYDROML_MAX_UPLOAD_MB", raw)

    with pytest.raises(ValueError, match="HYDROML_MAX_UPLOAD_MB"):
        get_settings()
