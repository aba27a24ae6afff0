"""The ``sora-browser`` command group: a thin shell over the library (docs/ARCHITECTURE.md).

Data goes to stdout (a path, a URL, or one JSON object per link with ``--json``); everything
meant for a person goes to stderr. Every command runs through ``runner.run``: each error ends in
one line and the exit code its class carries, a traceback only with ``-v``. Heavy modules
(aiohttp, Playwright, temporalio) are imported inside the commands, so ``--help`` and
``--version`` stay instant; every command module here imports only click.
"""

from __future__ import annotations

from pathlib import Path

import click

from .._version import __version__
from .batch import batch
from .links import download, resolve
from .temporal import submit, temporal_dev, worker
from .warc import warc
from .wayback import wayback


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sora-browser")
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default: config.toml in the user config folder,"
    " e.g. ~/.config/sora-browser/config.toml).",
)
@click.option("--ignore-config", is_flag=True, help="Read no settings file.")
@click.pass_context
def main(ctx: click.Context, config_file: Path | None, ignore_config: bool) -> None:
    """Turn Sora share links into MP4 files on disk.

    Settings come from the command line, then the environment, then the settings file.
    """
    if not ignore_config:
        # Here, not at import: `--help` and completion never read the file.
        from .config import load_default_map

        ctx.default_map = load_default_map(main, config_file)


for _command in (download, resolve, batch, wayback, warc, worker, submit, temporal_dev):
    main.add_command(_command)
