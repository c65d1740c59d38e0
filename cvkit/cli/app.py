"""The Typer application object. Command modules register on it; nothing heavy is imported here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="cvkit",
    help="Train, evaluate, run, inspect and ship computer-vision models from the shell.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
data_app = typer.Typer(help="Embedded datasets.", no_args_is_help=True)
plugin_app = typer.Typer(help="Task plugins.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(plugin_app, name="plugin")


def _version(value: bool) -> None:
    if value:
        from cvkit import __version__

        typer.echo(f"cvkit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show Python tracebacks for errors (or set CVKIT_DEBUG=1)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    max_pixels: int = typer.Option(None, "--max-pixels", min=0, help="Largest image (width x height) decoded or "
                                   "allocated for; larger ones are refused unread (0: no limit; or set "
                                   "CVKIT_MAX_PIXELS).", show_default="178956970, as Pillow"),
) -> None:
    """cvkit: one command line for vision tasks. Results go to stdout, logs to stderr."""
    if max_pixels is not None:
        from cvkit.io.limits import set_max_pixels

        set_max_pixels(max_pixels)
    if quiet:
        from cvkit.console import set_quiet

        set_quiet(True)
