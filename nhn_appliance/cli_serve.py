"""The ``serve`` command: the site watched on an interval (the work is in
serve*.py, history.py, metrics.py and status_page.py).

A plain click command that cli.py adds to its group; see cli_apply.py.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from nhn_appliance.cli_apply import STATE_DIR

if TYPE_CHECKING:
    from nhn_appliance.cli import Ctx


# -- serve ------------------------------------------------------------------------
@click.command()
@click.option(
    "--listen",
    metavar="ADDR:PORT",
    help="Where the HTTP endpoints listen (default: the site's [serve] listen, else "
    "127.0.0.1:9733). Beyond loopback, /probe needs a token ([serve] token_file).",
)
@click.option(
    "--interval",
    metavar="DURATION",
    help="Time between probe runs, e.g. 30s, 5m (default: the site's [serve] interval, else 5m).",
)
@click.option("--once", is_flag=True, help="One run into the history, then exit (for cron).")
@click.option(
    "--lang",
    type=click.Choice(["nb", "en"]),
    default="nb",
    show_default=True,
    help="Language of the diagnosis on the status page and in /report.json.",
)
@STATE_DIR
@click.pass_obj
def serve(
    obj: Ctx, listen: str | None, interval: str | None, once: bool, lang: str, state_dir: str
) -> None:
    """Watch the site: run its probe plan every interval and serve what it sees.

    Keeps every run with its diagnosis in a history (SQLite in the state
    directory, bounded by [serve] history_max_age and history_max_mb) and
    answers HTTP: /metrics (Prometheus), / (status page), /report.json,
    /healthz, /probe?service=S (one service now; rate-limited). SIGTERM ends
    the running probe and the server. Bad settings (interval, address, a port
    in use, an unwritable state directory) are exit 2 before anything starts.
    --once: exit 1 when the run fails. See docs/serve.md.

    \b
    Examples:
      nhn-appliance serve
      nhn-appliance serve --listen 0.0.0.0:9733 --interval 5m
      nhn-appliance serve --once      (from cron)
    """
    from nhn_appliance import serve_config
    from nhn_appliance.serve import serve as run

    inputs = obj.inputs()
    config = serve_config.load(
        inputs.site_path, inputs.site.file, listen, interval, state_dir, lang, once
    )
    sys.exit(run(inputs, config))


COMMANDS = (serve,)
