"""`relayer market export|check`: the venue publishes the market data a round's proof committed to
(instrument table, market parameters, oracle inputs, marks, risk arrays); anyone re-derives it from
the chain at the snapshot block and compares it with the marketCommitment the feed holds."""

from __future__ import annotations

import json
from pathlib import Path

import click

from relayer.cli.round import CONFIG_OPTION, load, table


@click.group("market")
def market() -> None:
    """Publish and check the market data (marks, risk arrays) behind a round's marketCommitment."""


@market.command("export")
@click.option("--chain", "chain_name", required=True, help="chain name (from chains.toml)")
@click.option("--round", "round_no", type=click.IntRange(min=1), default=None,
              help="round to export (default: the latest round on the chain's feed)")
@CONFIG_OPTION
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="new file to write (relayer-market/1 JSON); never overwritten")
@click.option("--json", "as_json", is_flag=True, help="machine-readable summary")
def export(chain_name: str, round_no: int | None, config_path: Path, out: Path, as_json: bool) -> None:
    """Write the public market data of CHAIN in a round: the instrument table (no accounts, no
    positions), market parameters, scenario grid, oracle inputs, marks, risk arrays, commitment."""
    from relayer.cli.outputs import check_new_file, write_new_file
    from relayer.pipeline.market_export import export_market

    cfg = load(config_path)
    check_new_file(out, "--out", {"-c": config_path})
    mf = export_market(cfg, chain_name, round_no)
    text = json.dumps(mf.to_json(), indent=1) + "\n"
    write_new_file(out, lambda p: p.write_text(text), "--out")
    summary = {"chain": mf.chain_name, "chain_id": mf.chain_id, "round": mf.round, "block_number": mf.block_number,
               "instruments": len(mf.instruments), "marketCommitment": f"0x{mf.commitment:064x}", "out": str(out)}
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    click.echo(f"{mf.chain_name} round {mf.round} (block {mf.block_number}): {len(mf.instruments)} instruments, "
               f"marketCommitment 0x{mf.commitment:064x}")
    click.echo(f"written to {out}; anyone checks it with: relayer market check {out} --rpc URL")


@market.command("check")
@click.argument("market_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rpc", "rpc_url", default=None, help="JSON-RPC URL of the file's chain (archive state at its block)")
@click.option("--feed", "feed", default=None,
              help="SolvencyFeed address to compare with (default: the configured one, else the file's)")
@click.option("--feed-rpc", "feed_rpc", default=None,
              help="JSON-RPC URL of the chain the feed is on, when not the file's chain (every feed holds every chain's entry)")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="chains.toml: take --rpc and --feed of --chain from it, and require the file's contracts and "
                   "market parameters to be its (and its key folder's circuit.json)")
@click.option("--chain", "chain_name", default=None, help="with -c: the chain (name in chains.toml)")
@click.option("--attestation", "att_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="the round's attestation (Attestation JSON) when the file's round is not the feed's latest "
                   "and the file carries none")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def check(market_file: Path, rpc_url: str | None, feed: str | None, feed_rpc: str | None, config_path: Path | None,
          chain_name: str | None, att_path: Path | None, as_json: bool) -> None:
    """Re-derive MARKET_FILE's marks, risk arrays and commitment from the oracle prices on chain at its
    snapshot block, and compare them with the file and with the marketCommitment on the feed.
    Exit 0 when everything matches; a VerificationError (exit 5) names the first mismatch."""
    from relayer.attest.eip712 import Attestation
    from relayer.errors import FormatError
    from relayer.pipeline.market_export import MarketFile, check_market

    mf = MarketFile.load(market_file)
    chain = spec = None
    if config_path is not None:
        from relayer.keys_setup import CIRCUIT_FILE, load_solvency_keys

        cfg = load(config_path)
        chain = cfg.chain(chain_name or mf.chain_name)
        rpc_url = rpc_url or chain.rpc[0]
        circuit_json = Path(cfg.relayer.circuit_dir) / CIRCUIT_FILE
        spec = (load_solvency_keys(cfg.relayer.circuit_dir).spec, f"the key folder's {circuit_json}")
    elif chain_name is not None:
        raise click.UsageError("--chain needs -c chains.toml")
    if rpc_url is None:
        raise click.UsageError("give --rpc URL of the file's chain (or -c chains.toml [--chain NAME])")
    att = None
    if att_path is not None:
        try:
            att = Attestation.from_json(json.loads(att_path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise FormatError(f"--attestation {att_path}: not an attestation JSON ({exc})") from None
    res = check_market(mf, rpc_url, feed=feed, feed_rpc_url=feed_rpc, chain=chain, spec=spec, attestation=att)
    if as_json:
        click.echo(json.dumps(res, indent=1))
        return
    click.echo(f"{res['chain']} round {res['round']}: market data OK")
    click.echo(table([
        ["snapshot block", f"{res['block_number']} {res['block_hash']} (hash from the chain)"],
        ["oracle prices", ", ".join(f"{s} {p['answer']} (10^-{p['decimals']})" for s, p in res["prices"].items())
         + " (storage-proven at the block)"],
        ["marks, risk arrays", f"recomputed for {res['instruments']} instruments: equal to the file's"],
        ["marketCommitment", f"{res['marketCommitment']}: equal to the feed's ({res['feed_source']})"],
        ["feed", f"{res['feed']} (latest round {res['feed_round']})"],
    ], ["check", "result"]))
