"""Signers: the registry, one conformance suite over every signer kind, encrypted keystores
(wrong password, missing, corrupt), and QuorumSigner's persisted refusal to sign two different
attestations for one round (also across a restart)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from relayer.attest.eip712 import HALF_N, Attestation, ChainEntry, attestation_digest, recover_signer
from relayer.attest.signer import (
    KeystoreSigner,
    QuorumSigner,
    Signer,
    UnsafeLocalKeySigner,
    load_keystore_signers,
    register_signer,
    signer_class,
    signer_names,
)
from relayer.errors import AttestationError, ConfigError, HaltError
from relayer.storage import RoundState, Store

PASSWORD = "correct horse battery staple"
FEEDS = [(31337, "0x" + "11" * 20), (31338, "0x" + "22" * 20), (31339, "0x" + "33" * 20)]


def write_keystore(path: Path, key: bytes, password: str = PASSWORD) -> Path:
    # scrypt n = 2**14 (as devnet keys): the default 2**18 costs seconds per test
    path.write_text(json.dumps(Account.encrypt(key, password, kdf="scrypt", iterations=2**14)))
    return path


def attestation(round: int = 1, liabilities: int = 5) -> Attestation:
    entries = [ChainEntry(chainId=c, blockNumber=100 + i, blockHash=keccak(b"h%d" % c), assets=10**12, liabilities=liabilities,
                          maintenanceMargin=1, badDebt=0, underMargined=0, root=b"\x01" * 32, marketCommitment=b"\x02" * 32,
                          proofDigest=keccak(b"p%d" % c)) for i, (c, _) in enumerate(FEEDS)]
    return Attestation.build(round, 1_700_000_000, 1, entries, b"bundle")


def keystore_signer(tmp_path: Path, key: bytes) -> Signer:
    return KeystoreSigner(write_keystore(tmp_path / f"k-{key.hex()[:8]}.json", key), PASSWORD)


def local_signer(_tmp: Path, key: bytes) -> Signer:
    return UnsafeLocalKeySigner(key)


SIGNER_KINDS: dict[str, Callable[[Path, bytes], Signer]] = {"keystore": keystore_signer, "unsafe-local-key": local_signer}


@pytest.fixture(params=sorted(SIGNER_KINDS))
def make_signer(request: pytest.FixtureRequest) -> Callable[[Path, bytes], Signer]:
    return SIGNER_KINDS[request.param]


# ---------------------------------------------------------------- conformance (every signer kind)


def test_conformance_signs_canonically_and_recovers(tmp_path: Path, make_signer: Callable[[Path, bytes], Signer]) -> None:
    key = keccak(b"signer-1")
    signer = make_signer(tmp_path, key)
    assert signer.address == Account.from_key(key).address
    for i in range(8):  # several digests: about half would have high s before normalization
        digest = attestation_digest(attestation(i + 1), *FEEDS[0])
        sig = signer.sign_digest(digest)
        assert len(sig) == 65 and sig[64] in (27, 28) and int.from_bytes(sig[32:64], "big") <= HALF_N
        assert recover_signer(digest, sig) == signer.address
    with pytest.raises(AttestationError, match="32-byte"):
        signer.sign_digest(b"\x00" * 31)
    assert key.hex() not in repr(signer)


def test_registry() -> None:
    assert {"keystore", "unsafe-local-key"} <= set(signer_names())
    assert signer_class("keystore") is KeystoreSigner
    with pytest.raises(ConfigError, match="no signer named 'ledger'.*keystore"):
        signer_class("ledger")

    class Nameless(UnsafeLocalKeySigner):
        name = ""

    with pytest.raises(TypeError, match="needs a class attribute"):
        register_signer(Nameless)

    class Clash(UnsafeLocalKeySigner):
        name = "keystore"

    with pytest.raises(TypeError, match="already registered"):
        register_signer(Clash)


# ---------------------------------------------------------------- keystores


def test_wrong_password_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    path = write_keystore(tmp_path / "operator-1.json", keccak(b"k"))
    with pytest.raises(AttestationError) as info:
        KeystoreSigner(path, "not the password")
    msg = str(info.value)
    assert str(path) in msg and "wrong password" in msg and "password_env" in msg
    # no chained low-level exception ("MAC mismatch" traceback) behind it
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_keystore_password_from_environment(tmp_path: Path) -> None:
    path = write_keystore(tmp_path / "op.json", keccak(b"k"))
    s = KeystoreSigner.from_env(path, "MY_PW", env={"MY_PW": PASSWORD})
    assert s.address == Account.from_key(keccak(b"k")).address
    with pytest.raises(AttestationError, match=r"\$MY_PW, which is not set"):
        KeystoreSigner.from_env(path, "MY_PW", env={})
    with pytest.raises(AttestationError, match="op.json: wrong password"):
        load_keystore_signers([path], "MY_PW", env={"MY_PW": "nope"})


def test_missing_and_corrupt_keystores(tmp_path: Path) -> None:
    with pytest.raises(AttestationError, match="nope.json: keystore file not found"):
        KeystoreSigner(tmp_path / "nope.json", PASSWORD)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AttestationError, match="bad.json: not a readable keystore"):
        KeystoreSigner(bad, PASSWORD)
    bad.write_text(json.dumps({"address": "00" * 20}))
    with pytest.raises(AttestationError, match="not an encrypted keystore"):
        KeystoreSigner(bad, PASSWORD)
    # an address field that does not belong to the key: tampered file
    data = json.loads(write_keystore(tmp_path / "t.json", keccak(b"k")).read_text())
    data["address"] = "11" * 20
    bad.write_text(json.dumps(data))
    with pytest.raises(AttestationError, match="does not match its key"):
        KeystoreSigner(bad, PASSWORD)


# ---------------------------------------------------------------- quorum and the double-sign guard


class CountingSigner(UnsafeLocalKeySigner):
    name = "test-counting"

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        self.calls = 0

    def sign_digest(self, digest: bytes) -> bytes:
        self.calls += 1
        return super().sign_digest(digest)


def signers(n: int = 3) -> list[CountingSigner]:
    return [CountingSigner(keccak(b"op-%d" % i)) for i in range(n)]


def ready_round(store: Store, att: Attestation) -> None:
    store.create_round(att.round, {})
    store.advance_round(att.round, RoundState.PROVEN)
    store.save_attestation(att, b"bundle")


def test_quorum_signs_every_feed_domain(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    att = attestation(1)
    ready_round(store, att)
    ss = signers()
    got = QuorumSigner(ss, 2, store).sign_round(att, FEEDS)
    assert sorted(got) == [c for c, _ in FEEDS]
    for chain_id, feed in FEEDS:
        digest = attestation_digest(att, chain_id, feed)
        assert [recover_signer(digest, r.signature) for r in got[chain_id]] == [s.address for s in ss]
        assert store.signatures(1, chain_id) == got[chain_id]
    assert store.get_round(1).state == RoundState.SIGNED  # type: ignore[union-attr]


def test_quorum_refuses_a_second_attestation_for_a_round_also_after_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    store = Store(url)
    att = attestation(1)
    ready_round(store, att)
    ss = signers()
    QuorumSigner(ss, 2, store).sign_round(att, FEEDS)
    calls = [s.calls for s in ss]
    # same attestation again (a restart re-running the step): stored signatures reused, nothing re-signed
    store.close()
    store = Store(url)
    again = QuorumSigner(ss, 2, store).sign_round(att, FEEDS)
    assert [s.calls for s in ss] == calls
    assert again[31337] == store.signatures(1, 31337)
    # different data for the same round: halt, and not one more signature is produced
    other = attestation(1, liabilities=6)
    for q in (QuorumSigner(ss, 2, store), QuorumSigner(ss, 2, Store(url))):
        with pytest.raises(HaltError, match="never signs two digests for the same round"):
            q.sign_round(other, FEEDS)
    assert [s.calls for s in ss] == calls
    assert all(len(store.signatures(1, c)) == 3 for c, _ in FEEDS)


def test_guard_is_per_signer_and_checked_before_any_signature(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    ss = signers()
    # the third signer already signed something else for round 7 (say, in another process)
    store.record_signing_intent(ss[2].address, 7, keccak(b"some other attestation"))
    with pytest.raises(HaltError, match=ss[2].address):
        QuorumSigner(ss, 2, store).sign_round(attestation(7), FEEDS)
    assert all(s.calls == 0 for s in ss) and store.signatures(7) == []


class LyingSigner(UnsafeLocalKeySigner):
    name = "test-lying"

    def sign_digest(self, digest: bytes) -> bytes:
        return UnsafeLocalKeySigner(keccak(b"someone else")).sign_digest(digest)


def test_quorum_checks_what_signers_return(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    with pytest.raises(AttestationError, match="recovers to"):
        QuorumSigner([LyingSigner(keccak(b"x"))], 1, store).sign_round(attestation(1), FEEDS)
    assert store.signatures(1) == []
    with pytest.raises(AttestationError, match="cannot be reached"):
        QuorumSigner(signers(1), 2, store)
    with pytest.raises(AttestationError, match="appears twice"):
        QuorumSigner([UnsafeLocalKeySigner(keccak(b"a")), UnsafeLocalKeySigner(keccak(b"a"))], 1, store)
    with pytest.raises(AttestationError, match=">= 1"):
        QuorumSigner(signers(1), 0, store)


def test_quorum_rejects_a_corrupt_stored_signature_instead_of_reusing_it(tmp_path: Path) -> None:
    """A restart reuses stored signatures; one whose bytes no longer recover to its signer is a
    corrupt database (HaltError), never counted towards the quorum or returned for relaying."""
    import sqlite3

    db = tmp_path / "q.db"
    store = Store(f"sqlite:///{db}")
    att = attestation(1)
    ready_round(store, att)
    ss = signers()
    QuorumSigner(ss, 2, store).sign_round(att, FEEDS)
    chain_id = FEEDS[0][0]
    good = store.signatures(1, chain_id)[1]
    bad = good.signature[:40] + bytes([good.signature[40] ^ 1]) + good.signature[41:]  # flip one bit of s
    con = sqlite3.connect(db)
    con.execute("UPDATE signatures SET signature = ? WHERE round = 1 AND chain_id = ? AND signer = ?",
                ("0x" + bad.hex(), chain_id, good.signer))
    con.commit()
    con.close()
    calls = [s.calls for s in ss]
    with pytest.raises(HaltError, match=f"stored signature of {good.signer} for chain {chain_id} is invalid"):
        QuorumSigner(ss, 2, store).sign_round(att, FEEDS)
    assert [s.calls for s in ss] == calls  # nothing re-signed over the corrupt row
