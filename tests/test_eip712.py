"""EIP-712 attestation hashing and signing: Python against the committed vectors, against
eth-account's independent encode_typed_data, and against SolvencyFeed's own views on Anvil."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from contract_helpers import connect, deploy_any, snapshot
from relayer.attest import eip712 as E
from relayer.errors import AttestationError
from relayer.zk.field import R

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests" / "vectors" / "eip712.json").read_text())
CASES = VECTORS["cases"]
ZERO = "0x" + "00" * 20


def h(b: bytes) -> str:
    return "0x" + b.hex()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_python_matches_vectors(case: dict[str, Any]) -> None:
    att = E.Attestation.from_json(case["attestation"])
    cid, vc = int(case["chainId"]), case["verifyingContract"]
    assert att.to_json() == case["attestation"]
    assert h(E.domain_separator(cid, vc)) == case["domainSeparator"]
    assert [h(E.hash_chain_entry(e)) for e in att.chains] == case["chainEntryHashes"]
    assert h(E.hash_attestation_struct(att)) == case["structHash"]
    assert h(E.attestation_digest(att, cid, vc)) == case["digest"]
    assert [str(v) for v in E.public_inputs(att)] == case["publicInputs"]
    digest = bytes.fromhex(case["digest"][2:])
    for s in case["signatures"]:
        sig = bytes.fromhex(s["signature"][2:])
        assert E.sign_attestation(digest, s["key"]) == sig  # RFC 6979: deterministic
        assert E.recover_signer(digest, sig) == s["address"] == Account.from_key(s["key"]).address


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vectors_match_eth_account_typed_data(case: dict[str, Any]) -> None:
    """A second, independent EIP-712 implementation (eth-account) gives the same digest."""
    att = E.Attestation.from_json(case["attestation"])
    msg = encode_typed_data(full_message=E.typed_data(att, int(case["chainId"]), case["verifyingContract"]))
    assert h(msg.header) == case["domainSeparator"]
    assert h(msg.body) == case["structHash"]
    assert h(keccak(b"\x19" + msg.version + msg.header + msg.body)) == case["digest"]


def test_type_strings_and_typehashes() -> None:
    assert VECTORS["chainEntryTypehash"] == h(keccak(text=VECTORS["chainEntryType"]))
    assert VECTORS["attestationTypehash"] == h(keccak(text=VECTORS["attestationType"]))
    assert VECTORS["attestationType"].endswith(VECTORS["chainEntryType"])


def test_generator_reproduces_committed_vectors(tmp_path: Path) -> None:
    out = tmp_path / "eip712.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-vectors-eip712"), "--out", str(out)], check=True,
                   capture_output=True)
    assert out.read_text() == (ROOT / "tests" / "vectors" / "eip712.json").read_text()


# ------------------------------------------------------------------ against the contract


@pytest.mark.anvil
def test_contract_hashes_match_python_and_vectors(anvil) -> None:  # type: ignore[no-untyped-def]
    w3 = connect(anvil)
    with snapshot(w3):
        feed = deploy_any(w3, "SolvencyFeed", [w3.eth.accounts[5]], 1, ZERO, 3600, 60, w3.eth.accounts[0])
        fn = feed.functions
        assert h(fn.CHAIN_ENTRY_TYPEHASH().call()) == VECTORS["chainEntryTypehash"]
        assert h(fn.ATTESTATION_TYPEHASH().call()) == VECTORS["attestationTypehash"]
        assert fn.domainSeparator().call() == E.domain_separator(w3.eth.chain_id, feed.address)
        for case in CASES:
            att = E.Attestation.from_json(case["attestation"])
            assert [h(fn.hashChainEntry(e.as_tuple()).call()) for e in att.chains] == case["chainEntryHashes"]
            assert h(fn.hashAttestationStruct(att.as_tuple()).call()) == case["structHash"]
            assert [str(v) for v in fn.publicInputs(att.as_tuple()).call()] == case["publicInputs"]
            assert fn.hashAttestation(att.as_tuple()).call() == E.attestation_digest(att, w3.eth.chain_id,
                                                                                     feed.address)


@pytest.mark.anvil
def test_contract_reproduces_vector_digest_at_its_own_address(fresh_anvil) -> None:  # type: ignore[no-untyped-def]
    """The one-chain vector's domain is (31337, first contract of dev account 0 on a fresh chain)."""
    case = next(c for c in CASES if c["name"] == "one-chain")
    w3 = connect(fresh_anvil)
    feed = deploy_any(w3, "SolvencyFeed", [w3.eth.accounts[5]], 1, ZERO, 3600, 60, w3.eth.accounts[0],
                      sender=w3.eth.accounts[0])
    assert feed.address == case["verifyingContract"] and w3.eth.chain_id == int(case["chainId"])
    att = E.Attestation.from_json(case["attestation"])
    assert h(feed.functions.domainSeparator().call()) == case["domainSeparator"]
    assert h(feed.functions.hashAttestation(att.as_tuple()).call()) == case["digest"]


# ------------------------------------------------------------------ rejects and canonical form


def _entry(**over: Any) -> E.ChainEntry:
    return E.ChainEntry.from_json({**CASES[0]["attestation"]["chains"][0], **over})


@pytest.mark.parametrize(
    ("field", "value"),
    [("chainId", 2**64), ("chainId", -1), ("underMargined", 2**32), ("assets", 2**256), ("assets", True),
     ("assets", 1.0), ("blockHash", b"\0" * 31), ("root", "0x" + "00" * 32)],
)
def test_chain_entry_rejects_out_of_range_fields(field: str, value: Any) -> None:
    fields = {n: getattr(_entry(), n) for _, n in E.CHAIN_ENTRY_FIELDS}
    fields[field] = value
    with pytest.raises(AttestationError, match=field):
        E.ChainEntry(**fields)


def test_build_rejects_bad_shapes() -> None:
    e = _entry()
    with pytest.raises(AttestationError, match="at least one"):
        E.Attestation.build(1, 1, 1, [], b"")
    with pytest.raises(AttestationError, match="distinct"):
        E.Attestation.build(1, 1, 1, [e, e], b"")
    with pytest.raises(AttestationError, match="uint32"):
        E.Attestation.build(1, 1, 1, [_entry(underMargined=str(2**32 - 1)), _entry(chainId="9", underMargined="1")],
                            b"")
    with pytest.raises(AttestationError, match="decimal"):
        E.ChainEntry.from_json({**CASES[0]["attestation"]["chains"][0], "assets": "0x10"})
    att = E.Attestation.build(1, 1, 1, [_entry(chainId="9"), e], b"x")
    assert [c.chainId for c in att.chains] == sorted(c.chainId for c in att.chains)
    assert att.bundleDigest == keccak(b"x")


@pytest.mark.parametrize("field", ["root", "marketCommitment", "assets", "badDebt"])
def test_public_inputs_reject_values_not_below_r(field: str) -> None:
    value = str(R) if field in ("assets", "badDebt") else h(R.to_bytes(32, "big"))
    att = E.Attestation.build(1, 1, 1, [_entry(**{field: value})], b"")
    with pytest.raises(AttestationError, match="scalar field"):
        E.public_inputs(att)
    below = str(R - 1) if field in ("assets", "badDebt") else h((R - 1).to_bytes(32, "big"))
    assert R - 1 in E.public_inputs(E.Attestation.build(1, 1, 1, [_entry(**{field: below})], b""))


def test_public_inputs_layout() -> None:
    e = _entry(blockHash=h(bytes(range(32))))
    att = E.Attestation.build(77, 1, 1, [e], b"")
    pi = E.public_inputs(att)
    bh = int.from_bytes(bytes(range(32)), "big")
    assert pi == [e.chainId, e.blockNumber, bh >> 128, bh % 2**128, int.from_bytes(e.marketCommitment, "big"),
                  e.assets, e.liabilities, e.maintenanceMargin, e.badDebt, e.underMargined,
                  int.from_bytes(e.root, "big"), 77]


def test_signatures_are_canonical_and_high_s_is_normalized(monkeypatch: pytest.MonkeyPatch) -> None:
    key = CASES[0]["signatures"][0]["key"]
    addr = CASES[0]["signatures"][0]["address"]
    for i in range(20):
        d = keccak(b"digest %d" % i)
        sig = E.sign_attestation(d, key)
        assert len(sig) == 65 and int.from_bytes(sig[32:64], "big") <= E.HALF_N and sig[64] in (27, 28)
        assert E.recover_signer(d, sig) == addr
    # force the signer library to hand back the high-s twin: we must return the low-s form
    d = keccak(b"forced")
    real = Account.unsafe_sign_hash(d, key)

    class Twin:
        r, s, v = real.r, E.SECP256K1_N - real.s, 55 - real.v

    monkeypatch.setattr(E.Account, "unsafe_sign_hash", lambda digest, k: Twin)
    sig = E.sign_attestation(d, key)
    monkeypatch.undo()
    assert int.from_bytes(sig[32:64], "big") == real.s and sig[64] == real.v
    assert E.recover_signer(d, sig) == addr


def test_recover_signer_rejects_non_canonical() -> None:
    d = keccak(b"x")
    sig = E.sign_attestation(d, CASES[0]["signatures"][0]["key"])
    s = int.from_bytes(sig[32:64], "big")
    twin = sig[:32] + (E.SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    with pytest.raises(AttestationError, match="high s"):
        E.recover_signer(d, twin)
    with pytest.raises(AttestationError, match="v must be"):
        E.recover_signer(d, sig[:64] + bytes([sig[64] - 27]))
    with pytest.raises(AttestationError, match="65 bytes"):
        E.recover_signer(d, sig[:64])
    with pytest.raises(AttestationError, match="32-byte"):
        E.sign_attestation(d[:31], CASES[0]["signatures"][0]["key"])


def test_public_input_order_matches_the_solvency_circuit() -> None:
    """The feed/attestation derivation and the circuit's public-input order are one layout."""
    from relayer.circuits.solvency import PUBLIC_INPUTS

    e = _entry(blockHash=h(bytes(range(1, 33))))
    att = E.Attestation.build(9, 1, 1, [e], b"")
    bh = int.from_bytes(e.blockHash, "big")
    by_name = {
        "chainId": e.chainId, "blockNumber": e.blockNumber, "blockHashHi": bh >> 128, "blockHashLo": bh % 2**128,
        "marketCommitment": int.from_bytes(e.marketCommitment, "big"), "assets": e.assets,
        "liabilities": e.liabilities, "maintenanceMargin": e.maintenanceMargin, "badDebt": e.badDebt,
        "underMargined": e.underMargined, "root": int.from_bytes(e.root, "big"), "round": att.round,
    }
    assert len(PUBLIC_INPUTS) == E.INPUTS_PER_CHAIN == len(set(by_name.values()))
    assert E.public_inputs(att) == [by_name[n] for n in PUBLIC_INPUTS]


def test_recover_signer_rejects_r_or_s_out_of_range() -> None:
    """r = 0, r >= n and s = 0 are no signature at all (ecrecover gives address(0) on chain): a
    clear AttestationError, never an address."""
    d = keccak(b"x")
    sig = E.sign_attestation(d, CASES[0]["signatures"][0]["key"])
    for r, s in ((0, int.from_bytes(sig[32:64], "big")), (E.SECP256K1_N, int.from_bytes(sig[32:64], "big")),
                 (int.from_bytes(sig[:32], "big"), 0)):
        with pytest.raises(AttestationError, match="r/s out of range"):
            E.recover_signer(d, r.to_bytes(32, "big") + s.to_bytes(32, "big") + sig[64:])
