"""`relayer market export|check` on three real Anvil chains after real rounds: the exported file
re-derives from the chain and matches the feed's marketCommitment; it carries no account data; a
changed strike, vol, spot, price answer, risk entry, timestamp or block hash is refused naming it; a
self-consistent forgery and old market data presented as a newer round are refused by the feed's
commitment; an older round is checked through its attestation's RoundAccepted digest. The file
format's own checks run offline (no chain) at the end."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from eth_utils import to_checksum_address
from web3 import Web3

from relayer.circuits.solvency import Capacity
from relayer.cli.main import cli
from relayer.config import RelayerConfig
from relayer.devnet.deploy import contract
from relayer.devnet.manager import devnet_down
from relayer.errors import ChainError, FormatError, VerificationError
from relayer.keys_setup import CircuitSpec, UnderlyingSpec
from relayer.pipeline.market import load_book, market_inputs
from relayer.pipeline.market_export import MarketFile, OracleInput, recompute
from relayer.risk.market import compact_grid, compute_market_data
from relayer.risk.synthetic import default_instruments
from relayer.storage import Store
from relayer.types import AssetHolding, BlockNumber, ChainId, ChainSnapshot, PriceReading
from tests.test_integration_pipeline import (  # noqa: F401  (solvency_keys_dir is a fixture)
    config_of, make_pipeline, rpc, solvency_keys_dir, start_devnet)

anvil = pytest.mark.anvil


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory, solvency_keys_dir: Path) -> Iterator[dict[str, Any]]:  # noqa: F811
    """One devnet with one real round published on all three feeds, and chain 0's exported file."""
    tmp = tmp_path_factory.mktemp("market")
    state = start_devnet(tmp, solvency_keys_dir)
    try:
        cfg = config_of(state)
        p = make_pipeline(cfg)
        try:
            out = p.run_once(force=True)
        finally:
            p.close()
        assert out.status == "done", out
        file = tmp / "market-devnet-0.json"
        res = invoke(["market", "export", "--chain", cfg.chains[0].name, "-c", state["config"], "--out", str(file),
                      "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["round"] == out.round
        yield {"state": state, "cfg": cfg, "round": out.round, "file": file, "dir": tmp}
    finally:
        devnet_down(tmp)


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args)


def write(net: dict[str, Any], name: str, obj: dict[str, Any]) -> Path:
    path = net["dir"] / name
    path.write_text(json.dumps(obj))
    return path


def check(net: dict[str, Any], path: Path, *extra: str, chain: int = 0) -> Result:
    cfg: RelayerConfig = net["cfg"]
    return invoke(["market", "check", str(path), "--rpc", cfg.chains[chain].rpc[0], *extra])


def refused(res: Result, *words: str) -> str:
    assert isinstance(res.exception, VerificationError), (res.exception, res.output)
    msg = str(res.exception)
    for w in words:
        assert w in msg, msg
    return msg


def option_index(obj: dict[str, Any]) -> int:
    return next(k for k, i in enumerate(obj["instruments"]) if i["kind"] in ("call", "put"))


@anvil
def test_export_then_check_passes(net: dict[str, Any]) -> None:
    cfg: RelayerConfig = net["cfg"]
    res = check(net, net["file"], "--json")
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["ok"] and got["round"] == net["round"] and got["feed_source"] == "latestAttestation()"
    entry = next(e for e in contract(Web3(Web3.HTTPProvider(cfg.chains[0].rpc[0])), "SolvencyFeed", cfg.chains[0].feed)
                 .functions.latestAttestation().call()[12] if int(e[0]) == cfg.chains[0].chain_id)
    assert got["marketCommitment"] == "0x" + bytes(entry[9]).hex()
    # the people's table, and the operator's form with the config (same contracts required)
    res = invoke(["market", "check", str(net["file"]), "-c", net["state"]["config"], "--chain", cfg.chains[0].name])
    assert res.exit_code == 0, res.output
    assert "market data OK" in res.stdout and "storage-proven" in res.stdout
    # every feed holds every chain's entry: chain 0's file checks against chain 2's feed too
    res = check(net, net["file"], "--feed", cfg.chains[2].feed, "--feed-rpc", cfg.chains[2].rpc[0], "--json")
    assert res.exit_code == 0, res.output
    # the file round-trips exactly, and the padded marks are what the book's market data pads to
    mf = MarketFile.load(net["file"])
    assert mf.to_json() == json.loads(net["file"].read_text())
    assert len(mf.marks) == mf.capacity.instruments and len(mf.instruments) == len(load_book(cfg.chains[0]).instruments)


@anvil
def test_file_holds_no_account_data(net: dict[str, Any]) -> None:
    cfg: RelayerConfig = net["cfg"]
    obj = json.loads(net["file"].read_text())
    values: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            values.update(str(k) for k in x)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        else:
            values.add(str(x))

    walk({k: v for k, v in obj.items() if k != "capacity"})  # the circuit's public capacity names "accounts"
    # the top level is the documented one; "accounts" occurs only as the circuit's public capacity
    assert set(obj) == {"format", "chain", "round", "snapshot", "capacity", "instruments", "underlyings", "scenarios",
                        "assets", "marks", "risk", "marketCommitment", "attestation"}
    assert not {"accounts", "positions", "cash", "salt", "quantity", "qty"} & values
    book = load_book(cfg.chains[0])
    assert book.accounts
    for a in book.accounts:
        assert str(a.id) not in values and str(a.salt) not in values and str(a.cash) not in values
        for q in a.positions.values():
            if abs(q) >= 100:  # small numbers (1, 2, ...) occur as decimals, lot sizes and bps by themselves
                assert str(q) not in values and str(-q) not in values, q
    text = net["file"].read_text()
    assert all(str(a.id) not in text for a in book.accounts if a.id >= 1000)


@anvil
@pytest.mark.parametrize("what", ["strike", "vol", "answer", "block_hash", "commitment", "timestamp", "spot", "risk"])
def test_a_changed_input_is_refused_naming_it(net: dict[str, Any], what: str) -> None:
    obj = json.loads(net["file"].read_text())
    if what == "strike":
        k = option_index(obj)
        obj["instruments"][k]["strike"] = str(int(obj["instruments"][k]["strike"]) + 100 * 10**6)
        words = ["mark of instrument", f"strike {obj['instruments'][k]['strike']}"]
    elif what == "vol":
        und = obj["instruments"][option_index(obj)]["underlying"]
        obj["underlyings"][und]["vol_bps"] = str(int(obj["underlyings"][und]["vol_bps"]) + 500)
        words = ["mark of instrument", f"vol_bps {obj['underlyings'][und]['vol_bps']}"]
    elif what == "answer":
        # the price of the asset the options' underlying is marked from
        sym = obj["underlyings"][obj["instruments"][option_index(obj)]["underlying"]]["asset"]
        a = next(x for x in obj["assets"] if x["symbol"] == sym)
        a["answer"] = str(int(a["answer"]) * 11 // 10)
        words = [f"price answer of {sym}", "aggregator", "block"]
    elif what == "timestamp":
        obj["snapshot"]["timestamp"] = str(int(obj["snapshot"]["timestamp"]) + 60)
        words = ["snapshot.timestamp", "block header"]
    elif what == "spot":
        und = obj["instruments"][option_index(obj)]["underlying"]
        obj["underlyings"][und]["spot"] = str(int(obj["underlyings"][und]["spot"]) + 1)
        words = [f"underlyings.{und}.spot", "floor(answer"]
    elif what == "risk":
        k = option_index(obj)
        obj["risk"][k][1] = str(int(obj["risk"][k][1]) - 1)
        words = [f"risk[{k}][1]", f"scenario {obj['scenarios'][1]['name']}", "strike"]
    elif what == "commitment":  # marks and risk intact, the commitment field edited
        obj["marketCommitment"] = f"0x{int(obj['marketCommitment'], 16) ^ 1:064x}"
        words = ["marketCommitment", "recomputed marks and risk arrays"]
    else:
        h = obj["snapshot"]["block_hash"]
        obj["snapshot"]["block_hash"] = h[:-1] + ("0" if h[-1] != "0" else "1")
        words = ["snapshot.block_hash", "the chain says"]
    res = check(net, write(net, f"bad-{what}.json", obj))
    refused(res, *words)


def forged(mf: MarketFile, snapshot: ChainSnapshot, **underlying: int) -> dict[str, Any]:
    """A self-consistent file with other market parameters: marks, risk and commitment recomputed."""
    obj = mf.to_json()
    und = mf.instruments[0].underlying
    obj["underlyings"][und].update({k: str(v) for k, v in underlying.items()})
    bad = MarketFile.from_json(obj, "forged")
    md = recompute(bad, snapshot)
    obj["marks"] = [str(m) for m in md.marks]
    obj["risk"] = [[str(r) for r in row] for row in md.risk]
    obj["marketCommitment"] = f"0x{md.commitment():064x}"
    return obj


def snapshot_of(net: dict[str, Any], mf: MarketFile) -> ChainSnapshot:
    store = Store(net["cfg"].relayer.database_url)
    try:
        return store.get_snapshot(store.round_snapshots(mf.round)[mf.chain_id])
    finally:
        store.close()


@anvil
def test_a_consistent_forgery_is_refused_by_the_feed_commitment(net: dict[str, Any]) -> None:
    mf = MarketFile.load(net["file"])
    snap = snapshot_of(net, mf)
    und = mf.instruments[0].underlying
    obj = forged(mf, snap, vol_bps=mf.underlyings[und].vol_bps + 1000)
    assert obj["marketCommitment"] != f"0x{mf.commitment:064x}"
    res = check(net, write(net, "forged.json", obj))
    refused(res, "marketCommitment", "the feed", "not the market data that round proved")
    # with the operator's config, the key folder's circuit.json names the parameter before the feed is asked
    res = invoke(["market", "check", str(net["dir"] / "forged.json"), "-c", net["state"]["config"]])
    refused(res, f"underlyings.{und}.vol_bps", "circuit.json")
    # the installed command maps the refusal to VerificationError's exit code, message on stderr
    cfg: RelayerConfig = net["cfg"]
    proc = subprocess.run([str(Path(sys.executable).parent / "relayer"), "market", "check", str(net["dir"] / "forged.json"),
                           "--rpc", cfg.chains[0].rpc[0]], capture_output=True, text=True, timeout=120)
    assert proc.returncode == VerificationError.exit_code == 5, proc.stderr
    assert "error: marketCommitment" in proc.stderr
    # the scenario grid is the circuit's documented one: another grid is refused before any recomputation
    obj = mf.to_json()
    obj["scenarios"] = list(reversed(obj["scenarios"]))
    refused(check(net, write(net, "grid.json", obj)), "scenarios", "compact_grid")


@anvil
def test_malformed_file_and_wrong_rpc_and_config_mismatch(net: dict[str, Any]) -> None:
    cfg: RelayerConfig = net["cfg"]
    obj = json.loads(net["file"].read_text())
    obj["marks"][0] = int(obj["marks"][0])  # a JSON number: refused, integers are decimal strings
    res = check(net, write(net, "number.json", obj))
    assert isinstance(res.exception, FormatError) and "marks[0]" in str(res.exception), res.output
    res = check(net, write(net, "notmarket.json", {"format": "other"}))
    assert isinstance(res.exception, FormatError) and "relayer-market/1" in str(res.exception)
    # the RPC of another chain: refused before anything is compared
    res = check(net, net["file"], chain=1)
    assert isinstance(res.exception, ChainError) and "serves chain" in str(res.exception), res.output
    # with -c, the file's contracts must be the configured ones
    obj = json.loads(net["file"].read_text())
    obj["assets"][0]["price_feed"] = cfg.chains[0].vault
    res = invoke(["market", "check", str(write(net, "feedaddr.json", obj)), "-c", net["state"]["config"]])
    refused(res, f"asset {obj['assets'][0]['symbol']}", "price_feed")
    # export never overwrites
    res = invoke(["market", "export", "--chain", cfg.chains[0].name, "-c", net["state"]["config"], "--out",
                  str(net["file"])])
    assert res.exit_code != 0 and "already exists" in str(res.exception)


@anvil
def test_export_refuses_a_ledger_whose_instruments_changed(net: dict[str, Any]) -> None:
    cfg: RelayerConfig = net["cfg"]
    ledger = Path(cfg.chains[1].ledger)  # type: ignore[arg-type]
    saved = ledger.read_text()
    try:
        obj = json.loads(saved)
        ins = next(i for i in obj["instruments"] if i["kind"] in ("call", "put"))
        ins["strike"] = ins["strike"] + 50 * 10**6 if isinstance(ins["strike"], int) else str(int(ins["strike"]) + 50 * 10**6)
        ledger.write_text(json.dumps(obj))
        res = invoke(["market", "export", "--chain", cfg.chains[1].name, "-c", net["state"]["config"], "--out",
                      str(net["dir"] / "changed.json")])
        refused(res, "instruments changed since that round")
        assert not (net["dir"] / "changed.json").exists()
    finally:
        ledger.write_text(saved)


@anvil
def test_an_older_round_checks_through_its_attestation_and_replay_is_refused(net: dict[str, Any]) -> None:
    """Runs last (it publishes round 2): the round-1 file is checked through the attestation it
    carries (its digest must be a RoundAccepted of the feed); the round-1 data presented as round 2
    meets a feed commitment that differs."""
    cfg: RelayerConfig = net["cfg"]
    c0 = cfg.chains[0]
    w3 = Web3(Web3.HTTPProvider(c0.rpc[0]))
    weth = next(a for a in c0.assets if a.symbol == "WETH")
    agg = contract(w3, "PriceAggregator", weth.price_feed)
    old = agg.functions.latestRoundData().call()[1]
    w3.eth.wait_for_transaction_receipt(agg.functions.updateAnswer(old * 8 // 10).transact({"from": w3.eth.accounts[0]}))
    rpc(c0.rpc[0], "evm_mine", [])
    p = make_pipeline(cfg)
    try:
        second = p.run_once(force=True)
    finally:
        p.close()
    assert second.status == "done" and second.round == net["round"] + 1, second

    res = check(net, net["file"], "--json")
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["feed_round"] == second.round and "RoundAccepted" in got["feed_source"]

    one = json.loads(net["file"].read_text())
    # without an attestation, only the database or an archive has round 1's commitment
    refused(check(net, write(net, "noatt.json", {**one, "attestation": None})), "latest round is 2",
            "--attestation")
    # ... and with it given separately, it checks
    att_file = write(net, "att1.json", one["attestation"])
    res = check(net, write(net, "noatt2.json", {**one, "attestation": None}), "--attestation", str(att_file))
    assert res.exit_code == 0, res.output
    # an attestation edited to carry a forged commitment is not the one the feed accepted
    mf = MarketFile.load(net["file"])
    fake = forged(mf, snapshot_of(net, mf), vol_bps=mf.underlyings[mf.instruments[0].underlying].vol_bps + 700)
    entries = fake["attestation"]["chains"]
    for e in entries:
        if int(e["chainId"]) == mf.chain_id:
            e["marketCommitment"] = fake["marketCommitment"]
    refused(check(net, write(net, "fakeatt.json", fake)), "no RoundAccepted event", "digest")
    # round 1's market data presented as round 2: the feed's round-2 commitment differs
    refused(check(net, write(net, "replay.json", {**one, "round": str(second.round), "attestation": None})),
            "marketCommitment", f"round {second.round}")

    # the export of round 2 (the default: the feed's latest) and of round 1 by name both check
    for args, rnd in (([], second.round), (["--round", str(net["round"])], net["round"])):
        out = net["dir"] / f"export-{rnd}.json"
        res = invoke(["market", "export", "--chain", c0.name, "-c", net["state"]["config"], "--out", str(out), *args])
        assert res.exit_code == 0, res.output
        assert MarketFile.load(out).round == rnd
        assert check(net, out).exit_code == 0
    assert MarketFile.load(net["dir"] / "export-2.json").commitment != MarketFile.load(net["file"]).commitment



# ------------------------------------------------------------------ offline: the file format itself

def synthetic() -> tuple[MarketFile, ChainSnapshot]:
    """A market file built by the library's own rules from a synthetic snapshot (no chain)."""
    cap = Capacity(accounts=8, instruments=6, scenarios=4)
    spec = CircuitSpec(cap, {"ETH": UnderlyingSpec("WETH", 6500, 1500, 1000)})
    price = PriceReading(feed="0x" + "22" * 20, answer=3000 * 10**8 + 12_345, decimals=8, round_id=3, started_at=T0 - 5,
                         updated_at=T0 - 5, answered_in_round=3)
    holding = AssetHolding(symbol="WETH", token="0x" + "11" * 20, token_decimals=18, haircut_bps=1000, amount=10**18,
                           price=price)
    snap = ChainSnapshot(chain_id=ChainId(31337), chain_name="c0", block_number=BlockNumber(40), block_hash=b"\x07" * 32,
                         state_root=b"\x08" * 32, timestamp=T0, vault="0x" + "33" * 20, holdings=(holding,))
    instruments = default_instruments(valuation_time=T0)
    md = compute_market_data(instruments, market_inputs(snap, spec), compact_grid(4)).padded(6, 4)
    mf = MarketFile(chain_id=31337, chain_name="c0", vault=to_checksum_address("0x" + "33" * 20),
                    feed=to_checksum_address("0x" + "44" * 20), round=7, block_number=40, block_hash=b"\x07" * 32,
                    state_root=b"\x08" * 32, timestamp=T0, capacity=cap, instruments=instruments,
                    underlyings=dict(spec.underlyings), spots={"ETH": 3000 * 10**6 + 123}, scenarios=compact_grid(4),
                    assets=(OracleInput.of(holding),), marks=md.marks, risk=md.risk, commitment=md.commitment(),
                    attestation=None)
    return mf, snap


T0 = 1_767_225_600


def test_file_round_trips_and_recomputes_offline() -> None:
    mf, snap = synthetic()
    obj = mf.to_json()
    assert [i["kind"] for i in obj["instruments"]] == ["perp", "call", "call", "put", "pad", "pad"]
    assert all(isinstance(v, str) for v in obj["marks"]) and obj["underlyings"]["ETH"]["spot"] == "3000000123"
    back = MarketFile.from_json(json.loads(json.dumps(obj)), "t")
    assert back == mf
    md = recompute(back, snap)
    assert md.marks == mf.marks and md.risk == mf.risk and md.commitment() == mf.commitment
    assert md.marks[4:] == (0, 0) and md.risk[5] == (0, 0, 0, 0)  # padded as the circuit pads


@pytest.mark.parametrize("edit, words", [
    (lambda o: o["instruments"].pop(), "rows, the capacity is 6"),
    (lambda o: o["instruments"].__setitem__(0, {"kind": "pad"}), "a real instrument after a pad row"),
    (lambda o: o["instruments"][5].update(id="x"), "a pad row has only kind"),
    (lambda o: o["instruments"][1].update(kind="future"), "kind 'future' must be one of"),
    (lambda o: o["instruments"][1].update(strike="0"), "strike 0 must be in"),
    (lambda o: o["instruments"][1].update(strike="3e9"), "instruments[1].strike"),
    (lambda o: o["marks"].pop(), "capacity"),
    (lambda o: o["risk"][0].append("0"), "capacity"),
    (lambda o: o["scenarios"][0].update(cover="1/0"), "denominator must be positive"),
    (lambda o: o["snapshot"].update(block_hash="0x12"), "snapshot.block_hash"),
    (lambda o: o["chain"].update(feed="nope"), "chain.feed"),
    (lambda o: o["capacity"].update(accounts="6"), "power of two"),
    (lambda o: o.pop("assets"), "assets"),
    (lambda o: o.update(attestation={"round": "x"}), "malformed"),
])
def test_malformed_files_are_refused(edit: Any, words: str) -> None:
    obj = synthetic()[0].to_json()
    edit(obj)
    with pytest.raises(FormatError) as err:
        MarketFile.from_json(obj, "m.json")
    assert words in str(err.value) and "m.json" in str(err.value), err.value


def test_recompute_refuses_another_grid_and_spot_offline() -> None:
    mf, snap = synthetic()
    obj = mf.to_json()
    obj["scenarios"][0]["price_move"] = "2/3"
    with pytest.raises(VerificationError, match="compact_grid"):
        recompute(MarketFile.from_json(obj, "t"), snap)
    obj = mf.to_json()
    obj["underlyings"]["ETH"]["spot"] = "3000000000"
    with pytest.raises(VerificationError, match=r"underlyings\.ETH\.spot: the file says 3000000000"):
        recompute(MarketFile.from_json(obj, "t"), snap)
