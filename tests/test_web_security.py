"""Security headers, no inline scripts, a read-only data dir, the app factory's settings, and `kg serve`."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.errors import SettingsError

WEB = Path(__file__).resolve().parents[1] / "web"

PATHS = ["/", "/search?q=personal+budgets", "/cite", "/sources", "/source/DH2011b", "/concepts",
         "/concept/payment-by-results", "/posts", "/audit", "/sparql", "/api/stats", "/api/source/DH2011b",
         "/no/such/page", "/api/no/such", "/static/style.css", "/static/app.js",
         "/sparql?query=SELECT%20*%20%7B%3Fs%20%3Fp%20%3Fo%7D%20LIMIT%201"]


@pytest.mark.parametrize("path", PATHS)
def test_security_headers_on_every_response(web_client, path):
    with web_client.get(path, headers={"Accept": "text/html"}) as response:  # static files stream: close them
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_api_and_sparql_allow_scripts_on_other_sites_to_read(web_client):
    preflight = web_client.options("/sparql", headers={"Origin": "https://elsewhere.example",
                                                       "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    assert web_client.get("/api/stats").headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in web_client.get("/", headers={"Accept": "text/html"}).headers


def test_templates_have_no_inline_script_handlers_styles_or_safe_filter():
    for template in (WEB / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert " style=" not in text, template.name
        assert "|safe" not in text.replace(" ", "") and "Markup(" not in text, template.name
        assert "autoescape false" not in text, template.name


def test_pages_fetch_nothing_from_the_network(web_client):
    for path in PATHS[:10]:
        page = web_client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//(?!kg\.example\.org)[^"]*\.(js|css|woff2?)"', page), path
        assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', page), path


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def test_no_route_writes_to_the_data_dir(web_client, built_settings):
    before = _snapshot(built_settings.data_dir)
    for path in PATHS + ["/search/bibtex?q=care", "/source/DH2011b/bibtex", "/concept/payment-by-results/bibtex",
                         "/api/concepts", "/api/claims", "/cite?q=DH+2011b", "/sources/bibtex"]:
        web_client.get(path, headers={"Accept": "text/html"}).close()
    web_client.post("/sparql", data={"query": 'INSERT DATA { <http://a> <http://b> "c" }'})
    web_client.post("/sparql", data="CLEAR ALL", content_type="application/sparql-update")
    web_client.post("/sparql", data={"update": "DROP ALL"})
    assert _snapshot(built_settings.data_dir) == before


def test_kg_does_not_import_web():
    code = "import sys, kg.cli, kg.build, kg.catalog, kg.search; assert 'web' not in sys.modules, 'kg imported web'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- create_app settings ---------------------------------------------------------------------

def test_create_app_takes_a_mapping_and_environment_wins(built_settings, monkeypatch):
    from web import create_app
    from web.resources import get_settings

    app = create_app({"DATA_DIR": str(built_settings.data_dir), "SPARQL_MAX_ROWS": 7})
    assert get_settings(app).data_dir == built_settings.data_dir and get_settings(app).sparql_max_rows == 7
    monkeypatch.setenv("KG_SPARQL_MAX_ROWS", "3")
    app = create_app({"DATA_DIR": str(built_settings.data_dir), "SPARQL_MAX_ROWS": 7})
    assert get_settings(app).sparql_max_rows == 3


def test_create_app_reads_a_toml_file(built_settings, tmp_path):
    from web import create_app
    from web.resources import get_settings

    config = tmp_path / "web.toml"
    config.write_text(f'DATA_DIR = "{built_settings.data_dir}"\nSEARCH_PAGE_SIZE = 5\n', encoding="utf-8")
    settings = get_settings(create_app(config))
    assert settings.search_page_size == 5 and settings.data_dir == built_settings.data_dir


def test_create_app_refuses_bad_settings_naming_the_setting(built_settings):
    from web import create_app

    with pytest.raises(SettingsError, match="sparql_timeout"):
        create_app({"DATA_DIR": str(built_settings.data_dir), "SPARQL_TIMEOUT": -1})


def test_an_app_over_an_unbuilt_data_dir_says_to_run_kg_build(tmp_path):
    from web import create_app

    client = create_app({"DATA_DIR": str(tmp_path)}).test_client()
    response = client.get("/api/stats")
    assert response.status_code == 500
    body = response.get_json()
    assert body["ok"] is False and "kg build" in body["error"]


# --- kg serve --------------------------------------------------------------------------------

def test_kg_serve_help():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output and "--port" in result.output and "waitress" in result.output


def test_kg_serve_without_a_build_fails_naming_the_fix(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--data", str(tmp_path / "empty"), "--port", "0"])
    assert result.exit_code == 1
    assert "Error: no graph store" in result.output and "kg build" in result.output


def test_served_instance_answers_with_headers(served):
    with urllib.request.urlopen(urllib.request.Request(served, headers={"Accept": "text/html"}), timeout=10) as page:
        assert page.status == 200
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert "Search claims" in page.read().decode()
    assert served.startswith("http://127.0.0.1:")
