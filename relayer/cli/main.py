"""Entry point of the `relayer` command: a click group whose subcommands live in sibling modules."""

from __future__ import annotations

import errno
import importlib
import os
import sys

import click

from relayer import logs
from relayer.errors import FileAccessError, RelayerError

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
    "market": ("relayer.cli.market", "market"),
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


# errors of writing a file that carry no file name (write(2) reports none)
_FILE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO})

# the long-running and round commands log what they do (rounds, the prover chosen) by default
_INFO_BY_DEFAULT = {"run", "round"}


@click.group(cls=_LazyGroup)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("--log-level", type=click.Choice(logs.LEVELS, case_sensitive=False), default=None,
              help="Log level (default: RELAYER_LOG_LEVEL, else info for run/round, warning otherwise).")
@click.option("--log-format", type=click.Choice(logs.FORMATS, case_sensitive=False), default=None,
              help="text, or json: one object per line (default: RELAYER_LOG_FORMAT, else text).")
@click.pass_context
def cli(ctx: click.Context, verbose: int, log_level: str | None, log_format: str | None) -> None:
    """Multi-chain solvency oracle and cross-chain proof relayer."""
    default = "INFO" if ctx.invoked_subcommand in _INFO_BY_DEFAULT else "WARNING"
    logs.configure(*logs.resolve(log_level, log_format, verbose, default, os.environ))


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
    except OSError as exc:
        # last resort for a file the command did not check itself (unwritable output, disk full):
        # only the OS's own errors about a file; any other OSError (a socket's, one raised by hand
        # without errno) is a bug or unexpected and keeps its traceback
        if exc.errno is None or (exc.filename is None and exc.errno not in _FILE_ERRNOS):
            raise
        err = FileAccessError.from_os_error(exc)
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)


if __name__ == "__main__":
    main()
