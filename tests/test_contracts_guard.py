"""LendingGuard (the example feed consumer) on Anvil: healthy, stale, incomplete and insolvent
paths, and pause/unpause driven by the feed's callbacks."""

from __future__ import annotations

from typing import Any

import pytest

from contract_helpers import connect, deploy_any, dev_address, events, expect_revert, increase_time, send, snapshot
from test_contracts_feed import MAX_AGE, MAX_DRIFT, SIGNER_IDS, Env, make_att, own_entry, submit

pytestmark = pytest.mark.anvil
GUARD_MAX_AGE = 900


@pytest.fixture(scope="module")
def module_env(anvil):  # type: ignore[no-untyped-def]
    w3 = connect(anvil)
    with snapshot(w3):
        verifier = deploy_any(w3, "AcceptingVerifier")
        owner = w3.eth.accounts[0]
        feed = deploy_any(w3, "SolvencyFeed", [dev_address(i) for i in SIGNER_IDS], 2, verifier.address,
                          MAX_AGE, MAX_DRIFT, owner)
        guard = deploy_any(w3, "LendingGuard", feed.address, GUARD_MAX_AGE, sender=owner)
        send(guard.functions.subscribeToFeed(), {"from": owner})
        yield Env(w3, feed, verifier, owner, w3.eth.accounts[1], w3.eth.chain_id), guard


@pytest.fixture()
def env(module_env):  # type: ignore[no-untyped-def]
    with snapshot(module_env[0].w3):
        yield module_env


def test_guard_refuses_before_any_round(env: Any) -> None:
    e, guard = env
    expect_revert(guard.functions.borrow(1), "FeedIncomplete", {"from": e.submitter})


def test_guard_healthy_path(env: Any) -> None:
    e, guard = env
    submit(e, make_att(e, 1))
    r = send(guard.functions.borrow(10), {"from": e.submitter})
    (ev,) = events(guard, r, "Borrowed")
    assert ev["args"]["round"] == 1 and ev["args"]["ratioE8"] >= 10**8
    assert guard.functions.borrowed(e.submitter).call() == 10
    expect_revert(guard.functions.borrow(0), "ZeroAmount", {"from": e.submitter})


def test_guard_refuses_stale_feed(env: Any) -> None:
    e, guard = env
    submit(e, make_att(e, 1))
    increase_time(e.w3, GUARD_MAX_AGE + 10)
    expect_revert(guard.functions.borrow(1), "FeedStale", {"from": e.submitter})


def test_guard_pauses_on_insolvent_callback_and_resumes(env: Any) -> None:
    e, guard = env
    r = submit(e, make_att(e, 1, entries=[own_entry(e.w3, assets=90, liabilities=100)]))
    assert events(guard, r, "Paused")[0]["args"]["round"] == 1
    assert not events(e.feed, r, "SubscriberFailed")
    assert guard.functions.paused().call() is True
    expect_revert(guard.functions.borrow(1), "GuardPaused", {"from": e.submitter})
    r = submit(e, make_att(e, 2, entries=[own_entry(e.w3, assets=101, liabilities=100)]))
    assert events(guard, r, "Unpaused")[0]["args"]["round"] == 2
    assert guard.functions.paused().call() is False
    send(guard.functions.borrow(1), {"from": e.submitter})


def test_guard_refuses_insolvent_answer_even_without_callback(env: Any) -> None:
    e, guard = env
    send(e.feed.functions.unsubscribe(guard.address), {"from": e.owner})
    submit(e, make_att(e, 1, entries=[own_entry(e.w3, assets=99, liabilities=100)]))
    assert guard.functions.paused().call() is False
    expect_revert(guard.functions.borrow(1), "FeedInsolvent", {"from": e.submitter})


def test_guard_callback_only_from_feed(env: Any) -> None:
    e, guard = env
    expect_revert(guard.functions.onSolvencyUpdate(1, False, 0), "NotFeed", {"from": e.submitter})


@pytest.mark.parametrize(
    ("round_id", "updated_at", "answered_in"),
    [(5, 0, 5), (5, "now", 4)],  # updatedAt == 0; answeredInRound < roundId
)
def test_guard_refuses_incomplete_rounds(env: Any, round_id: int, updated_at: Any, answered_in: int) -> None:
    e, _ = env
    w3 = e.w3
    scripted = deploy_any(w3, "ScriptedFeed")
    guard = deploy_any(w3, "LendingGuard", scripted.address, GUARD_MAX_AGE)
    ts = w3.eth.get_block("latest")["timestamp"]
    upd = ts if updated_at == "now" else updated_at
    send(scripted.functions.set(round_id, 2 * 10**8, ts, upd, answered_in), {"from": e.owner})
    expect_revert(guard.functions.borrow(1), "FeedIncomplete", {"from": e.submitter})
    send(scripted.functions.set(round_id, 2 * 10**8, ts, ts, round_id), {"from": e.owner})
    send(guard.functions.borrow(1), {"from": e.submitter})


def test_guard_owner_only_settings(env: Any) -> None:
    e, guard = env
    expect_revert(guard.functions.setMaxAge(1), "NotOwner", {"from": e.submitter})
    expect_revert(guard.functions.subscribeToFeed(), "NotOwner", {"from": e.submitter})
    send(guard.functions.setMaxAge(60), {"from": e.owner})
    submit(e, make_att(e, 1))
    increase_time(e.w3, 120)
    expect_revert(guard.functions.borrow(1), "FeedStale", {"from": e.submitter})
