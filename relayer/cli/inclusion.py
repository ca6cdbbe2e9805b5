"""`relayer inclusion ACCOUNT|PATH_FILE`: check an account's Merkle-sum path against a published root.

With an account id it builds the path from the stored round and checks it against the feed's on-chain
root (`relayer inclusion-path`); with a path file it checks the path against a root given to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from relayer.circuits.merkle_sum import InclusionProof
from relayer.errors import FormatError


def _parse_int(text: str, what: str) -> int:
    s = text.strip()
    try:
        return int(s, 16) if s.lower().startswith("0x") else int(s, 10)
    except ValueError as e:
        raise FormatError(f"{what} {text!r} is not an integer (decimal or 0x-hex)") from e


def _root_from_file(path: Path) -> tuple[int, int | None, int | None]:
    """A root file is either a bare root (decimal or 0x-hex) or JSON with `root` and optionally
    `liabilities` and `maintenanceMargin` (the attestation's chain-entry names)."""
    try:
        text = path.read_text().strip()
    except OSError as e:
        raise FormatError(f"cannot read root file {path}: {e}") from e
    if text.startswith("{"):
        try:
            obj = json.loads(text)
            root = _parse_int(str(obj["root"]), "root")
        except (json.JSONDecodeError, KeyError) as e:
            raise FormatError(f"root file {path}: expected JSON with a 'root' key ({e})") from e
        owed = obj.get("liabilities")
        req = obj.get("maintenanceMargin")
        return (root, None if owed is None else _parse_int(str(owed), "liabilities"),
                None if req is None else _parse_int(str(req), "maintenanceMargin"))
    return _parse_int(text, "root"), None, None


@click.command("inclusion")
@click.argument("target", metavar="ACCOUNT|PATH_FILE")
@click.option("--chain", "chain_name", help="ACCOUNT mode: the chain (name in chains.toml) whose book holds the account.")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("chains.toml"), show_default=True, help="ACCOUNT mode: chains.toml to use.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="ACCOUNT mode: also write the path (and PATH.root.json) for the account holder.")
@click.option("--root", "root_text", help="Published root (decimal or 0x-hex).")
@click.option("--root-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="File holding the root (bare value, or JSON with root/liabilities/maintenanceMargin).")
@click.option("--liabilities", "owed_text", help="Published total liabilities L_i to check the path's root sum against.")
@click.option("--maintenance-margin", "req_text", help="Published total maintenance margin MM_i to check against.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def inclusion(ctx: click.Context, target: str, chain_name: str | None, config_path: Path, out: Path | None,
              root_text: str | None, root_file: Path | None, owed_text: str | None,
              req_text: str | None, as_json: bool) -> None:
    """Check an account's inclusion in a published Merkle-sum root.

    ACCOUNT (an account id, with --chain and -c): the operator's view — build the account's path in
    the latest round from the stored book and check it against the root on that chain's feed.
    PATH_FILE (a relayer-inclusion/1 JSON path, with --root or --root-file): the account holder's own
    check, needing nothing but the path and the published root.
    """
    path_file = Path(target)
    if not path_file.is_file():
        try:
            account = int(target, 0)
        except ValueError:
            raise click.BadParameter(f"{target!r} is neither an existing path file nor an account id",
                                     param_hint="ACCOUNT|PATH_FILE") from None
        if chain_name is None:
            raise click.UsageError("ACCOUNT mode needs --chain NAME (and -c chains.toml)")
        from relayer.cli.verify import inclusion_path

        ctx.invoke(inclusion_path, account=account, chain_name=chain_name, config_path=config_path, out=out,
                   as_json=as_json)
        return
    if (root_text is None) == (root_file is None):
        raise click.UsageError("give exactly one of --root or --root-file")
    if root_file is not None:
        root, owed, req = _root_from_file(root_file)
    else:
        root, owed, req = _parse_int(root_text or "", "--root"), None, None
    if owed_text is not None:
        owed = _parse_int(owed_text, "--liabilities")
    if req_text is not None:
        req = _parse_int(req_text, "--maintenance-margin")
    proof = InclusionProof.load(path_file)
    node = proof.verify(root, owed, req)  # raises VerificationError (exit code 5) when it does not hold
    result = {"included": True, "account_id": proof.account_id, "index": proof.index, "owed": proof.owed,
              "requirement": proof.requirement, "root": hex(node.hash), "root_liabilities": node.owed,
              "root_maintenance_margin": node.requirement, "totals_checked": owed is not None or req is not None}
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"account {proof.account_id} is included at leaf {proof.index} of root {node.hash:#066x}")
    click.echo(f"  owed to the account (L_a):     {proof.owed} micro-USD")
    click.echo(f"  its requirement (MM_a):        {proof.requirement} micro-USD")
    click.echo(f"  root totals L_i / MM_i:        {node.owed} / {node.requirement} micro-USD"
               + ("" if result["totals_checked"] else " (not checked: no published totals given)"))
