"""Settings: declared once, documented, resolved defaults -> file -> environment -> options."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.errors import SettingsError
from kg.settings import OPTIONS, ROOT, load_settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.name)
def test_every_setting_is_documented_in_the_readme(option):
    row = next((line for line in README.splitlines() if line.startswith(f"| `{option.name}` |")), None)
    assert row is not None, f"README.md has no row for setting {option.name}"
    assert f"`KG_{option.name.upper()}`" in row
    assert option.help in row


def test_defaults_point_into_the_checkout():
    settings = load_settings(env={})
    assert settings.corpus_dir == ROOT / "corpus"
    assert settings.data_dir == ROOT / "data"
    assert settings.store_dir == ROOT / "data" / "current" / "store"
    assert settings.index_dir == ROOT / "data" / "current" / "index"
    assert settings.port == 8080 and settings.host == "127.0.0.1"


def test_file_then_environment_then_overrides(tmp_path):
    config = tmp_path / "kg.toml"
    config.write_text('port = 9000\nsparql_timeout = 3\nbase_iri = "http://example.org/kg/"\n', encoding="utf-8")
    env = {"KG_PORT": "9100", "KG_DATA_DIR": str(tmp_path / "d")}
    settings = load_settings(config, env=env, sparql_timeout=None)
    assert settings.port == 9100  # environment beats the file
    assert settings.sparql_timeout == 3.0  # the file beats the default; a None override is ignored
    assert settings.base_iri == "http://example.org/kg/"
    assert settings.data_dir == tmp_path / "d"
    assert load_settings(config, env=env, port=9200).port == 9200


def test_config_file_from_environment(tmp_path):
    config = tmp_path / "other.toml"
    config.write_text("[kg]\nthreads = 2\n", encoding="utf-8")
    assert load_settings(env={"KG_CONFIG": str(config)}).threads == 2


@pytest.mark.parametrize("env, problem", [
    ({"KG_PORT": "eighty"}, "environment variable KG_PORT"),
    ({"KG_PORT": "70000"}, "port number"),
    ({"KG_SPARQL_TIMEOUT": "-1"}, "greater than 0"),
    ({"KG_BASE_IRI": "kg.example.org"}, "ending in '/'"),
    ({"KG_CONFIG": "/nonexistent/kg.toml"}, "does not exist"),
])
def test_bad_values_name_the_setting_and_the_fix(env, problem):
    with pytest.raises(SettingsError, match=problem):
        load_settings(env=env)


def test_bad_config_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("port = [", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad, env={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 'red'\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown setting 'colour'"):
        load_settings(unknown, env={})
