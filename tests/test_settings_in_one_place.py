"""Each setting is resolved in one place (``settings.py``): the landing folder, yes/no flags."""

from __future__ import annotations

import dagster as dg
import pytest

from rmj_dagster import settings
from rmj_dagster.definitions import build_resources
from rmj_dagster.sensors import delivery_sensor
from rmj_dagster.ttp.pseudonym import DEMO_KEY, KeyRefused, PseudonymKey


@pytest.mark.parametrize("word", ["1", "true", "yes", "ja", "JA "])
def test_demo_mode_means_the_same_to_the_settings_and_to_the_key(word):
    env = {settings.ENV_DEMO_MODE: word, settings.ENV_PSEUDONYM_KEY: DEMO_KEY.decode()}
    assert settings.Settings.from_env(env).demo_mode
    assert PseudonymKey.from_env(env).secret == DEMO_KEY


@pytest.mark.parametrize("word", ["0", "nee", "", "no"])
def test_anything_else_is_not_demo_mode_for_either(word):
    env = {settings.ENV_DEMO_MODE: word, settings.ENV_PSEUDONYM_KEY: DEMO_KEY.decode()}
    assert not settings.Settings.from_env(env).demo_mode
    with pytest.raises(KeyRefused):
        PseudonymKey.from_env(env)


def test_the_sensor_gets_the_landing_zone_the_resources_and_the_cli_resolve(rmj_env, monkeypatch, tmp_path):
    assert "landing" in delivery_sensor.required_resource_keys
    root = build_resources()["landing"].root
    assert isinstance(root, dg.EnvVar)  # the UI shows where the value came from
    assert root.get_value() == str(settings.Settings.from_env().landing_dir) == str(rmj_env["landing"])
    monkeypatch.chdir(tmp_path)  # the default is relative: here it names tmp_path/data/landing, not the user's
    monkeypatch.delenv(settings.ENV_LANDING_DIR)
    assert build_resources()["landing"].root == str(settings.Settings.from_env().landing_dir) == settings.DEFAULT_LANDING_DIR
