"""The ``neurocl`` Typer application: parse options, call :mod:`neurocl.api`, render output.

Heavy libraries (torch, nilearn, mne) are imported inside the commands that need them, so
``neurocl --help`` answers at once.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from neurocl._core.errors import NeuroclError
from neurocl._version import __version__
from neurocl.cli import _output


class _Group(TyperGroup):
    """Turn neurocl's own errors into one red line on stderr and an exit code."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:
            _output.ARGV = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NeuroclError as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            from rich.markup import escape

            from neurocl.cli._output import stderr

            stderr.print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # a file system refusal neurocl did not foresee: still one line
            if (ctx.obj or {}).get("debug"):
                raise
            from rich.markup import escape

            from neurocl.cli._output import stderr

            where = f"{exc.filename}: " if exc.filename else ""
            stderr.print(f"[bold red]error:[/bold red] {escape(where + (exc.strerror or str(exc)))}"
                         "; check the path, its permissions and the free space (--debug shows "
                         "the traceback)", soft_wrap=True)
            ctx.exit(1)


app = typer.Typer(
    cls=_Group,
    name="neurocl",
    help="Functional-connectivity datasets, self-supervised encoders and honest probes "
    "for fMRI and EEG.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"neurocl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """neurocl: build FC datasets, pretrain encoders, probe, ablate and map."""
    ctx.obj = {"debug": debug}


def _register() -> None:
    from neurocl.cli import (
        ablate,
        atlases,
        build_fc,
        demo,
        importance,
        info,
        merge,
        pretrain,
        probe,
        report,
        simulate,
    )

    for module in (build_fc, merge, info, demo, atlases, pretrain, probe, report, ablate,
                   importance, simulate):
        module.register(app)


_register()


def run() -> None:
    """Entry point of the ``neurocl`` script."""
    app(prog_name="neurocl")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
