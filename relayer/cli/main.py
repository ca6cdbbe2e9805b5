"""Entry point of the `relayer` command: a click group whose subcommands live in sibling modules."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from relayer.errors import RelayerError

# (module, attribute) of each top-level subcommand; imported lazily so that `relayer --help`
# stays fast and one broken optional part does not take the whole CLI down.
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "devnet": ("relayer.cli.devnet", "devnet"),
    "zk": ("relayer.cli.zk", "zk"),
    "setup": ("relayer.cli.setup", "setup"),
    "bench": ("relayer.cli.bench", "bench"),
    "run": ("relayer.cli.run", "run"),
    "round": ("relayer.cli.round", "round_cmd"),
    "status": ("relayer.cli.status", "status"),
    "verify": ("relayer.cli.verify", "verify"),
    "circuit": ("relayer.cli.circuit", "circuit"),
    "inclusion-path": ("relayer.cli.verify", "inclusion_path"),
    "inclusion": ("relayer.cli.inclusion", "inclusion"),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_SUBCOMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _SUBCOMMANDS:
            module, attr = _SUBCOMMANDS[cmd_name]
            try:
                return getattr(importlib.import_module(module), attr)
            except ModuleNotFoundError as exc:
                if exc.name == module:
                    return None
                raise
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Multi-chain solvency oracle and cross-chain proof relayer."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RelayerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
