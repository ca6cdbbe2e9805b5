"""SolvencyFeed on Anvil: every acceptance rule with the input it must reject, the happy path,
views, the Chainlink interface, subscribers, signer rotation and the fail-closed verifier."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_utils import keccak
from web3 import Web3

from contract_helpers import (
    connect,
    deploy_any,
    dev_address,
    dev_key,
    events,
    expect_revert,
    increase_time,
    send,
    snapshot,
)
from relayer.attest.eip712 import (
    SECP256K1_N,
    Attestation,
    ChainEntry,
    attestation_digest,
    public_inputs,
    sign_attestation,
)
from relayer.zk.field import R

pytestmark = pytest.mark.anvil

MAX_AGE = 3600
MAX_DRIFT = 60
BUNDLE = b"\x00" * 31 + b"\x01" + b"test bundle: the AcceptingVerifier double accepts any bytes"
SIGNER_IDS = (5, 6, 7)  # anvil dev accounts used as the signer set; threshold 2
OTHER_IDS = (8, 9)  # dev accounts that are not signers
INT256_MAX = 2**255 - 1
GAS = 3_000_000


@dataclass
class Env:
    w3: Web3
    feed: Any
    verifier: Any
    owner: str
    submitter: str
    chain_id: int


def now(w3: Web3) -> int:
    """Timestamp of a freshly mined block (robust to time offsets left by earlier tests)."""
    w3.provider.make_request("evm_mine", [])
    return int(w3.eth.get_block("latest")["timestamp"])


def own_entry(w3: Web3, **over: Any) -> ChainEntry:
    latest = w3.eth.block_number
    blk = w3.eth.get_block(latest - 1)
    fields: dict[str, Any] = dict(
        chainId=w3.eth.chain_id, blockNumber=blk["number"], blockHash=bytes(blk["hash"]),
        assets=1_500_000 * 10**6, liabilities=1_000_000 * 10**6, maintenanceMargin=120_000 * 10**6,
        badDebt=0, underMargined=2, root=keccak(b"root-own")[:31].rjust(32, b"\0"),
        marketCommitment=keccak(b"market-own")[:31].rjust(32, b"\0"), proofDigest=keccak(b"proof-own"),
    )
    fields.update(over)
    return ChainEntry(**fields)


def other_entry(chain_id: int, **over: Any) -> ChainEntry:
    fields: dict[str, Any] = dict(
        chainId=chain_id, blockNumber=1000 + chain_id % 100, blockHash=keccak(b"hash-%d" % chain_id),
        assets=700_000 * 10**6, liabilities=600_000 * 10**6, maintenanceMargin=50_000 * 10**6,
        badDebt=3 * 10**6, underMargined=1, root=keccak(b"root-%d" % chain_id)[:31].rjust(32, b"\0"),
        marketCommitment=(chain_id * 7919).to_bytes(32, "big"), proofDigest=keccak(b"proof-%d" % chain_id),
    )
    fields.update(over)
    return ChainEntry(**fields)


def make_att(env: Env, round: int, ts: int | None = None, entries: list[ChainEntry] | None = None,
             bundle: bytes = BUNDLE, version: int | None = None) -> Attestation:
    w3 = env.w3
    ts = now(w3) if ts is None else ts
    if entries is None:
        entries = [own_entry(w3), other_entry(31338), other_entry(31339)]
    v = env.feed.functions.signerSetVersion().call() if version is None else version
    return Attestation.build(round, ts, v, entries, bundle)


def sign(env: Env, att: Attestation, ids: tuple[int, ...] = SIGNER_IDS[:2], chain_id: int | None = None,
         contract: str | None = None) -> list[bytes]:
    digest = attestation_digest(att, chain_id or env.chain_id, contract or env.feed.address)
    return [sign_attestation(digest, dev_key(i)) for i in ids]


def submit_fn(env: Env, att: Attestation, sigs: list[bytes], bundle: bytes = BUNDLE, feed: Any = None) -> Any:
    return (feed or env.feed).functions.submit(att.as_tuple(), sigs, bundle)


def submit(env: Env, att: Attestation, sigs: list[bytes] | None = None, bundle: bytes = BUNDLE, feed: Any = None) -> Any:
    sigs = sign(env, att, contract=(feed or env.feed).address) if sigs is None else sigs
    return send(submit_fn(env, att, sigs, bundle, feed), {"from": env.submitter, "gas": GAS})


def rejects(env: Env, att: Attestation, error: str, sigs: list[bytes] | None = None, bundle: bytes = BUNDLE,
            feed: Any = None) -> str:
    sigs = sign(env, att, contract=(feed or env.feed).address) if sigs is None else sigs
    data = expect_revert(submit_fn(env, att, sigs, bundle, feed), error, {"from": env.submitter, "gas": GAS})
    # and really nothing changes on chain when it is sent anyway
    before = (feed or env.feed).functions.lastRound().call()
    h = submit_fn(env, att, sigs, bundle, feed).transact({"from": env.submitter, "gas": GAS})
    assert env.w3.eth.wait_for_transaction_receipt(h)["status"] == 0
    assert (feed or env.feed).functions.lastRound().call() == before
    return data


def new_feed(env: Env, verifier: str, signers: tuple[int, ...] = SIGNER_IDS, threshold: int = 2) -> Any:
    return deploy_any(env.w3, "SolvencyFeed", [dev_address(i) for i in signers], threshold, verifier,
                      MAX_AGE, MAX_DRIFT, env.owner)


@pytest.fixture(scope="module")
def module_env(anvil):  # type: ignore[no-untyped-def]
    w3 = connect(anvil)
    with snapshot(w3):  # leave the shared chain as we found it
        verifier = deploy_any(w3, "AcceptingVerifier")
        owner = w3.eth.accounts[0]
        feed = deploy_any(w3, "SolvencyFeed", [dev_address(i) for i in SIGNER_IDS], 2, verifier.address,
                          MAX_AGE, MAX_DRIFT, owner)
        yield Env(w3, feed, verifier, owner, w3.eth.accounts[1], w3.eth.chain_id)


@pytest.fixture()
def env(module_env: Env):  # type: ignore[no-untyped-def]
    with snapshot(module_env.w3):
        yield module_env


# ------------------------------------------------------------------ happy path


def test_happy_path_accepted_events_and_views(env: Env) -> None:
    att = make_att(env, 1)
    receipt = submit(env, att)
    block = env.w3.eth.get_block(receipt["blockNumber"])
    ratio = att.totalAssets * 10**8 // att.totalLiabilities

    (acc,) = events(env.feed, receipt, "RoundAccepted")
    assert acc["args"]["round"] == 1
    assert acc["args"]["ratioE8"] == ratio
    assert acc["args"]["solvent"] is True
    assert acc["args"]["digest"] == attestation_digest(att, env.chain_id, env.feed.address)
    roots = events(env.feed, receipt, "ChainRootPublished")
    assert [(e["args"]["chainId"], e["args"]["root"]) for e in roots] == [(c.chainId, c.root) for c in att.chains]

    view = env.feed.functions.latestAttestation().call()
    assert view[0:4] == (1, att.timestamp, block["timestamp"], att.signerSetVersion)
    assert view[4:9] == (att.totalAssets, att.totalLiabilities, att.totalMaintenanceMargin, att.totalBadDebt,
                         att.totalUnderMargined)
    assert view[9] == ratio and view[10] is True and view[11] == att.bundleDigest
    assert [tuple(c) for c in view[12]] == [c.as_tuple() for c in att.chains]

    assert env.feed.functions.latestRoundData().call() == [1, ratio, att.timestamp, block["timestamp"], 1]
    assert env.feed.functions.getRoundData(1).call() == [1, ratio, att.timestamp, block["timestamp"], 1]
    assert env.feed.functions.lastRound().call() == 1
    assert env.feed.functions.isSolvent(MAX_AGE).call() is True
    assert env.feed.functions.decimals().call() == 8
    assert env.feed.functions.version().call() == 1
    assert "ratio" in env.feed.functions.description().call()
    expect_revert(env.feed.functions.getRoundData(2), "NoDataPresent")
    expect_revert(env.feed.functions.getRoundData(2**64), "NoDataPresent")


def test_before_first_round_views_are_empty(env: Env) -> None:
    assert env.feed.functions.latestRoundData().call() == [0, 0, 0, 0, 0]
    assert env.feed.functions.isSolvent(MAX_AGE).call() is False
    expect_revert(env.feed.functions.getRoundData(0), "NoDataPresent")


def test_successive_rounds_kept_and_fewer_chains_shrink_latest(env: Env) -> None:
    att1 = make_att(env, 1)
    submit(env, att1)
    att2 = make_att(env, 7, entries=[own_entry(env.w3, assets=10, liabilities=20)])
    submit(env, att2)
    assert env.feed.functions.latestRoundData().call()[0:2] == [7, 10 * 10**8 // 20]
    assert env.feed.functions.getRoundData(1).call()[1] == att1.totalAssets * 10**8 // att1.totalLiabilities
    expect_revert(env.feed.functions.getRoundData(3), "NoDataPresent")
    assert len(env.feed.functions.latestAttestation().call()[12]) == 1


def test_feed_passes_the_derived_public_inputs_to_the_verifier(env: Env) -> None:
    att = make_att(env, 1)
    inputs = public_inputs(att)
    assert env.feed.functions.publicInputs(att.as_tuple()).call() == inputs
    pinned = deploy_any(env.w3, "PinnedInputsVerifier", inputs, 3, BUNDLE)
    feed = new_feed(env, pinned.address)
    att = replace(att, timestamp=now(env.w3))
    inputs = public_inputs(att)  # unchanged: the timestamp is not an input
    submit(env, att, feed=feed)
    assert feed.functions.lastRound().call() == 1
    # same inputs, other round -> other inputs -> the pinned verifier says no
    att2 = make_att(env, 2)
    rejects(env, att2, "ProofRejected", feed=feed)


def test_insolvent_round_and_ratio(env: Env) -> None:
    att = make_att(env, 1, entries=[own_entry(env.w3, assets=999_999, liabilities=1_000_000)])
    submit(env, att)
    rd = env.feed.functions.latestRoundData().call()
    assert rd[1] == 99_999_900 and rd[1] < 10**8
    assert env.feed.functions.isSolvent(MAX_AGE).call() is False
    assert env.feed.functions.latestAttestation().call()[10] is False


def test_zero_liabilities_gives_the_documented_cap(env: Env) -> None:
    att = make_att(env, 1, entries=[own_entry(env.w3, assets=5, liabilities=0)])
    submit(env, att)
    assert env.feed.functions.latestRoundData().call()[1] == INT256_MAX
    assert env.feed.functions.RATIO_CAP().call() == INT256_MAX
    assert env.feed.functions.isSolvent(MAX_AGE).call() is True


def test_ratio_is_exact_for_values_near_r(env: Env) -> None:
    # totals near 3r overflow a 256-bit assets*1e8; the feed uses a 512-bit product
    big = [own_entry(env.w3, assets=R - 1, liabilities=R - 12345), other_entry(31338, assets=R - 2, liabilities=R - 7),
           other_entry(31339, assets=R - 3, liabilities=R // 3)]
    att = make_att(env, 1, entries=big)
    submit(env, att)
    expected = min(att.totalAssets * 10**8 // att.totalLiabilities, INT256_MAX)
    assert env.feed.functions.latestRoundData().call()[1] == expected


def test_is_solvent_false_when_stale(env: Env) -> None:
    submit(env, make_att(env, 1))
    increase_time(env.w3, 600)
    assert env.feed.functions.isSolvent(10_000).call() is True
    assert env.feed.functions.isSolvent(300).call() is False


# ------------------------------------------------------------------ signatures


def test_rejects_threshold_minus_one_signatures(env: Env) -> None:
    att = make_att(env, 1)
    rejects(env, att, "NotEnoughSignatures", sigs=sign(env, att, ids=SIGNER_IDS[:1]))
    rejects(env, att, "NotEnoughSignatures", sigs=[])


def test_rejects_duplicated_signer(env: Env) -> None:
    att = make_att(env, 1)
    s = sign(env, att, ids=(SIGNER_IDS[0],))[0]
    rejects(env, att, "DuplicateSigner", sigs=[s, s])


def test_rejects_unregistered_signer(env: Env) -> None:
    att = make_att(env, 1)
    rejects(env, att, "UnknownSigner", sigs=sign(env, att, ids=(SIGNER_IDS[0], OTHER_IDS[0])))


def test_rejects_high_s_malleated_signature(env: Env) -> None:
    att = make_att(env, 1)
    good = sign(env, att)
    r, s, v = good[0][:32], int.from_bytes(good[0][32:64], "big"), good[0][64]
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # valid ECDSA, high s
    # the twin recovers to the same signer (so only the low-s rule rejects it)
    from eth_keys import keys
    digest = attestation_digest(att, env.chain_id, env.feed.address)
    rec = keys.Signature(vrs=(twin[64] - 27, int.from_bytes(r, "big"), SECP256K1_N - s)).recover_public_key_from_msg_hash(digest)
    assert rec.to_checksum_address() == dev_address(SIGNER_IDS[0])
    rejects(env, att, "SignatureMalleable", sigs=[twin, good[1]])


def test_rejects_bad_v_and_bad_length(env: Env) -> None:
    att = make_att(env, 1)
    good = sign(env, att)
    rejects(env, att, "BadSignatureV", sigs=[good[0][:64] + bytes([good[0][64] - 27]), good[1]])
    rejects(env, att, "BadSignatureLength", sigs=[good[0][:64], good[1]])
    rejects(env, att, "BadSignatureLength", sigs=[good[0] + b"\0", good[1]])


def test_rejects_signature_for_another_chain_id(env: Env) -> None:
    att = make_att(env, 1)
    rejects(env, att, "UnknownSigner", sigs=sign(env, att, chain_id=env.chain_id + 1))


def test_rejects_signature_for_another_feed_address(env: Env) -> None:
    att = make_att(env, 1)
    other = new_feed(env, env.verifier.address)
    sigs = sign(env, att, contract=other.address)
    rejects(env, att, "UnknownSigner", sigs=sigs)
    submit(env, att, sigs=sigs, feed=other)  # they are valid where they were meant to go


def test_rejects_wrong_signer_set_version(env: Env) -> None:
    att = make_att(env, 1, version=2)
    rejects(env, att, "WrongSignerSetVersion")


def test_signer_set_rotation_old_rejected_new_accepted(env: Env) -> None:
    att1 = make_att(env, 1)
    submit(env, att1)
    new_ids = (7, 8, 9)
    r = send(env.feed.functions.rotateSigners([dev_address(i) for i in new_ids], 3), {"from": env.owner})
    (ev,) = events(env.feed, r, "SignersRotated")
    assert ev["args"]["version"] == 2 and ev["args"]["threshold"] == 3
    assert env.feed.functions.signerSetVersion().call() == 2
    assert env.feed.functions.isSigner(dev_address(5)).call() is False
    # the old set, signing the old version: wrong version
    old = make_att(env, 2, version=1)
    rejects(env, old, "WrongSignerSetVersion", sigs=sign(env, old, ids=SIGNER_IDS))
    # the old set signing the new version: 5 and 6 are not in set 2
    att2 = make_att(env, 2)
    rejects(env, att2, "UnknownSigner", sigs=sign(env, att2, ids=SIGNER_IDS))
    rejects(env, att2, "NotEnoughSignatures", sigs=sign(env, att2, ids=(7, 8)))
    submit(env, att2, sigs=sign(env, att2, ids=(9, 7, 8)))
    assert env.feed.functions.lastRound().call() == 2


def test_rotate_signers_is_owner_only_and_validated(env: Env) -> None:
    addrs = [dev_address(i) for i in (7, 8)]
    expect_revert(env.feed.functions.rotateSigners(addrs, 1), "NotOwner", {"from": env.submitter})
    expect_revert(env.feed.functions.rotateSigners(addrs, 0), "InvalidThreshold", {"from": env.owner})
    expect_revert(env.feed.functions.rotateSigners(addrs, 3), "InvalidThreshold", {"from": env.owner})
    expect_revert(env.feed.functions.rotateSigners([addrs[0], addrs[0]], 1), "InvalidSigner", {"from": env.owner})
    expect_revert(env.feed.functions.rotateSigners([addrs[0], "0x" + "00" * 20], 1), "InvalidSigner",
                  {"from": env.owner})


# ------------------------------------------------------------------ rounds and time


def test_rejects_replayed_round(env: Env) -> None:
    att = make_att(env, 1)
    sigs = sign(env, att)
    submit(env, att, sigs=sigs)
    rejects(env, att, "RoundNotIncreasing", sigs=sigs)


def test_rejects_decreasing_round(env: Env) -> None:
    submit(env, make_att(env, 5))
    rejects(env, make_att(env, 4), "RoundNotIncreasing")
    rejects(env, make_att(env, 0), "RoundNotIncreasing")


def test_rejects_timestamp_in_the_future(env: Env) -> None:
    t = now(env.w3)
    rejects(env, make_att(env, 1, ts=t + MAX_DRIFT + 120), "TimestampInFuture")
    submit(env, make_att(env, 1, ts=t + MAX_DRIFT // 2))  # within the allowed drift


def test_rejects_attestation_older_than_max_age(env: Env) -> None:
    att = make_att(env, 1)
    increase_time(env.w3, MAX_AGE + 100)
    rejects(env, att, "AttestationTooOld")
    # the owner can widen the window, after which the same attestation is fresh enough
    send(env.feed.functions.setMaxAge(MAX_AGE * 2), {"from": env.owner})
    submit(env, att)


def test_set_max_age_owner_only(env: Env) -> None:
    expect_revert(env.feed.functions.setMaxAge(5), "NotOwner", {"from": env.submitter})
    expect_revert(env.feed.functions.setMaxAge(0), "InvalidMaxAge", {"from": env.owner})
    expect_revert(env.feed.functions.setMaxFutureDrift(5), "NotOwner", {"from": env.submitter})


def test_max_future_drift_setting(env: Env) -> None:
    t = now(env.w3)
    att = make_att(env, 1, ts=t + 3 * MAX_DRIFT)
    rejects(env, att, "TimestampInFuture")
    send(env.feed.functions.setMaxFutureDrift(10 * MAX_DRIFT), {"from": env.owner})
    submit(env, att)


def test_ownership_transfer(env: Env) -> None:
    feed = env.feed
    expect_revert(feed.functions.transferOwnership(env.submitter), "NotOwner", {"from": env.submitter})
    expect_revert(feed.functions.transferOwnership("0x" + "00" * 20), "ZeroAddress", {"from": env.owner})
    send(feed.functions.transferOwnership(env.submitter), {"from": env.owner})
    assert feed.functions.owner().call() == env.submitter
    expect_revert(feed.functions.setMaxAge(5), "NotOwner", {"from": env.owner})
    send(feed.functions.setMaxAge(5), {"from": env.submitter})


def test_constructor_rejects_bad_configuration(env: Env) -> None:
    from relayer.errors import ChainError

    signers = [dev_address(i) for i in SIGNER_IDS]
    zero = "0x" + "00" * 20
    for args in ((signers, 0, env.verifier.address, MAX_AGE, MAX_DRIFT, env.owner),
                 (signers, 4, env.verifier.address, MAX_AGE, MAX_DRIFT, env.owner),
                 (signers, 2, env.verifier.address, 0, MAX_DRIFT, env.owner),
                 (signers, 2, env.verifier.address, MAX_AGE, MAX_DRIFT, zero),
                 (signers, 2, env.owner, MAX_AGE, MAX_DRIFT, env.owner)):  # verifier without code
        with pytest.raises(ChainError):
            deploy_any(env.w3, "SolvencyFeed", *args)


# ------------------------------------------------------------------ chain entries and totals


def test_rejects_own_chain_block_hash_mismatch(env: Env) -> None:
    att = make_att(env, 1, entries=[own_entry(env.w3, blockHash=keccak(b"not the hash")), other_entry(31338)])
    rejects(env, att, "BlockHashMismatch")


def test_own_chain_block_older_than_256_is_taken_on_signatures(env: Env) -> None:
    env.w3.provider.make_request("anvil_mine", [hex(300)])
    blk = env.w3.eth.get_block(1)
    att = make_att(env, 1, entries=[own_entry(env.w3, blockNumber=1, blockHash=keccak(b"unverifiable"))])
    assert blk["hash"] != att.chains[0].blockHash
    submit(env, att)


def test_rejects_missing_own_chain_entry(env: Env) -> None:
    att = make_att(env, 1, entries=[other_entry(31338), other_entry(31339)])
    rejects(env, att, "OwnChainMissing")


def test_rejects_own_block_not_in_the_past(env: Env) -> None:
    latest = env.w3.eth.block_number
    att = make_att(env, 1, entries=[own_entry(env.w3, blockNumber=latest + 10)])
    rejects(env, att, "OwnBlockNotPast")


def test_rejects_duplicated_or_unsorted_chains(env: Env) -> None:
    att = make_att(env, 1)
    swapped = replace(att, chains=(att.chains[0], att.chains[2], att.chains[1]))
    rejects(env, swapped, "ChainsNotSorted")
    dup = replace(att, chains=(att.chains[0], att.chains[1], att.chains[1]),
                  totalAssets=att.chains[0].assets + 2 * att.chains[1].assets)
    rejects(env, dup, "ChainsNotSorted")


@pytest.mark.parametrize(
    ("field", "index"),
    [("totalAssets", 0), ("totalLiabilities", 1), ("totalMaintenanceMargin", 2), ("totalBadDebt", 3),
     ("totalUnderMargined", 4)],
)
def test_rejects_totals_that_do_not_add_up(env: Env, field: str, index: int) -> None:
    att = make_att(env, 1)
    bad = replace(att, **{field: getattr(att, field) + 1})
    data = rejects(env, bad, "TotalsMismatch")
    assert int(data[8:], 16) == index


def test_rejects_bundle_digest_mismatch(env: Env) -> None:
    att = make_att(env, 1)
    rejects(env, att, "BundleDigestMismatch", bundle=BUNDLE + b"\0")


@pytest.mark.parametrize("field", ["root", "marketCommitment", "assets"])
def test_rejects_public_input_not_below_r(env: Env, field: str) -> None:
    value: Any = R.to_bytes(32, "big") if field != "assets" else R
    att = make_att(env, 1, entries=[own_entry(env.w3, **{field: value}), other_entry(31338)])
    data = rejects(env, att, "PublicInputOutOfField")
    assert int(data[8 + 64:], 16) == R
    # one below r passes
    ok_value: Any = (R - 1).to_bytes(32, "big") if field != "assets" else R - 1
    submit(env, make_att(env, 1, entries=[own_entry(env.w3, **{field: ok_value}), other_entry(31338)]))


# ------------------------------------------------------------------ verifier


def test_rejects_when_verifier_rejects(env: Env) -> None:
    feed = new_feed(env, deploy_any(env.w3, "RejectingVerifier").address)
    rejects(env, make_att(env, 1), "ProofRejected", feed=feed)


def test_rejects_when_verifier_reverts(env: Env) -> None:
    feed = new_feed(env, deploy_any(env.w3, "RevertingVerifier").address)
    rejects(env, make_att(env, 1), "VerifierReverted", feed=feed)


def test_verifier_unset_fails_closed_then_set_once(env: Env) -> None:
    feed = new_feed(env, "0x" + "00" * 20)
    att = make_att(env, 1)
    rejects(env, att, "VerifierNotSet", feed=feed)
    expect_revert(feed.functions.setVerifier(env.verifier.address), "NotOwner", {"from": env.submitter})
    expect_revert(feed.functions.setVerifier(env.submitter), "NotAContract", {"from": env.owner})
    r = send(feed.functions.setVerifier(env.verifier.address), {"from": env.owner})
    assert events(feed, r, "VerifierSet")[0]["args"]["verifier"] == env.verifier.address
    expect_revert(feed.functions.setVerifier(env.verifier.address), "VerifierAlreadySet", {"from": env.owner})
    submit(env, att, feed=feed)


# ------------------------------------------------------------------ subscribers


def test_subscribers_failing_ones_do_not_block_and_healthy_one_gets_values(env: Env) -> None:
    w3, feed = env.w3, env.feed
    att = make_att(env, 3, entries=[own_entry(w3, assets=9, liabilities=10)])
    bare = submit_fn(env, att, sign(env, att)).estimate_gas({"from": env.submitter})  # no subscriber yet
    bad = [deploy_any(w3, n) for n in ("RevertingSubscriber", "GasBurningSubscriber", "ReturnBombSubscriber")]
    rec = deploy_any(w3, "RecordingSubscriber")
    for c in bad:
        send(feed.functions.subscribe(c.address), {"from": env.owner})
    send(rec.functions.subscribeTo(feed.address), {"from": env.submitter})  # self-subscription
    assert set(feed.functions.subscribers().call()) == {c.address for c in bad} | {rec.address}

    receipt = submit(env, att)
    assert feed.functions.latestAttestation().call()[0] == 3 and feed.functions.lastRound().call() == 3
    failed = {e["args"]["subscriber"] for e in events(feed, receipt, "SubscriberFailed")}
    assert failed == {c.address for c in bad}
    assert all(e["args"]["round"] == 3 for e in events(feed, receipt, "SubscriberFailed"))
    assert rec.functions.calls().call() == 1
    assert rec.functions.lastRound().call() == 3
    assert rec.functions.lastSolvent().call() is False
    assert rec.functions.lastRatioE8().call() == 9 * 10**8 // 10
    assert rec.functions.lastCaller().call() == feed.address
    # the gas burner got its cap and no more, the return bomb's data was not copied: the update costs
    # the round itself plus at most one cap per subscriber
    cap = feed.functions.SUBSCRIBER_GAS().call()
    assert receipt["gasUsed"] - bare <= 4 * (cap + cap // 63 + 10_000), (receipt["gasUsed"], bare)


def test_subscriber_unsubscribing_itself_during_callback_does_not_block(env: Env) -> None:
    w3, feed = env.w3, env.feed
    quitter = deploy_any(w3, "SelfUnsubscribingSubscriber")
    rec = deploy_any(w3, "RecordingSubscriber")
    # the quitter first: its removal swaps the last subscriber into its place and shrinks the list
    for c in (quitter, rec):
        send(feed.functions.subscribe(c.address), {"from": env.owner})
    receipt = submit(env, make_att(env, 1))
    assert not events(feed, receipt, "SubscriberFailed")
    assert quitter.functions.calls().call() == 1 and rec.functions.calls().call() == 1
    assert feed.functions.subscribers().call() == [rec.address]
    submit(env, make_att(env, 2))
    assert quitter.functions.calls().call() == 1 and rec.functions.calls().call() == 2


def test_subscribe_rules(env: Env) -> None:
    feed = env.feed
    rec = deploy_any(env.w3, "RecordingSubscriber")
    expect_revert(feed.functions.subscribe(rec.address), "NotAuthorized", {"from": env.submitter})
    expect_revert(feed.functions.subscribe(env.submitter), "NotAContract", {"from": env.submitter})
    send(feed.functions.subscribe(rec.address), {"from": env.owner})
    expect_revert(feed.functions.subscribe(rec.address), "AlreadySubscribed", {"from": env.owner})
    expect_revert(feed.functions.unsubscribe(rec.address), "NotAuthorized", {"from": env.submitter})
    r = send(feed.functions.unsubscribe(rec.address), {"from": env.owner})
    assert events(feed, r, "Unsubscribed")[0]["args"]["subscriber"] == rec.address
    expect_revert(feed.functions.unsubscribe(rec.address), "NotSubscribed", {"from": env.owner})
    submit(env, make_att(env, 1))
    assert rec.functions.calls().call() == 0  # unsubscribed: not called


def test_subscriber_count_is_capped(env: Env) -> None:
    cap = env.feed.functions.MAX_SUBSCRIBERS().call()
    for _ in range(cap):
        c = deploy_any(env.w3, "RecordingSubscriber")
        send(env.feed.functions.subscribe(c.address), {"from": env.owner})
    extra = deploy_any(env.w3, "RecordingSubscriber")
    expect_revert(env.feed.functions.subscribe(extra.address), "TooManySubscribers", {"from": env.owner})


def test_submitter_cannot_starve_subscribers_with_a_low_gas_limit(env: Env) -> None:
    w3, feed = env.w3, env.feed
    cap = feed.functions.SUBSCRIBER_GAS().call()
    att = make_att(env, 1, entries=[own_entry(w3, assets=9, liabilities=10)])
    sigs = sign(env, att)
    fn = submit_fn(env, att, sigs)
    bare = fn.estimate_gas({"from": env.submitter})  # the same round with no subscriber
    # the burner first: it uses its whole cap, and the well-behaved one after it must still be called
    burner = deploy_any(w3, "GasBurningSubscriber")
    rec = deploy_any(w3, "RecordingSubscriber")
    for c in (burner, rec):
        send(feed.functions.subscribe(c.address), {"from": env.owner})
    needed = fn.estimate_gas({"from": env.submitter})
    assert needed - bare >= 2 * cap  # both callbacks get their cap: the burner is not given less

    # with less gas than the subscriber caps need, the round is not accepted at all (the feed says
    # why, it does not skip the callbacks), and nothing moves
    low = needed - 60_000
    expect_revert(fn, "InsufficientGasForSubscribers", {"from": env.submitter, "gas": low})
    h = fn.transact({"from": env.submitter, "gas": low})
    assert w3.eth.wait_for_transaction_receipt(h)["status"] == 0
    assert rec.functions.calls().call() == 0 and feed.functions.lastRound().call() == 0
    assert feed.functions.latestAttestation().call()[0] == 0

    receipt = send(fn, {"from": env.submitter, "gas": needed})
    # the round was accepted ...
    assert feed.functions.lastRound().call() == 1
    view = feed.functions.latestAttestation().call()
    assert (view[0], view[9], view[10]) == (1, 9 * 10**8 // 10, False)
    assert [e["args"]["round"] for e in events(feed, receipt, "RoundAccepted")] == [1]
    # ... the burner's failure is reported by name, and only the burner's
    assert [(e["args"]["subscriber"], e["args"]["round"]) for e in events(feed, receipt, "SubscriberFailed")] == [
        (burner.address, 1)]
    assert burner.functions.sink().call() == 0  # its writes were rolled back with its call
    # ... the well-behaved subscriber was called once, by the feed, with this round's values
    assert rec.functions.calls().call() == 1
    assert (rec.functions.lastRound().call(), rec.functions.lastSolvent().call(), rec.functions.lastRatioE8().call(),
            rec.functions.lastCaller().call()) == (1, False, 9 * 10**8 // 10, feed.address)
    # ... and the gas is bounded: the round's own cost plus at most one cap per subscriber
    assert receipt["gasUsed"] <= needed
    assert receipt["gasUsed"] - bare <= 2 * (cap + cap // 63 + 10_000), (receipt["gasUsed"], bare)


# ------------------------------------------------------------------ checks the Python side never trips


def _unbuilt(env: Env, entries: list[ChainEntry], **totals: int) -> Attestation:
    """An attestation made field by field (Attestation.build refuses these shapes), totals summed
    unless given."""
    sums = dict(totalAssets=sum(e.assets for e in entries), totalLiabilities=sum(e.liabilities for e in entries),
                totalMaintenanceMargin=sum(e.maintenanceMargin for e in entries),
                totalBadDebt=sum(e.badDebt for e in entries), totalUnderMargined=sum(e.underMargined for e in entries))
    sums.update(totals)
    return Attestation(round=1, timestamp=now(env.w3), signerSetVersion=env.feed.functions.signerSetVersion().call(),
                       chains=tuple(entries), bundleDigest=keccak(BUNDLE), **sums)


def test_rejects_no_chains_and_more_than_max_chains(env: Env) -> None:
    rejects(env, _unbuilt(env, []), "NoChains")
    own = own_entry(env.w3)
    others = [other_entry(own.chainId + 1 + i) for i in range(32)]  # 33 chains, sorted, own first
    data = rejects(env, _unbuilt(env, [own, *others]), "TooManyChains")
    assert int(data[8:72], 16) == 33 and int(data[72:], 16) == 32
    # 32 chains: accepted (eth_call with room for 32 stored entries, beyond this module's GAS)
    att32 = _unbuilt(env, [own, *others[:31]])
    submit_fn(env, att32, sign(env, att32)).call({"from": env.submitter, "gas": 25_000_000})


def test_rejects_totals_that_overflow_uint256(env: Env) -> None:
    # each entry fits a uint256, their sum does not: never wrapped into a small "matching" total
    big = 2**255
    entries = [own_entry(env.w3, assets=big), other_entry(31338, assets=big)]
    rejects(env, _unbuilt(env, entries, totalAssets=0), "TotalsOverflow")


def test_rejects_signature_that_recovers_to_nobody(env: Env) -> None:
    att = make_att(env, 1)
    good = sign(env, att)
    # r = 0: ecrecover answers address(0), which must never count (s and v are canonical)
    zero_r = b"\0" * 32 + (1).to_bytes(32, "big") + bytes([27])
    data = rejects(env, att, "InvalidSignature", sigs=[good[0], zero_r])
    assert int(data[8:], 16) == 1


def test_rotate_signers_rejects_more_than_max_signers(env: Env) -> None:
    many = [Web3.to_checksum_address((i + 1).to_bytes(20, "big")) for i in range(256)]
    data = expect_revert(env.feed.functions.rotateSigners(many, 1), "TooManySigners", {"from": env.owner})
    assert int(data[8:72], 16) == 256 and int(data[72:], 16) == 255
