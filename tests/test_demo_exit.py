"""`./scripts/demo` exits 1 when a round fails or does not reach every feed: the decision
(relayer.pipeline.demo.unfinished_rounds / demo_exit_status) over RoundOutcome values as the round
pipeline returns them, and run_demo's exit path with the devnet and daemon replaced."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from relayer.pipeline import demo
from relayer.pipeline.demo import demo_exit_status, unfinished_rounds
from relayer.pipeline.round import RoundOutcome

CHAINS = (31337, 31338, 31339)


def done(round_no: int, states: dict[int, str] | None = None) -> RoundOutcome:
    """A round every feed answered, as RoundPipeline._submit returns it."""
    subs = states if states is not None else {c: "included" for c in CHAINS}
    return RoundOutcome("done", round_no, None, 150_000_000, True, submissions=subs)


NO_TRIGGER = RoundOutcome("skipped", None, "no trigger: ratio within the deviation and heartbeat not due")


def test_every_round_on_every_feed_exits_0() -> None:
    outcomes = [done(1), NO_TRIGGER, done(2), done(3, {31337: "included", 31338: "skipped", 31339: "included"})]
    assert unfinished_rounds(outcomes, 4, CHAINS) == []
    assert demo_exit_status(outcomes, 4, CHAINS) == 0


def test_a_failed_round_exits_1_and_says_which() -> None:
    failed = RoundOutcome("failed", 3, "submission failed on 31338: reverted: StaleAttestation", 40_000_000, False,
                          submissions={31337: "included", 31338: "failed", 31339: "included"})
    outcomes = [done(1), NO_TRIGGER, done(2), failed, done(4)]
    assert demo_exit_status(outcomes, 5, CHAINS) == 1
    assert unfinished_rounds(outcomes, 5, CHAINS) == [
        "step 4: round 3 failed (submission failed on 31338: reverted: StaleAttestation)"]


def test_a_round_failing_before_it_has_a_number_exits_1() -> None:
    # the pipeline gave up before numbering the round (e.g. every RPC down at snapshot time)
    o = RoundOutcome("failed", None, "chain devnet-1: every endpoint failed")
    assert unfinished_rounds([done(1), o], 2, CHAINS) == ["step 2: round - failed (chain devnet-1: every endpoint failed)"]
    assert demo_exit_status([done(1), o], 2, CHAINS) == 1


def test_a_round_still_submitting_exits_1() -> None:
    pending = RoundOutcome("submitting", 2, "not on every feed yet (devnet-2: retry); retried next run", 150_000_000,
                           True, submissions={31337: "included", 31338: "included", 31339: "retry"})
    assert demo_exit_status([done(1), pending], 2, CHAINS) == 1
    assert unfinished_rounds([done(1), pending], 2, CHAINS) == [
        "step 2: round 2 submitting (not on every feed yet (devnet-2: retry); retried next run)"]


def test_done_without_every_feed_exits_1() -> None:
    # a round the relay finished for two feeds while the config has three, or with a feed not answered
    short = done(2, {31337: "included", 31338: "included"})
    odd = done(3, {31337: "included", 31338: "sent", 31339: "included"})
    assert unfinished_rounds([done(1), short, odd], 3, CHAINS) == [
        "step 2: round 2 done but not on every feed (chain 31339: no submission)",
        "step 3: round 3 done but not on every feed (chain 31338: sent)"]
    assert demo_exit_status([short], 1, CHAINS) == 1


def test_steps_that_never_ran_exit_1() -> None:
    assert unfinished_rounds([done(1), done(2)], 6, CHAINS) == ["only 2 of 6 steps ran a round"]
    assert demo_exit_status([done(1), done(2)], 6, CHAINS) == 1
    assert demo_exit_status([], 1, CHAINS) == 1


# ------------------------------------------------------------------ run_demo's exit path


def _fake_demo(monkeypatch: pytest.MonkeyPatch, outcomes: list[RoundOutcome]) -> list[str]:
    """run_demo with the devnet, config, pipeline and daemon replaced: the daemon hands `outcomes` to
    the demo's callback, one per run. Returns the list the demo's output goes to."""
    applied: list[str] = []
    cfg = SimpleNamespace(chains=[SimpleNamespace(chain_id=c) for c in CHAINS],
                          relayer=SimpleNamespace(quorum=2, keys=["k1", "k2", "k3"], circuit_dir="keys"))
    steps = [demo.Step(f"step {i}", lambda c, i=i: applied.append(f"step {i}")) for i in range(len(outcomes))]

    class FakeDaemon:
        def __init__(self, pipeline: Any, max_runs: int, on_outcome: Any) -> None:
            assert max_runs == len(steps)
            self.on_outcome = on_outcome

        def run(self) -> None:
            for o in outcomes:
                self.on_outcome(o)

    monkeypatch.setattr(demo, "devnet_up", lambda *a, **k: {"config": "chains.toml"})
    monkeypatch.setattr(demo, "devnet_down", lambda d: applied.append("down"))
    monkeypatch.setattr(demo, "load_config", lambda *a, **k: cfg)
    monkeypatch.setattr(demo, "script", lambda c: steps)
    monkeypatch.setattr(demo, "feeds_table", lambda c: "feeds")
    monkeypatch.setattr(demo, "per_chain_table", lambda c: "chains")
    monkeypatch.setattr(demo, "guards", lambda c: "open")
    monkeypatch.setattr("relayer.daemon.Daemon", FakeDaemon)
    monkeypatch.setattr("relayer.pipeline.build.build_pipeline", lambda *a, **k: object())
    return applied


def test_run_demo_exits_1_on_a_failed_round(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    failed = RoundOutcome("failed", 2, "submission failed on 31339: nonce too low", submissions={31339: "failed"})
    applied = _fake_demo(monkeypatch, [done(1), failed, done(3)])
    lines: list[str] = []
    assert demo.run_demo(tmp_path, 18545, out=lines.append) == 1
    text = "\n".join(lines)
    assert "demo FAILED: not every round reached every feed" in text
    assert "step 2: round 2 failed (submission failed on 31339: nonce too low)" in text
    assert applied == ["step 1", "step 2", "down"]  # every step ran, the chains were stopped


def test_run_demo_exits_0_when_every_round_reached_every_feed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_demo(monkeypatch, [done(1), NO_TRIGGER, done(2)])
    lines: list[str] = []
    assert demo.run_demo(tmp_path, 18545, out=lines.append) == 0
    assert not any("FAILED" in line for line in lines)
