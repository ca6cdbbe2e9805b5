"""A round that reached some feeds but failed on another is published (on those feeds): the publish
triggers (heartbeat, deviation, solvency flip) measure from it, so the next round waits for one of
them instead of re-proving and republishing to every feed each interval. And the gas metric is not
counted by the pipeline's per-round hand-off (it runs again for every resumed round). Real Store,
no chain."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_utils import keccak

from relayer import metrics
from relayer.attest.eip712 import Attestation, ChainEntry
from relayer.pipeline.round import RoundPipeline
from relayer.storage import RoundState, Store, SubmissionRecord, SubmissionState

T = 1_700_000_000
HEARTBEAT_S = 3600
CHAINS = (31337, 31338)


def attestation(round_no: int, ts: int, assets: int, liabilities: int) -> Attestation:
    entries = [ChainEntry(chainId=cid, blockNumber=7, blockHash=keccak(b"h%d" % cid), assets=assets if i == 0 else 0,
                          liabilities=liabilities if i == 0 else 0, maintenanceMargin=1, badDebt=0, underMargined=0,
                          root=b"\x01" * 32, marketCommitment=b"\x02" * 32, proofDigest=keccak(b"p%d" % cid))
               for i, cid in enumerate(CHAINS)]
    return Attestation.build(round_no, ts, 1, entries, b"bundle")


def signed_round(store: Store, att: Attestation) -> None:
    store.create_round(att.round, {})
    store.advance_round(att.round, RoundState.PROVEN)
    store.save_attestation(att, b"bundle")
    store.advance_round(att.round, RoundState.SIGNED)
    store.advance_round(att.round, RoundState.SUBMITTING)


def settle(store: Store, round_no: int, outcomes: dict[int, SubmissionState]) -> None:
    """Each chain's submission to its terminal state (included goes through retry: no transaction
    rows are needed for what is tested here), then the round as the relay finishes it."""
    for cid, st in outcomes.items():
        store.ensure_submission(round_no, cid)
        if st == SubmissionState.INCLUDED:
            store.transition(round_no, cid, SubmissionState.RETRY, "rpc timeout")
            store.transition(round_no, cid, st, None, block_number=9, gas_used=700_000)
        else:
            store.transition(round_no, cid, st, f"{st.value} on purpose")
    if all(st != SubmissionState.FAILED for st in outcomes.values()):
        store.advance_round(round_no, RoundState.DONE)
    else:
        store.advance_round(round_no, RoundState.FAILED, "submission failed on ...")


def pipeline(store: Store) -> Any:
    """The two trigger methods on a real Store, without chains or keys."""
    fake = SimpleNamespace(store=store, cfg=SimpleNamespace(relayer=SimpleNamespace(heartbeat_s=HEARTBEAT_S,
                                                                                     deviation_bps=50)))
    fake.last_published = lambda: RoundPipeline.last_published(fake)  # type: ignore[arg-type]
    return fake


def should_publish(p: Any, assets: int, liabilities: int, now: float) -> str | None:
    return RoundPipeline.should_publish(p, assets, liabilities, now)  # type: ignore[arg-type]


def test_a_round_included_on_one_feed_and_failed_on_another_is_published(tmp_path: Path) -> None:
    """The audit's case: round 1 ends failed (one feed rejected it) but the other feed took it. The
    next interval, same ratio, a minute of newer data: no trigger (was: "first round", every interval)."""
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    p = pipeline(store)
    signed_round(store, attestation(1, T, 2 * 10**9, 10**9))
    settle(store, 1, {31337: SubmissionState.INCLUDED, 31338: SubmissionState.FAILED})
    assert store.get_round(1).state == RoundState.FAILED  # type: ignore[union-attr]  (its state is kept)

    last = p.last_published()
    assert last is not None and last.round == 1
    assert should_publish(p, 2 * 10**9, 10**9, T + 60) is None
    # the triggers still fire, measured from round 1: heartbeat, deviation, solvency flip
    assert "heartbeat" in (should_publish(p, 2 * 10**9, 10**9, T + HEARTBEAT_S) or "")
    # 50 bps of a 2.0 ratio is 0.01: exactly that is no move, one e8 unit more is
    assert should_publish(p, 2 * 10**9 + 10**7, 10**9, T + 60) is None
    assert "ratio moved" in (should_publish(p, 2 * 10**9 + 10**7 + 10, 10**9, T + 60) or "")
    assert should_publish(p, 10**9 - 1, 10**9, T + 60) == "solvency changed"


def test_triggers_measure_from_the_newest_round_that_reached_any_feed(tmp_path: Path) -> None:
    """Round 1 done (ratio 2.0), round 2 included on one feed and failed on the other (ratio 1.5,
    newer data): the baseline is round 2, not round 1 (from round 1 the ratio would have moved, and
    its heartbeat would be due). Rounds that reached no feed do not count: round 3 failed on one
    feed and skipped on the other, round 4 failed before it was ever signed."""
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    p = pipeline(store)
    signed_round(store, attestation(1, T, 2 * 10**9, 10**9))
    settle(store, 1, {31337: SubmissionState.INCLUDED, 31338: SubmissionState.INCLUDED})
    signed_round(store, attestation(2, T + HEARTBEAT_S, 3 * 10**9, 2 * 10**9))
    settle(store, 2, {31337: SubmissionState.FAILED, 31338: SubmissionState.INCLUDED})
    signed_round(store, attestation(3, T + HEARTBEAT_S + 10, 10**9, 10**9))
    settle(store, 3, {31337: SubmissionState.FAILED, 31338: SubmissionState.SKIPPED})
    store.create_round(4, {})
    store.advance_round(4, RoundState.FAILED, "reorg")

    last = p.last_published()
    assert last is not None and last.round == 2
    now = T + HEARTBEAT_S + 60
    assert should_publish(p, 3 * 10**9, 2 * 10**9, now) is None
    assert "heartbeat" in (should_publish(p, 3 * 10**9, 2 * 10**9, T + 2 * HEARTBEAT_S) or "")
    assert store.rounds_with_submission_state(SubmissionState.INCLUDED) == [1, 2]
    assert store.rounds_with_submission_state(SubmissionState.SKIPPED) == [3]
    assert store.rounds_with_submission_state(SubmissionState.PENDING) == []


def test_a_round_that_failed_on_every_feed_is_not_published(tmp_path: Path) -> None:
    """Nothing reached a feed: the next round is still the first one (published as soon as possible)."""
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    p = pipeline(store)
    signed_round(store, attestation(1, T, 2 * 10**9, 10**9))
    settle(store, 1, {31337: SubmissionState.FAILED, 31338: SubmissionState.FAILED})
    assert p.last_published() is None
    assert should_publish(p, 2 * 10**9, 10**9, T + 60) == "first round"


class _Relay:
    """Answers as the relay does for a round that stays submitting (one feed still pending): the
    included chain's stored record, every time it is asked."""

    def __init__(self, store: Store, round_no: int) -> None:
        self.store, self.round_no = store, round_no

    def relay_round(self, round_no: int) -> dict[int, SubmissionRecord]:
        assert round_no == self.round_no
        return {s.chain_id: s for s in self.store.submissions(round_no)}


def gas_spent(chain: str) -> float:
    return metrics.REGISTRY.get_sample_value("relayer_feed_gas_spent_total", {"chain": chain}) or 0.0


def test_handing_a_resumed_round_to_the_relay_again_does_not_count_its_gas_again(tmp_path: Path) -> None:
    """RoundPipeline._submit runs for the new round and again for every resume of a round still
    submitting; it must not add the included submission's gas each time (was: 700000 -> 1400000 ->
    2100000 for one transaction). The submitter counts each mined transaction once (test_relay)."""
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    att = attestation(1, T, 2 * 10**9, 10**9)
    signed_round(store, att)
    store.ensure_submission(1, 31337)
    store.transition(1, 31337, SubmissionState.RETRY, "rpc timeout")
    store.transition(1, 31337, SubmissionState.INCLUDED, None, block_number=9, gas_used=700_000)
    store.ensure_submission(1, 31338)
    store.transition(1, 31338, SubmissionState.RETRY, "chain down")

    names = {31337: "partial-a", 31338: "partial-b"}
    fake = SimpleNamespace(relay=_Relay(store, 1), store=store, progress=lambda _m: None,
                           cfg=SimpleNamespace(chains=[SimpleNamespace(chain_id=c) for c in CHAINS]),
                           chain_by_id=lambda cid: SimpleNamespace(name=names[cid]))
    before = gas_spent("partial-a")
    for _ in range(3):
        out = RoundPipeline._submit(fake, att, b"bundle", {})  # type: ignore[arg-type]
        assert out.status == "submitting" and out.submissions == {31337: "included", 31338: "retry"}
    assert gas_spent("partial-a") == before
    # the per-feed last round is still reported for the feed that holds the round
    assert metrics.REGISTRY.get_sample_value("relayer_feed_last_round", {"chain": "partial-a"}) == 1
    assert metrics.REGISTRY.get_sample_value("relayer_feed_last_round", {"chain": "partial-b"}) is None


@pytest.mark.parametrize("state", [SubmissionState.FAILED, SubmissionState.SKIPPED])
def test_the_published_ratio_gauge_moves_only_when_a_feed_took_the_round(tmp_path: Path, state: SubmissionState) -> None:
    """relayer_feed_ratio_e8 is the ratio the relayer last published: a round no feed took leaves it."""
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    att = attestation(1, T, 3 * 10**9, 10**9)
    signed_round(store, att)
    settle(store, 1, {31337: state, 31338: state})
    metrics.FEED_RATIO_E8.set(123)
    fake = SimpleNamespace(relay=_Relay(store, 1), store=store, progress=lambda _m: None,
                           cfg=SimpleNamespace(chains=[SimpleNamespace(chain_id=c) for c in CHAINS]),
                           chain_by_id=lambda cid: SimpleNamespace(name=f"gauge-{cid}"))
    out = RoundPipeline._submit(fake, att, b"bundle", {})  # type: ignore[arg-type]
    assert out.status == ("failed" if state == SubmissionState.FAILED else "done")
    assert metrics.REGISTRY.get_sample_value("relayer_feed_ratio_e8") == 123
    store2 = Store(f"sqlite:///{tmp_path / 'r2.db'}")
    signed_round(store2, att)
    settle(store2, 1, {31337: SubmissionState.INCLUDED, 31338: state})
    fake.relay, fake.store = _Relay(store2, 1), store2
    RoundPipeline._submit(fake, att, b"bundle", {})  # type: ignore[arg-type]
    assert metrics.REGISTRY.get_sample_value("relayer_feed_ratio_e8") == 3 * 10**8


# ---------------------------------------------------------------- end to end on the devnet (anvil)

from test_integration_pipeline import (  # noqa: E402  (fixtures and helpers shared with the pipeline tests)
    accepted_rounds,
    config_of,
    devnet,  # noqa: F401
    feed,
    make_pipeline,
    rpc,
    solvency_keys_dir,  # noqa: F401
    warp,
)


@pytest.mark.anvil
def test_daemon_does_not_republish_every_interval_after_a_round_failed_on_one_feed(
        devnet: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    """Round 1 lands on devnet-0 and devnet-1; devnet-2's feed refuses it (its maxAge is cut to 1 s
    after the round was signed: AttestationTooOld at estimation, no transaction). The round ends
    failed, naming devnet-2 and where it was included. The next run, a minute of newer data later and
    the ratio unchanged: skipped (was: a new round proven and sent to every feed, each interval).
    Once the heartbeat is due, a new round goes to all three feeds and devnet-2 catches up. The gas
    counter of a chain grows by exactly its mined submit's gas, once per round."""
    from relayer.devnet.deploy import FEED_MAX_AGE_S

    cfg = config_of(devnet, heartbeat_s=600, round_interval_s=60)
    bad = cfg.chains[2]
    bad_feed = feed(cfg, 2)
    owner = bad_feed.functions.owner().call()
    rpc(bad.rpc[0], "anvil_impersonateAccount", [owner])

    def set_max_age(seconds: int) -> None:
        w3 = bad_feed.w3
        w3.eth.wait_for_transaction_receipt(bad_feed.functions.setMaxAge(seconds).transact({"from": owner}))

    cut: list[str] = []

    def cut_max_age_once_signed(msg: str) -> None:
        if "submitting" in msg and not cut:
            set_max_age(1)
            cut.append(msg)

    gas0 = {c.name: gas_spent(c.name) for c in cfg.chains}
    caplog.set_level(logging.INFO, logger="relayer.pipeline.round")
    warp(cfg.chains, 0)
    p = make_pipeline(cfg, progress=cut_max_age_once_signed)
    try:
        first = p.run_once()
        assert cut and first.status == "failed" and first.round == 1, first
        assert first.submissions == {cfg.chains[0].chain_id: "included", cfg.chains[1].chain_id: "included",
                                     bad.chain_id: "failed"}
        rec = p.store.get_round(1)
        assert rec is not None and rec.state == RoundState.FAILED
        assert f"submission failed on {bad.chain_id}: the feed would revert: AttestationTooOld" in (rec.reason or "")
        assert (rec.reason or "").endswith(f"included on {cfg.chains[0].chain_id}, {cfg.chains[1].chain_id}")
        assert accepted_rounds(cfg, 0) == accepted_rounds(cfg, 1) == [1] and accepted_rounds(cfg, 2) == []
        subs = {s.chain_id: s for s in p.store.submissions(1)}
        for c in cfg.chains[:2]:
            assert gas_spent(c.name) - gas0[c.name] == subs[c.chain_id].gas_used > 0
        assert gas_spent(bad.name) == gas0[bad.name]  # refused at estimation: no transaction, no gas
        # status: the failed round was proven for every chain, so its blocks are the last proven ones
        from relayer.pipeline.inspect import status

        snaps = p.store.round_snapshots(1)
        assert [c["last_proven_block"] for c in status(cfg, store=p.store)["chains"]] == [
            int(p.store.get_snapshot(snaps[c.chain_id]).block_number) for c in cfg.chains]

        set_max_age(FEED_MAX_AGE_S)  # the operator fixes the feed
        warp(cfg.chains, 60)
        again = p.run_once()
        assert again.status == "skipped", again
        assert [r.round for r in p.store.rounds()] == [1]  # nothing new proven or signed

        warp(cfg.chains, 600)
        beat = p.run_once()
        assert beat.status == "done" and beat.round == 2, beat
        assert any(r.getMessage().startswith("round 2: publishing (heartbeat") for r in caplog.records)
        for i in range(3):
            assert accepted_rounds(cfg, i)[-1] == 2
        subs2 = {s.chain_id: s for s in p.store.submissions(2)}
        for c in cfg.chains[:2]:
            assert gas_spent(c.name) - gas0[c.name] == subs[c.chain_id].gas_used + subs2[c.chain_id].gas_used  # type: ignore[operator]
        assert gas_spent(bad.name) - gas0[bad.name] == subs2[bad.chain_id].gas_used
    finally:
        p.close()
