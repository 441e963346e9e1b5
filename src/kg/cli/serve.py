"""kg serve."""

from __future__ import annotations

import click

from ..graph import store_path
from .common import with_settings


#: Bytes waitress accepts beyond max_request_bytes before refusing a body itself.
WAITRESS_HEADROOM = 1 << 20


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: 127.0.0.1, or KG_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: 8080, or KG_PORT; 0 picks a free one).")
@with_settings
def serve_command(settings, host: str | None, port: int | None) -> None:
    """Serve the web app, JSON API and SPARQL endpoint under waitress, printing the URL.

    Reads the data directory written by `kg build` and never writes to it. Stop with Ctrl+C.

    Example: kg serve --port 8080
    """
    settings = settings.with_(**{name: value for name, value in (("host", host), ("port", port)) if value is not None})
    store_path(settings)  # fail now, with the fix, rather than on the first request
    # Imported here: `kg` must not import `web` when the CLI loads.
    import waitress

    from web import create_app
    from web.sparql_endpoint import close_pool

    app = create_app(settings)
    # waitress's own cap sits a little above the app's, so a body just over max_request_bytes gets
    # the app's 413 (the one error shape, naming the setting); waitress still refuses, in plain
    # text, anything far larger before buffering it.
    server = waitress.create_server(app, host=settings.host, port=settings.port, threads=settings.threads,
                                    max_request_body_size=settings.max_request_bytes + WAITRESS_HEADROOM,
                                    ident="kg")
    shown = f"[{server.effective_host}]" if ":" in str(server.effective_host) else server.effective_host
    click.echo(f"Serving {settings.data_dir} at http://{shown}:{server.effective_port}/ (press Ctrl+C to stop)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        close_pool(app)


COMMANDS = [serve_command]
