"""The account service against the real PostgreSQL, on a schema built by the migrations."""

from __future__ import annotations

import pytest

from hydroml.services import auth
from hydroml.services.errors import InvalidInput, RateLimited
from tests.integration.test_migrations import _upgrade_to_head

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_app(fresh_pg_url, monkeypatch, tmp_path):
    _upgrade_to_head(fresh_pg_url)
    monkeypatch.setenv("REFLEX_DB_URL", fresh_pg_url)
    monkeypatch.setenv("HYDROML_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HYDROML_LOGIN_MAX_FAILURES", "3")
    return fresh_pg_url


def test_register_sign_in_and_sign_out_on_postgres(pg_app):
    auth.register("Station_Keeper", "gauge-reading-7", "Keeper")
    signed = auth.sign_in("station_keeper", "gauge-reading-7")
    assert auth.current_user(signed.token).display_name == "Keeper"
    auth.sign_out(signed.token)
    assert auth.current_user(signed.token) is None


def test_duplicate_user_name_differing_in_case_is_refused_on_postgres(pg_app):
    auth.register("Hydro", "gauge-reading-7")
    with pytest.raises(InvalidInput) as error:
        auth.register("HYDRO", "gauge-reading-8")
    assert error.value.field == "username"


def test_repeated_failures_lock_the_account_on_postgres(pg_app):
    auth.register("target", "gauge-reading-7")
    for _ in range(3):
        with pytest.raises(InvalidInput):
            auth.sign_in("target", "guess-1234567")
    with pytest.raises(RateLimited):
        auth.sign_in("target", "gauge-reading-7")


def test_timestamps_come_back_timezone_aware_on_postgres(pg_app):
    user = auth.register("tz_user", "gauge-reading-7")
    assert user.created_at.tzinfo is not None
