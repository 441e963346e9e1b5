"""Every `kg ... --help` names the folders and files the command uses and the settings that move them."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from kg.cli import main

#: Each command and the environment variables of the settings that say where its inputs and
#: outputs are. A new command must be added here, with its own.
PLACES = {
    "kg": {"KG_CORPUS_DIR", "KG_ONTOLOGY_DIR", "KG_DATA_DIR", "KG_CONFIG"},
    "kg build": {"KG_CORPUS_DIR", "KG_ONTOLOGY_DIR", "KG_DATA_DIR"},
    "kg corpus": {"KG_CORPUS_DIR"},
    "kg corpus import": {"KG_CORPUS_DIR"},
    "kg refs": {"KG_CORPUS_DIR"},
    "kg refs extract": {"KG_CORPUS_DIR"},
    "kg refs import": {"KG_CORPUS_DIR"},
    "kg refs check": {"KG_DATA_DIR", "KG_CORPUS_DIR"},
    "kg bibtex": {"KG_DATA_DIR", "KG_CORPUS_DIR"},
    "kg cite": {"KG_DATA_DIR"},
    "kg search": {"KG_DATA_DIR"},
    "kg sparql": {"KG_DATA_DIR", "KG_ONTOLOGY_DIR", "KG_SPARQL_TIMEOUT", "KG_SPARQL_MAX_ROWS"},
    "kg export": {"KG_DATA_DIR"},
    "kg serve": {"KG_DATA_DIR", "KG_HOST", "KG_PORT"},
    "kg publish": {"KG_DATA_DIR", "KG_SPARQL_ENDPOINT", "KG_VIRTUOSO_PASSWORD"},
}


def _commands(group: click.Group, prefix: str = "kg") -> list[str]:
    out = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            out += _commands(command, f"{prefix} {name}")
        else:
            out.append(f"{prefix} {name}")
    return out


def _help(command: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, [*command.split()[1:], "--help"], env=env)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # words wrapped onto two lines still count


def test_every_command_is_listed():
    assert sorted(_commands(main)) == sorted(PLACES)


@pytest.mark.parametrize("command", sorted(PLACES))
def test_every_help_names_the_settings_of_its_places(command):
    text = _help(command)
    missing = {name for name in PLACES[command] if name not in text}
    assert not missing, f"`{command} --help` does not name {sorted(missing)}"
    # A default written as a fixed path would be wrong as soon as a setting moves it.
    assert not re.search(r"default: corpus/\S", text), text


def test_help_shows_where_the_current_settings_put_the_library_and_corpus(tmp_path):
    env = {"KG_CORPUS_DIR": str(tmp_path / "elsewhere"), "KG_DATA_DIR": str(tmp_path / "built")}
    imported = _help("kg refs import", env)
    assert f"reference library {tmp_path / 'elsewhere' / 'references.bib'}" in imported
    assert "corpus/references.bib" not in imported
    built = _help("kg build", env)
    assert f"corpus folder {tmp_path / 'elsewhere'}" in built and f"data directory {tmp_path / 'built'}" in built
    assert "Reads the corpus folder" in built and "Writes the data directory" in built


def test_help_with_a_bad_setting_still_shows(tmp_path):
    text = _help("kg build", {"KG_PORT": "not-a-port"})
    assert "the settings cannot be read" in text and "KG_PORT" in text
