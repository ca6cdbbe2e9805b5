"""`relayer inclusion PATH_FILE`: check an account's Merkle-sum path against a published root.

For now the root comes from the command line or a file; the daemon will later read it from the feed.
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
@click.argument("path_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--root", "root_text", help="Published root (decimal or 0x-hex).")
@click.option("--root-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="File holding the root (bare value, or JSON with root/liabilities/maintenanceMargin).")
@click.option("--liabilities", "owed_text", help="Published total liabilities L_i to check the path's root sum against.")
@click.option("--maintenance-margin", "req_text", help="Published total maintenance margin MM_i to check against.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inclusion(path_file: Path, root_text: str | None, root_file: Path | None, owed_text: str | None,
              req_text: str | None, as_json: bool) -> None:
    """Verify that the account in PATH_FILE (a relayer-inclusion/1 JSON path) is in the published root."""
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
