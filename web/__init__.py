"""The kg web app: pages, a JSON API, linked data and a read-only SPARQL endpoint over a built data dir.

``create_app(config)`` takes its defaults from ``kg.settings``, then a config mapping, a TOML file
or a ``Settings`` object, then ``KG_*`` environment variables, and registers the blueprints.
Nothing here writes to the data directory.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from kg.settings import OPTIONS, Settings, load_settings


def _settings_config(settings: Settings) -> dict[str, Any]:
    return {option.name.upper(): getattr(settings, option.name) for option in OPTIONS}


def create_app(config: Mapping[str, Any] | Settings | str | Path | None = None) -> Flask:
    """Build the Flask app: settings defaults, then ``config``, then KG_* environment, then blueprints.

    ``config`` is a mapping of Flask/kg settings (kg settings in upper case, e.g. ``DATA_DIR``),
    a ``kg.settings.Settings``, or the path of a TOML file holding such keys.
    """
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config.update(_settings_config(load_settings()))
    if isinstance(config, Settings):
        app.config.update(_settings_config(config))
    elif isinstance(config, (str, Path)):
        app.config.from_file(str(config), load=tomllib.load, text=False)
    elif config is not None:
        app.config.from_mapping(config)
    app.config.from_prefixed_env("KG")

    from . import resources

    resources.init_app(app)
    app.config["MAX_CONTENT_LENGTH"] = resources.get_settings(app).max_request_bytes

    from . import api, http, linked, pages, sparql_endpoint

    http.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(linked.bp)
    app.register_blueprint(sparql_endpoint.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    return app
