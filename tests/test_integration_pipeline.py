"""End to end on three real Anvil chains (issue 5 "Must show"): a round goes from blocks to verified
feed updates on all three; latestRoundData equals the evaluator's ratio; an account's inclusion
path checks against the on-chain root; `relayer verify` re-checks the round on every feed; no
trigger, no round; a price move past the deviation publishes; a reorg of the snapshot block before
signing redoes the snapshot and never signs the reorged data.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from relayer.config import RelayerConfig, load_config
from relayer.devnet.deploy import contract
from relayer.devnet.keys import DEV_KEYSTORE_PASSWORD
from relayer.devnet.manager import devnet_down, devnet_up
from relayer.devnet.solvency import CIRCUIT_DIR, DEFAULT_CAPACITY
from relayer.keys_setup import CircuitSpec, setup_solvency_keys
from relayer.pipeline.build import build_pipeline
from relayer.pipeline.inspect import inclusion_proof, status, verify_round
from relayer.pipeline.market import load_book, market_data
from relayer.pipeline.round import RoundPipeline, ratio_e8
from relayer.risk.evaluator import evaluate
from relayer.storage import RoundState
from relayer.watch.value import chain_assets
from devnet_helpers import ENV, FAST_RELAY, free_base_port

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="session")
def solvency_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One development setup of the devnet capacity for the whole session (copied into each devnet)."""
    d = tmp_path_factory.mktemp("solvency-keys")
    setup_solvency_keys(d, CircuitSpec(DEFAULT_CAPACITY))
    return d


def start_devnet(tmp: Path, keys_dir: Path) -> dict[str, Any]:
    shutil.copytree(keys_dir, tmp / CIRCUIT_DIR)  # reused by the devnet's solvency step (same capacity)
    return devnet_up(3, tmp, base_port=free_base_port(3), env=ENV)


@pytest.fixture()
def devnet(tmp_path: Path, solvency_keys_dir: Path) -> Iterator[dict[str, Any]]:
    state = start_devnet(tmp_path, solvency_keys_dir)
    try:
        yield state
    finally:
        devnet_down(tmp_path)


def config_of(state: dict[str, Any], **relayer: Any) -> RelayerConfig:
    overrides = {f"relayer.{k}": v for k, v in relayer.items()}
    return load_config(Path(state["config"]), env={}, overrides=overrides)


def make_pipeline(cfg: RelayerConfig, progress: Any = lambda m: None, preflight: bool = True) -> RoundPipeline:
    return build_pipeline(cfg, backend="cpu", prover_workers=0, env=ENV, relay_options=FAST_RELAY, rpc_timeout_s=5,
                          progress=progress, preflight=preflight)


def feed(cfg: RelayerConfig, i: int) -> Any:
    c = cfg.chains[i]
    return contract(Web3(Web3.HTTPProvider(c.rpc[0])), "SolvencyFeed", c.feed)


def accepted_rounds(cfg: RelayerConfig, i: int) -> list[int]:
    return [int(e["args"]["round"]) for e in feed(cfg, i).events.RoundAccepted().get_logs(from_block=0)]


def rpc(url: str, method: str, params: list[Any]) -> Any:
    w3 = Web3(Web3.HTTPProvider(url))
    return w3.provider.make_request(method, params)


def warp(chains: Any, seconds: int) -> None:
    """Move these chains' clocks `seconds` ahead and mine two blocks there (the devnet's snapshots
    read one confirmation deep, so the snapshot block carries the new time)."""
    for c in chains:
        if seconds:
            rpc(c.rpc[0], "evm_increaseTime", [seconds])
        rpc(c.rpc[0], "evm_mine", [])
        rpc(c.rpc[0], "evm_mine", [])


def publishes_a_round_on_every_feed(cfg: RelayerConfig, p: RoundPipeline) -> None:
    done = p.run_once(force=True)
    assert done.status == "done", done
    for i in range(3):
        assert accepted_rounds(cfg, i)[-1] == done.round


def test_round_on_three_chains_matches_evaluator_and_inclusion(devnet: dict[str, Any]) -> None:
    cfg = config_of(devnet)
    p = make_pipeline(cfg)
    try:
        out = p.run_once()
        assert out.status == "done", out
        assert out.submissions == {c.chain_id: "included" for c in cfg.chains}

        # the evaluator's ratio, recomputed here from the stored snapshots and the books
        store = p.store
        sids = store.round_snapshots(out.round)
        total_a = total_l = 0
        for c in cfg.chains:
            snap = store.get_snapshot(sids[c.chain_id])
            total_a += chain_assets(snap)[0]
            cap = p.keys.spec.capacity
            md = market_data(snap, load_book(c), p.keys.spec).padded(cap.instruments, cap.scenarios)
            total_l += evaluate(load_book(c), md).liabilities
        want = ratio_e8(total_a, total_l)
        assert want == out.ratio_e8
        for i, c in enumerate(cfg.chains):
            rid, answer, started, updated, answered = feed(cfg, i).functions.latestRoundData().call()
            assert (rid, answered) == (out.round, out.round)
            assert answer == want and updated > 0
            assert feed(cfg, i).functions.isSolvent(3600).call() is (total_a >= total_l)
            assert accepted_rounds(cfg, i) == [out.round]

        # an account's Merkle-sum path checks against the root the feed holds on chain
        chain = cfg.chains[1]
        account = load_book(chain).accounts[2]
        proof, info = inclusion_proof(cfg, chain, account.id, store=store)
        onchain = feed(cfg, 1).functions.latestAttestation().call()
        root = next(int.from_bytes(bytes(e[8]), "big") for e in onchain[12] if int(e[0]) == chain.chain_id)
        assert int(info["root"], 16) == root
        assert proof.verify(root) is not None
        # the same path with a changed owed amount does not check
        bad = json.loads(json.dumps(proof.to_json()))
        bad["owed"] = str(int(bad["owed"]) + 1)
        from relayer.circuits.merkle_sum import InclusionProof
        from relayer.errors import RelayerError

        with pytest.raises(RelayerError):
            InclusionProof.from_json(bad).verify(root)

        # `relayer verify`: off-chain and on every feed's own verifier
        res = verify_round(cfg, out.round, store=store)
        assert res["offchain"] == "ok"
        assert all(f["verifier_accepts"] and f["accepted"] and f["accepted_count"] == 1 for f in res["feeds"])

        # nothing moved: no trigger, no round, nothing signed or sent
        again = p.run_once()
        assert again.status == "skipped" and again.round is None
        assert store.last_round_number() == out.round

        st = status(cfg, store=store)
        assert [c["feed_round"] for c in st["chains"]] == [out.round] * 3
        assert st["rounds"][-1]["state"] == "done" and "prove" in st["rounds"][-1]["stage_seconds"]
        assert st["problems"] == [] and len(st["operators"]) == len(cfg.relayer.keys)
        # what `round` would refuse to start with is said by status too: a missing keystore, a missing
        # ledger, an RPC serving another chain
        missing = Path(devnet["dir"]) / "keys" / "gone.json"
        broken = cfg.model_copy(update={
            "relayer": cfg.relayer.model_copy(update={"keys": (*cfg.relayer.keys, missing)}),
            "chains": (cfg.chains[0].model_copy(update={"chain_id": 99999, "ledger": Path(devnet["dir"]) / "nope.json"}),
                       *cfg.chains[1:])})
        st = status(broken, store=store)
        assert len(st["operators"]) == len(cfg.relayer.keys)
        assert any(f"relayer.keys[{len(cfg.relayer.keys)}]" in x and "gone.json" in x for x in st["problems"]), st["problems"]
        assert any("nope.json does not exist" in x for x in st["problems"]), st["problems"]
        assert any("serves chain id 31337, the config says 99999" in x for x in st["problems"]), st["problems"]
    finally:
        p.close()


def test_deviation_and_heartbeat_triggers(devnet: dict[str, Any]) -> None:
    cfg = config_of(devnet, deviation_bps=100, heartbeat_s=3600, round_interval_s=1)
    p = make_pipeline(cfg)
    try:
        first = p.run_once()
        assert first.status == "done" and first.ratio_e8
        # WETH -30% on chain 0: A_0 falls (10% haircut asset) and the marks move; ratio moves > 1%
        c0 = cfg.chains[0]
        w3 = Web3(Web3.HTTPProvider(c0.rpc[0]))
        weth = next(a for a in c0.assets if a.symbol == "WETH")
        agg = contract(w3, "PriceAggregator", weth.price_feed)
        old = agg.functions.latestRoundData().call()[1]
        w3.eth.wait_for_transaction_receipt(agg.functions.updateAnswer(old * 7 // 10).transact({"from": w3.eth.accounts[0]}))
        rpc(c0.rpc[0], "evm_mine", [])  # the snapshot reads one block behind the head
        second = p.run_once()
        assert second.status == "done", second
        assert second.ratio_e8 < first.ratio_e8
        assert accepted_rounds(cfg, 0)[-1] == second.round

        # heartbeat: with H = 1 s the next run publishes although nothing moved
        hb = make_pipeline(config_of(devnet, deviation_bps=100, heartbeat_s=1, round_interval_s=1))
        try:
            import time

            time.sleep(1.1)
            assert hb.should_publish(10**6, 10**6, time.time() + 5) is not None
            assert "heartbeat" in hb.should_publish(10**6, 10**6, time.time() + 5)
        finally:
            hb.close()
        # and without the heartbeat due, an unchanged ratio is no trigger
        last = p.last_published()
        assert last is not None
        assert p.should_publish(last.totalAssets, last.totalLiabilities, float(last.timestamp)) is None
        # a flip to insolvent always publishes, whatever the threshold
        assert p.should_publish(last.totalLiabilities - 1, last.totalLiabilities, float(last.timestamp)) is not None
    finally:
        p.close()


def test_reorg_before_signing_redoes_snapshot_and_signs_once(devnet: dict[str, Any]) -> None:
    cfg = config_of(devnet)
    c1 = cfg.chains[1]
    url = c1.rpc[0]
    w3 = Web3(Web3.HTTPProvider(url))
    for _ in range(3):  # empty blocks on top, so the reorg replaces nothing the devnet deployed
        rpc(url, "evm_mine", [])
    fired: list[str] = []

    def reorg_while_proving(msg: str) -> None:
        if "proving" in msg and not fired:
            a, b = w3.eth.accounts[7], w3.eth.accounts[8]
            tx = {"from": a, "to": b, "value": hex(12345), "gas": hex(21000), "nonce": hex(w3.eth.get_transaction_count(a))}
            res = rpc(url, "anvil_reorg", [2, [[tx, 0]]])
            assert "error" not in res, res
            fired.append(msg)

    p = make_pipeline(cfg, progress=reorg_while_proving)
    try:
        out = p.run_once()
        assert fired, "the reorg hook did not run"
        assert out.status == "done", out
        rounds = p.store.rounds()
        failed = [r for r in rounds if r.state == RoundState.FAILED]
        assert len(failed) == 1 and "reorg" in (failed[0].reason or "")
        # the reorged round was never attested nor signed; the published round pins the new block
        from relayer.errors import StorageError

        with pytest.raises(StorageError):
            p.store.get_attestation(failed[0].round)
        assert p.store.signatures(failed[0].round) == []
        old_snap = p.store.get_snapshot(p.store.round_snapshots(failed[0].round)[c1.chain_id])
        new_snap = p.store.get_snapshot(p.store.round_snapshots(out.round)[c1.chain_id])
        assert w3.eth.get_block(old_snap.block_number)["hash"] != old_snap.block_hash
        assert bytes(w3.eth.get_block(new_snap.block_number)["hash"]) == new_snap.block_hash
        for i in range(3):
            assert accepted_rounds(cfg, i) == [out.round]
    finally:
        p.close()


def test_cli_round_status_verify_json(devnet: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from relayer.cli.main import cli

    monkeypatch.setenv("RELAYER_KEYSTORE_PASSWORD", DEV_KEYSTORE_PASSWORD)
    runner = CliRunner()
    conf = devnet["config"]
    res = runner.invoke(cli, ["round", "--once", "--force", "--json", "--workers", "0", "--prover", "cpu", "-c", conf])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["status"] == "done" and out["round"] == 1
    assert set(out["submissions"].values()) == {"included"} and "prove" in out["stage_seconds"]

    res = runner.invoke(cli, ["status", "--json", "-c", conf])
    assert res.exit_code == 0, res.output
    st = json.loads(res.stdout)
    assert [c["feed_round"] for c in st["chains"]] == [1, 1, 1]
    assert all(c["head"] > c["last_proven_block"] for c in st["chains"])
    assert all(len(c["signer_balances_wei"]) == 3 for c in st["chains"])
    assert st["rounds"][0]["state"] == "done"
    res = runner.invoke(cli, ["status", "-c", conf])  # the table for people
    assert res.exit_code == 0 and "feed round" in res.stdout and "devnet-2" in res.stdout

    res = runner.invoke(cli, ["verify", "1", "--json", "-c", conf])
    assert res.exit_code == 0, res.output
    v = json.loads(res.stdout)
    assert v["ok"] and v["offchain"] == "ok" and len(v["feeds"]) == 3

    res = runner.invoke(cli, ["verify", "2", "-c", conf])  # a round that does not exist
    assert res.exit_code != 0

    # the operator hands an account its path; the holder checks it against the on-chain root
    book = load_book(load_config(Path(conf), env={}).chains[0])
    path = Path(devnet["dir"]) / "path.json"
    res = runner.invoke(cli, ["inclusion-path", str(book.accounts[1].id), "--chain", "devnet-0", "--out", str(path),
                              "--json", "-c", conf])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["included"] is True
    res = runner.invoke(cli, ["inclusion", str(path), "--root-file", str(path.with_suffix(".root.json")), "--json"])
    assert res.exit_code == 0, res.output
    held = json.loads(res.stdout)
    assert held["account_id"] == book.accounts[1].id and held["totals_checked"] is True
    # the root file carries the feed's published totals for this chain, the root as 32 bytes of hex
    published = json.loads(path.with_suffix(".root.json").read_text())
    entry = next(e for e in feed(load_config(Path(conf), env={}), 0).functions.latestAttestation().call()[12]
                 if int(e[0]) == 31337)
    assert published["root"] == "0x" + bytes(entry[8]).hex() and len(published["root"]) == 66
    assert (published["liabilities"], published["maintenanceMargin"]) == (int(entry[4]), int(entry[5]))
    assert (held["root_liabilities"], held["root_maintenance_margin"]) == (int(entry[4]), int(entry[5]))
    # a root file whose totals differ from the path's root sums is refused
    from relayer.errors import VerificationError

    bad_root = path.with_suffix(".bad.json")
    bad_root.write_text(json.dumps({**published, "liabilities": published["liabilities"] + 1}))
    res = runner.invoke(cli, ["inclusion", str(path), "--root-file", str(bad_root)])
    assert isinstance(res.exception, VerificationError) and "published total" in str(res.exception), res.output
    # `relayer inclusion ACCOUNT`: the same check in one command against the on-chain root
    res = runner.invoke(cli, ["inclusion", str(book.accounts[2].id), "--chain", "devnet-0", "--json", "-c", conf])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["included"] is True and got["index"] == 2
    res = runner.invoke(cli, ["inclusion", "999999999999", "--chain", "devnet-0", "-c", conf])  # not in the book
    assert res.exit_code != 0
    res = runner.invoke(cli, ["inclusion", str(book.accounts[2].id), "-c", conf])  # ACCOUNT needs --chain
    assert res.exit_code != 0 and "--chain" in res.output


def block_time(url: str, tag: Any = "latest") -> int:
    block = rpc(url, "eth_getBlockByNumber", [tag if isinstance(tag, str) else hex(tag), False])["result"]
    return int(block["timestamp"], 16)


def test_attestation_timestamp_is_the_oldest_snapshot_block_time(devnet: dict[str, Any]) -> None:
    """The attestation carries the data time (the oldest snapshot block's timestamp), not the time it
    was signed: the feeds' age checks and latestRoundData().startedAt then say how old the data is."""
    import time

    cfg = config_of(devnet)
    time.sleep(2)
    # chains 0 and 1 get fresh blocks (the snapshot is one block behind the head); chain 2 stays idle,
    # so its snapshot block is the oldest
    for c in cfg.chains[:2]:
        rpc(c.rpc[0], "evm_mine", [])
        rpc(c.rpc[0], "evm_mine", [])
    p = make_pipeline(cfg)
    try:
        out = p.run_once()
        assert out.status == "done", out
        att, _ = p.store.get_attestation(out.round)  # type: ignore[arg-type]
        sids = p.store.round_snapshots(out.round)  # type: ignore[arg-type]
        snaps = {cid: p.store.get_snapshot(sid) for cid, sid in sids.items()}
        oldest = snaps[cfg.chains[2].chain_id]
        assert att.timestamp == oldest.timestamp == min(s.timestamp for s in snaps.values())
        assert oldest.timestamp == block_time(cfg.chains[2].rpc[0], int(oldest.block_number))
        assert all(snaps[c.chain_id].timestamp > oldest.timestamp for c in cfg.chains[:2])
        assert att.timestamp <= time.time() - 2  # not the signing time
        for i in range(3):
            rid, _, started, updated, _ = feed(cfg, i).functions.latestRoundData().call()
            assert rid == out.round and started == att.timestamp and updated >= att.timestamp + 2
            assert int(feed(cfg, i).functions.latestAttestation().call()[1]) == att.timestamp
    finally:
        p.close()


def test_data_older_than_a_feeds_max_age_is_refused_before_signing(devnet: dict[str, Any]) -> None:
    """Chains 0 and 1 move 3700 s ahead while chain 2 produces no block: a round over chain 2's old
    block would be reverted AttestationTooOld by the feeds on chains 0 and 1 (maxAge 3600). It is
    refused before signing (a round whose clocks moved while it was proven), and before proving (the
    next one), with an error that names the old chain."""
    from relayer.devnet.deploy import FEED_MAX_AGE_S
    from relayer.errors import ChainError

    cfg = config_of(devnet)
    warped: list[str] = []

    def warp_while_proving(msg: str) -> None:
        if "proving" in msg and not warped:
            warp(cfg.chains[:2], FEED_MAX_AGE_S + 100)
            warped.append(msg)

    p = make_pipeline(cfg, progress=warp_while_proving)
    try:
        out = p.run_once(force=True)
        assert warped
        assert out.status == "failed", out
        assert "maxAge" in (out.reason or "") and "AttestationTooOld" in (out.reason or "")
        assert "may have stopped producing blocks" in (out.reason or "")
        assert p.store.get_round(out.round).state == RoundState.FAILED  # type: ignore[arg-type,union-attr]
        assert p.store.signatures(out.round) == []  # type: ignore[arg-type]
        for i in range(3):
            assert accepted_rounds(cfg, i) == []
        # the next attempt: chains 0 and 1 now snapshot blocks 3700 s after chain 2's; refused before proving
        with pytest.raises(ChainError, match=r"devnet-2's snapshot block \d+ .*oldest.* devnet-0's feed accepts data "
                                             rf"at most {FEED_MAX_AGE_S} s old .*devnet-2 may have stopped producing"):
            p.run_once(force=True)
        assert [r.round for r in p.store.rounds()] == [out.round]  # no new round was opened
        # chain 2 produces a block again (at its own, un-warped time): its data is as old as its clock
        # says, still 3700 s behind the others; only once it catches up may a round go out
        warp(cfg.chains[2:], FEED_MAX_AGE_S + 100)
        publishes_a_round_on_every_feed(cfg, p)
    finally:
        p.close()


def test_data_within_the_inclusion_margin_of_max_age_is_refused(devnet: dict[str, Any]) -> None:
    """Chains 0 and 1 move maxAge - 300 s ahead of chain 2: the round's data is still younger than the
    feeds' maxAge, but a transaction mined more than ~300 s later would revert AttestationTooOld. With
    inclusion_margin_s = 600 it is refused before proving; a margin as large as maxAge is refused
    saying so; with no margin the same data is attested and accepted by every feed."""
    from relayer.devnet.deploy import FEED_MAX_AGE_S
    from relayer.errors import ChainError, ConfigError

    cfg = config_of(devnet)
    warp(cfg.chains[2:], 0)  # chain 2's snapshot block is fresh: the data's age comes from the warp alone
    warp(cfg.chains[:2], FEED_MAX_AGE_S - 300)
    # a margin as large as maxAge is refused at start (preflight); the round's own check says it too
    with pytest.raises(ConfigError, match=r"inclusion_margin_s = 3600 s leaves no time under the feed's maxAge"):
        make_pipeline(config_of(devnet, inclusion_margin_s=FEED_MAX_AGE_S))
    for margin, pattern, preflight in (
            (600, r"devnet-0's feed accepts data at most 3600 s old \(maxAge\): only \d+ s would "
                  r"be left .* less than relayer.inclusion_margin_s = 600 s", True),
            (FEED_MAX_AGE_S, r"inclusion_margin_s = 3600 s leaves no time at all under it", False)):
        p = make_pipeline(config_of(devnet, inclusion_margin_s=margin), preflight=preflight)
        try:
            with pytest.raises(ChainError, match=pattern):
                p.run_once(force=True)
            assert p.store.rounds() == []  # refused before a round was opened
        finally:
            p.close()
    p = make_pipeline(config_of(devnet, inclusion_margin_s=0))
    try:
        publishes_a_round_on_every_feed(cfg, p)
    finally:
        p.close()


def test_heartbeat_counts_data_time_so_idle_chains_are_not_republished(devnet: dict[str, Any]) -> None:
    """The heartbeat fires when the data the relayer could attest is heartbeat_s newer than what the
    feeds hold. Chains that produce no block offer nothing newer: the wall clock passing the heartbeat
    republishes nothing (it would put the same data time on every feed again, for gas); new blocks do."""
    import time

    cfg = config_of(devnet, heartbeat_s=5, round_interval_s=1)
    for c in cfg.chains:  # two blocks at once: this round reads the first, the next one the second
        rpc(c.rpc[0], "evm_mine", [])
        rpc(c.rpc[0], "evm_mine", [])
    p = make_pipeline(cfg)
    try:
        first = p.run_once()
        assert first.status == "done", first
        time.sleep(6)  # past the heartbeat by the wall clock, but no chain made a block since
        idle = p.run_once()
        assert idle.status == "skipped", idle
        for c in cfg.chains:
            rpc(c.rpc[0], "evm_mine", [])
            rpc(c.rpc[0], "evm_mine", [])
        beat = p.run_once()
        assert beat.status == "done" and beat.round == (first.round or 0) + 1, beat
        last = p.last_published()
        assert last is not None and last.round == beat.round
        first_att, _ = p.store.get_attestation(first.round)  # type: ignore[arg-type]
        assert last.timestamp - first_att.timestamp >= 5
    finally:
        p.close()


def test_verify_reads_acceptance_logs_in_bounded_ranges_not_from_block_0(devnet: dict[str, Any],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`relayer verify` finds a feed's RoundAccepted event in the block its inclusion was recorded in;
    without that record, from the round's snapshot block in windows of LOG_WINDOW blocks. Hosted RPCs
    refuse eth_getLogs from block 0 over a long chain."""
    from rpc_proxy import RpcProxy

    from relayer.pipeline import inspect

    cfg = config_of(devnet)
    p = make_pipeline(cfg)
    try:
        publishes_a_round_on_every_feed(cfg, p)
        rnd = p.store.last_round_number()
        for _ in range(20):  # blocks after the acceptance: a scan to the head has ground to cover
            rpc(cfg.chains[0].rpc[0], "evm_mine", [])
        ranges: list[tuple[int, int]] = []

        def seen(params: list[Any], result: Any) -> Any:
            ranges.append((int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)))
            return result

        with RpcProxy(cfg.chains[0].rpc[0]) as proxy:
            proxy.rewrite("eth_getLogs", seen)
            via = cfg.model_copy(update={"chains": (cfg.chains[0].model_copy(update={"rpc": (proxy.url,)}),
                                                    *cfg.chains[1:])})
            res = verify_round(via, rnd, store=p.store)
            assert res["offchain"] == "ok" and res["feeds"][0]["accepted"] and res["feeds"][0]["accepted_count"] == 1
            included = {s.chain_id: s.block_number for s in p.store.submissions(rnd)}[cfg.chains[0].chain_id]
            assert ranges == [(included, included)]
            # no inclusion record (another relayer sent it): from the snapshot block, window by window
            ranges.clear()
            monkeypatch.setattr(inspect, "LOG_WINDOW", 8)
            w3 = Web3(Web3.HTTPProvider(proxy.url))
            snap = p.store.get_snapshot(p.store.round_snapshots(rnd)[cfg.chains[0].chain_id]).block_number
            found = inspect._round_accepted_logs(w3, contract(w3, "SolvencyFeed", cfg.chains[0].feed), rnd, None, snap)
            assert [int(e["args"]["round"]) for e in found] == [rnd]
            head = w3.eth.block_number
            assert ranges[0][0] == snap and ranges[-1][1] == head and len(ranges) >= 3
            assert all(b - a < 8 for a, b in ranges) and all(r2[0] == r1[1] + 1 for r1, r2 in zip(ranges, ranges[1:]))
    finally:
        p.close()


def test_gpu_without_a_device_fails_the_start_before_the_feeds_or_the_database(devnet: dict[str, Any]) -> None:
    """`prover = gpu` on a machine without CUDA: BackendUnavailable when the pipeline is built, before
    any feed is read and before the database file is created (nothing to clean up, nothing half-made)."""
    from relayer.errors import BackendUnavailable
    from relayer.zk.backends.gpu import GpuBackend

    try:
        GpuBackend.check_available()
        pytest.skip("this machine has a usable GPU")  # the CI machines have none: there this test runs
    except BackendUnavailable:
        pass
    cfg = config_of(devnet)
    db = Path(cfg.relayer.database_url.removeprefix("sqlite:///"))
    assert not db.exists()
    with pytest.raises(BackendUnavailable):
        build_pipeline(cfg, backend="gpu", prover_workers=2, env=ENV, relay_options=FAST_RELAY, rpc_timeout_s=5)
    with pytest.raises(BackendUnavailable):
        build_pipeline(config_of(devnet, prover="gpu"), env=ENV, relay_options=FAST_RELAY, rpc_timeout_s=5)
    assert not db.exists()
