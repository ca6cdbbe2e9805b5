"""circom binary formats: the iden3 container, .r1cs and .wtns; judged by snarkjs and by circom's output."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relayer.errors import FormatError, ToolError, UnsatisfiedConstraint
from relayer.tools import circom_cmd, snarkjs_cmd
from relayer.zk.circuit import Circuit
from relayer.zk.examples import make_bench_circuit
from relayer.zk.field import R, ints_to_limbs
from relayer.zk.formats import (
    read_r1cs,
    read_r1cs_file,
    read_sym,
    read_wtns,
    r1cs_to_bytes,
    write_r1cs,
    write_wtns,
    wtns_to_bytes,
)
from relayer.zk.formats.binfile import read_container, write_container
from relayer.zk.formats.wtns_file import read_wtns_limbs
from relayer.zk.gadgets import less_than, merkle_sum_parent, poseidon_hash
from relayer.zk.poseidon import poseidon
from relayer.zk.r1cs import R1CS

ROOT = Path(__file__).resolve().parent.parent


def gadget_circuit() -> tuple[Circuit, dict[str, object]]:
    c = Circuit("formats")
    a, b = c.public_input("a"), c.public_input("b")
    s = c.private_inputs("s", 2)
    h, total = merkle_sum_parent(c, s[0], a, s[1], b, n_bits=32, name="node")
    c.output("h", h)
    c.output("lt", less_than(c, a, b, 32, name="lt"))
    c.output("p", poseidon_hash(c, [total, 3 * a + 1], name="p2"))
    return c, {"a": 17, "b": 1 << 31, "s": [R - 1, 0]}


def snarkjs(*args: str | Path) -> subprocess.CompletedProcess[str]:
    try:
        cmd = snarkjs_cmd()
    except ToolError as e:
        pytest.fail(str(e))
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=120)


# --- container ------------------------------------------------------------------------------------

def test_container_round_trip_and_unknown_sections() -> None:
    data = write_container("r1cs", 1, [(1, b"abc"), (99, b"future"), (2, b"")])
    bf = read_container(data, "r1cs", 1)
    assert bytes(bf.section(1)) == b"abc" and bytes(bf.section(2)) == b""
    assert bf.has(99)  # unknown sections are kept aside, not an error


def test_container_rejects_malformed() -> None:
    good = write_container("r1cs", 1, [(1, b"abc"), (2, b"xyz")])
    with pytest.raises(FormatError, match="not a r1cs file"):
        read_container(b"wtns" + good[4:], "r1cs", 1)
    with pytest.raises(FormatError, match="version 2"):
        read_container(good[:4] + struct.pack("<I", 2) + good[8:], "r1cs", 1)
    for cut in (0, 3, 11, 12, 20, len(good) - 1):
        with pytest.raises(FormatError, match="too short|truncated"):
            read_container(good[:cut], "r1cs", 1)
    with pytest.raises(FormatError, match="trailing"):
        read_container(good + b"\0", "r1cs", 1)
    dup = read_container(write_container("r1cs", 1, [(1, b"a"), (1, b"b")]), "r1cs", 1)
    with pytest.raises(FormatError, match="appears 2 times"):
        dup.section(1)
    with pytest.raises(FormatError, match="section 3 is missing"):
        read_container(good, "r1cs", 1).section(3)


def test_container_from_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        read_r1cs(tmp_path / "nope.r1cs")


# --- .r1cs -----------------------------------------------------------------------------------------

def test_r1cs_round_trip(tmp_path: Path) -> None:
    c, _ = gadget_circuit()
    r = c.compile()
    path = tmp_path / "c.r1cs"
    write_r1cs(path, r)
    f = read_r1cs_file(path)
    back = f.r1cs
    assert (back.n_wires, back.n_pub_out, back.n_pub_in, back.n_prv_in, back.prime) == (
        r.n_wires, r.n_pub_out, r.n_pub_in, r.n_prv_in, r.prime)
    assert back.constraints == r.constraints
    assert f.wire_to_label == list(range(r.n_wires)) and f.n_labels == r.n_wires
    # a label map survives the round trip too
    labels = [0] + [i + 5 for i in range(1, r.n_wires)]
    f2 = read_r1cs_file(r1cs_to_bytes(r, labels, r.n_wires + 10))
    assert f2.wire_to_label == labels and f2.n_labels == r.n_wires + 10


def _r1cs_parts(r: R1CS) -> tuple[bytes, bytes, bytes]:
    bf = read_container(r1cs_to_bytes(r), "r1cs", 1)
    return bytes(bf.section(1)), bytes(bf.section(2)), bytes(bf.section(3))


def _tiny() -> R1CS:
    # w3 = w1 * w2 with w1 public output... : 4 wires, one constraint
    return R1CS(n_wires=4, n_pub_out=1, n_pub_in=1, n_prv_in=1,
                constraints=[({2: 1}, {3: 1}, {1: 1})])


def test_r1cs_rejects_malformed() -> None:
    hdr, cons, wmap = _r1cs_parts(_tiny())

    def build(h: bytes = hdr, c: bytes = cons, m: bytes | None = wmap, extra: list | None = None) -> bytes:
        secs = [(1, h), (2, c)] + ([(3, m)] if m is not None else []) + (extra or [])
        return write_container("r1cs", 1, secs)

    assert read_r1cs(build()).constraints == _tiny().constraints
    assert read_r1cs(build(m=None)).n_wires == 4  # the label map is optional
    assert read_r1cs(build(extra=[(77, b"ignored")])).n_wires == 4

    with pytest.raises(FormatError, match="section 2 is missing"):
        read_r1cs(write_container("r1cs", 1, [(1, hdr), (3, wmap)]))
    with pytest.raises(FormatError, match="section 1 is missing"):
        read_r1cs(write_container("r1cs", 1, [(2, cons), (3, wmap)]))
    with pytest.raises(FormatError, match="appears 2 times"):
        read_r1cs(build(extra=[(2, cons)]))
    with pytest.raises(FormatError, match="appears 2 times"):
        read_r1cs(build(extra=[(1, hdr)]))
    with pytest.raises(FormatError, match="custom gates"):
        read_r1cs(build(extra=[(4, b""), (5, b"")]))
    # header: bad field size, counts beyond the wires, truncated
    with pytest.raises(FormatError, match="multiple of 8"):
        read_r1cs(build(h=struct.pack("<I", 30) + hdr[4:]))
    over = hdr[:36] + struct.pack("<IIII", 4, 2, 1, 1) + hdr[52:]
    with pytest.raises(FormatError, match="inconsistent"):
        read_r1cs(build(h=over))
    with pytest.raises(FormatError, match="truncated"):
        read_r1cs(build(h=hdr[:-2]))
    # constraints: one constraint announced too many, extra bytes, bad wire, unreduced coefficient
    more = hdr[:-4] + struct.pack("<I", 2)
    with pytest.raises(FormatError, match="truncated in constraint 1"):
        read_r1cs(build(h=more))
    with pytest.raises(FormatError, match="beyond"):
        read_r1cs(build(c=cons + b"\0\0\0\0"))
    bad_wire = struct.pack("<II", 1, 9) + (1).to_bytes(32, "little") + cons[40:]
    with pytest.raises(FormatError, match="uses wire 9"):
        read_r1cs(build(c=bad_wire))
    unreduced = struct.pack("<II", 1, 2) + R.to_bytes(32, "little") + cons[40:]
    with pytest.raises(FormatError, match="not reduced"):
        read_r1cs(build(c=unreduced))
    dup = (struct.pack("<II", 2, 2) + (1).to_bytes(32, "little") + struct.pack("<I", 2)
           + (1).to_bytes(32, "little") + cons[40:])
    with pytest.raises(FormatError, match="lists a wire twice"):
        read_r1cs(build(c=dup))
    # label map of the wrong size, or not starting at label 0
    with pytest.raises(FormatError, match="wire->label"):
        read_r1cs(build(m=wmap[:-8]))
    with pytest.raises(FormatError, match="label 0"):
        read_r1cs(build(m=struct.pack("<4Q", 1, 1, 2, 3)))


def test_r1cs_writer_refuses_bad_wire() -> None:
    bad = R1CS(n_wires=2, n_pub_out=0, n_pub_in=1, n_prv_in=0, constraints=[({5: 1}, {0: 1}, {1: 1})])
    with pytest.raises(FormatError, match="wire 5"):
        r1cs_to_bytes(bad)


# --- .wtns -----------------------------------------------------------------------------------------

def test_wtns_round_trip(tmp_path: Path) -> None:
    c, inputs = gadget_circuit()
    w = c.witness(inputs)
    write_wtns(tmp_path / "w.wtns", w)
    assert read_wtns(tmp_path / "w.wtns") == w


def test_wtns_rejects_malformed() -> None:
    good = wtns_to_bytes([1, 2, R - 1])
    bf = read_container(good, "wtns", 2)
    hdr, vals = bytes(bf.section(1)), bytes(bf.section(2))

    def build(h: bytes = hdr, v: bytes = vals) -> bytes:
        return write_container("wtns", 2, [(1, h), (2, v)])

    assert read_wtns(build()) == [1, 2, R - 1]
    with pytest.raises(FormatError, match="announces 3"):
        read_wtns(build(v=vals[:-32]))
    with pytest.raises(FormatError, match="not reduced"):
        read_wtns(build(v=vals[:-32] + R.to_bytes(32, "little")))
    with pytest.raises(FormatError, match="constant 1"):
        read_wtns(build(v=(0).to_bytes(32, "little") + vals[32:]))
    other_prime = hdr[:4] + (R + 2).to_bytes(32, "little") + hdr[36:]
    with pytest.raises(FormatError, match="expected the BN254"):
        read_wtns(build(h=other_prime))
    with pytest.raises(FormatError, match="section 2 is missing"):
        read_wtns(write_container("wtns", 2, [(1, hdr)]))
    with pytest.raises(FormatError, match="not a wtns file"):
        read_wtns(b"r1cs" + good[4:])
    with pytest.raises(FormatError, match="outside"):
        wtns_to_bytes([1, R])
    with pytest.raises(FormatError, match="outside"):
        wtns_to_bytes([1, -1])


def _assert_limbs_equal_ints(arr: np.ndarray, ints: list[int]) -> None:
    """read_wtns_limbs's array is exactly ints_to_limbs(read_wtns(...)): the prover's convention."""
    assert isinstance(arr, np.ndarray) and arr.dtype == np.uint64 and arr.shape == (len(ints), 4)
    assert arr.flags.c_contiguous and arr.flags.writeable
    assert np.array_equal(arr, ints_to_limbs(ints, len(ints)))


def test_wtns_limbs_equal_read_wtns(tmp_path: Path) -> None:
    c, inputs = gadget_circuit()  # includes r - 1, 0, 2^31 and Poseidon outputs
    write_wtns(tmp_path / "w.wtns", c.witness(inputs))
    _assert_limbs_equal_ints(read_wtns_limbs(tmp_path / "w.wtns"), read_wtns(tmp_path / "w.wtns"))
    # every limb boundary: a wrong limb order or byte order would show here
    edges = [1, 0, R - 1, (1 << 64) - 1, 1 << 64, (1 << 128) - 1, 1 << 128, 1 << 192, (1 << 192) - 1,
             R - (1 << 192), 0x0102030405060708_1112131415161718_2122232425262728_3132333435363738 % R]
    data = wtns_to_bytes(edges)
    _assert_limbs_equal_ints(read_wtns_limbs(data), edges)
    # the bench circuit's witness at 2^10 (real sizes, the file the prover benchmark writes)
    circuit, bench_inputs = make_bench_circuit(1 << 10)
    w = circuit.witness(bench_inputs)
    write_wtns(tmp_path / "b.wtns", w)
    _assert_limbs_equal_ints(read_wtns_limbs(tmp_path / "b.wtns"), w)
    # an empty witness is an empty (0, 4) array, as read_wtns gives []
    _assert_limbs_equal_ints(read_wtns_limbs(wtns_to_bytes([])), [])


@settings(max_examples=100, deadline=None)
@given(vals=st.lists(st.integers(0, R - 1), max_size=40))
def test_wtns_limbs_equal_read_wtns_property(vals: list[int]) -> None:
    data = wtns_to_bytes([1, *vals])
    _assert_limbs_equal_ints(read_wtns_limbs(data), read_wtns(data))


# values near r (same top limb as r, above and below it) and anywhere in [0, 2^256)
_NEAR_R = st.one_of(st.integers(R - (1 << 192), R + (1 << 192)), st.integers(0, (1 << 256) - 1), st.sampled_from([R - 1, R]))


@settings(max_examples=150, deadline=None)
@given(vals=st.lists(_NEAR_R, min_size=1, max_size=30))
def test_wtns_limbs_range_check_names_the_first_value_not_below_r(vals: list[int]) -> None:
    """Values written raw (our writer refuses >= r): the limb reader refuses the first one >= r, as read_wtns does."""
    body = b"".join(v.to_bytes(32, "little") for v in [1, *vals])
    hdr = struct.pack("<I", 32) + R.to_bytes(32, "little") + struct.pack("<I", len(vals) + 1)
    data = write_container("wtns", 2, [(1, hdr), (2, body)])
    first_bad = next((i + 1 for i, v in enumerate(vals) if v >= R), None)
    if first_bad is None:
        _assert_limbs_equal_ints(read_wtns_limbs(data), [1, *vals])
        return
    for reader in (read_wtns, read_wtns_limbs):
        with pytest.raises(FormatError, match=rf"witness value {first_bad} is not reduced"):
            reader(data)


def test_wtns_limbs_rejects_malformed(tmp_path: Path) -> None:
    good = wtns_to_bytes([1, 2, R - 1])
    bf = read_container(good, "wtns", 2)
    hdr, vals = bytes(bf.section(1)), bytes(bf.section(2))

    def build(h: bytes = hdr, v: bytes = vals) -> bytes:
        return write_container("wtns", 2, [(1, h), (2, v)])

    _assert_limbs_equal_ints(read_wtns_limbs(build()), [1, 2, R - 1])
    # values >= r, at the last index and in the middle, differing from r in each limb
    for too_big in (R, R + 1, R + (1 << 64), R + (1 << 128), R + (1 << 192), (1 << 256) - 1):
        for at in (1, 2):
            v = bytearray(vals)
            v[32 * at : 32 * at + 32] = too_big.to_bytes(32, "little")
            with pytest.raises(FormatError, match=rf"witness value {at} is not reduced"):
                read_wtns_limbs(build(v=bytes(v)))
    # the constant wire must be 1 (0, and 1 + 2^64 whose low limb alone is 1)
    for first in (0, 1 + (1 << 64)):
        with pytest.raises(FormatError, match=rf"constant 1, found {first}"):
            read_wtns_limbs(build(v=first.to_bytes(32, "little") + vals[32:]))
    # truncated: a value cut off, the header's count larger than the values, the file itself cut
    with pytest.raises(FormatError, match="announces 3"):
        read_wtns_limbs(build(v=vals[:-32]))
    with pytest.raises(FormatError, match="announces 3"):
        read_wtns_limbs(build(v=vals[:-1]))
    for cut in (len(good) - 1, len(good) - 40, 20, 5):
        with pytest.raises(FormatError, match="truncated|too short"):
            read_wtns_limbs(good[:cut])
    (tmp_path / "cut.wtns").write_bytes(good[:-7])
    with pytest.raises(FormatError, match="cut.wtns: truncated"):
        read_wtns_limbs(tmp_path / "cut.wtns")
    # another prime: the BN254 base field q, and r + 2; a 40-byte width over r is not the limb layout
    from relayer.zk.field import Q

    for prime in (Q, R + 2):
        with pytest.raises(FormatError, match="expected the BN254 scalar field"):
            read_wtns_limbs(build(h=hdr[:4] + prime.to_bytes(32, "little") + hdr[36:]))
    wide_hdr = struct.pack("<I", 40) + R.to_bytes(40, "little") + struct.pack("<I", 2)
    wide_vals = b"".join(x.to_bytes(40, "little") for x in (1, 2))
    assert read_wtns(write_container("wtns", 2, [(1, wide_hdr), (2, wide_vals)])) == [1, 2]
    with pytest.raises(FormatError, match="40 bytes wide"):
        read_wtns_limbs(write_container("wtns", 2, [(1, wide_hdr), (2, wide_vals)]))
    with pytest.raises(FormatError, match="section 2 is missing"):
        read_wtns_limbs(write_container("wtns", 2, [(1, hdr)]))
    with pytest.raises(FormatError, match="not a wtns file"):
        read_wtns_limbs(b"r1cs" + good[4:])
    with pytest.raises(FormatError, match="cannot read wtns file"):
        read_wtns_limbs(tmp_path / "missing.wtns")


# --- snarkjs judges our files ----------------------------------------------------------------------

def test_snarkjs_accepts_our_r1cs_and_wtns(tmp_path: Path) -> None:
    c, inputs = gadget_circuit()
    r = c.compile()
    w = c.witness(inputs)
    write_r1cs(tmp_path / "c.r1cs", r)
    write_wtns(tmp_path / "c.wtns", w)
    info = snarkjs("r1cs", "info", tmp_path / "c.r1cs")
    assert info.returncode == 0, info.stderr
    out = info.stdout
    assert f"# of Wires: {r.n_wires}" in out and f"# of Constraints: {r.n_constraints}" in out
    assert f"# of Outputs: {r.n_pub_out}" in out and f"# of Public Inputs: {r.n_pub_in}" in out
    ok = snarkjs("wtns", "check", tmp_path / "c.r1cs", tmp_path / "c.wtns")
    assert ok.returncode == 0 and "WITNESS IS CORRECT" in ok.stdout, ok.stdout + ok.stderr
    # a cheating witness (the Merkle-sum parent claims max instead of the sum) is refused by snarkjs too
    bad = c.witness(inputs, overrides={"node.sum": 1 << 31})
    with pytest.raises(UnsatisfiedConstraint, match="node.sum:eq"):
        r.check(bad)
    write_wtns(tmp_path / "bad.wtns", bad)
    rej = snarkjs("wtns", "check", tmp_path / "c.r1cs", tmp_path / "bad.wtns")
    assert rej.returncode != 0 and "WITNESS IS NOT CORRECT" in rej.stdout


def test_snarkjs_accepts_bench_circuit(tmp_path: Path) -> None:
    circuit, inputs = make_bench_circuit(1 << 10)
    write_r1cs(tmp_path / "b.r1cs", circuit.compile())
    write_wtns(tmp_path / "b.wtns", circuit.witness(inputs))
    ok = snarkjs("wtns", "check", tmp_path / "b.r1cs", tmp_path / "b.wtns")
    assert ok.returncode == 0 and "WITNESS IS CORRECT" in ok.stdout, ok.stdout + ok.stderr


# --- circom's output is read by us ------------------------------------------------------------------

@pytest.fixture(scope="module")
def circom_judge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        cmd = circom_cmd()
    except ToolError as e:
        pytest.fail(str(e))
    out = tmp_path_factory.mktemp("circom")
    # circom2 is WASI: it sees the file system through paths relative to the working directory
    proc = subprocess.run([*cmd, "tests/circuits/judge.circom", "--r1cs", "--wasm", "--sym", "-o", str(out),
                           "-l", "tools/node_modules"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_circom_circuit_is_read_and_its_witness_checked(circom_judge: Path, tmp_path: Path) -> None:
    a, b, secret = 5, 1000, R - 1
    (tmp_path / "in.json").write_text(f'{{"a": "{a}", "b": "{b}", "secret": "{secret}"}}')
    calc = snarkjs("wtns", "calculate", circom_judge / "judge_js" / "judge.wasm", tmp_path / "in.json",
                   tmp_path / "w.wtns")
    assert calc.returncode == 0, calc.stdout + calc.stderr
    f = read_r1cs_file(circom_judge / "judge.r1cs")
    r = f.r1cs
    w = read_wtns(tmp_path / "w.wtns")
    _assert_limbs_equal_ints(read_wtns_limbs(tmp_path / "w.wtns"), w)  # a witness computed by circom's wasm
    assert (r.n_pub_out, r.n_pub_in, r.n_prv_in) == (3, 2, 1)
    assert len(w) == r.n_wires and f.n_labels >= r.n_wires
    r.check(w)
    # outputs h, lt, prod, then public inputs a, b: computed by circom, recomputed here
    assert r.public_signals(w) == [poseidon([a, secret]), 1, (secret * secret * b + a) % R, a, b]
    # our checker rejects a tampered circom witness
    for i in (1, 2, r.n_wires - 1):
        bad = list(w)
        bad[i] = (bad[i] + 1) % R
        assert not r.is_satisfied(bad)
    # rewritten by our writer, the circuit is still the same circuit for snarkjs
    write_r1cs(tmp_path / "again.r1cs", r, f.wire_to_label, f.n_labels)
    assert read_r1cs(tmp_path / "again.r1cs").constraints == r.constraints
    ok = snarkjs("wtns", "check", tmp_path / "again.r1cs", tmp_path / "w.wtns")
    assert ok.returncode == 0 and "WITNESS IS CORRECT" in ok.stdout, ok.stdout + ok.stderr
    info = snarkjs("r1cs", "info", tmp_path / "again.r1cs")
    assert f"# of Labels: {f.n_labels}" in info.stdout

    # circom's symbol file names the wires, for debugging a failing constraint of a circom circuit
    names = read_sym(circom_judge / "judge.sym", r.n_wires)
    assert [names[i] for i in range(1, 7)] == ["main.h", "main.lt", "main.prod", "main.a", "main.b", "main.secret"]
    r.wire_names = names


def test_sym_reader_rejects_garbage(tmp_path: Path) -> None:
    (tmp_path / "x.sym").write_text("1,1,0,main.a\nnot a line\n")
    with pytest.raises(FormatError, match="x.sym:2"):
        read_sym(tmp_path / "x.sym")
    (tmp_path / "y.sym").write_text("1,7,0,main.a\n")
    with pytest.raises(FormatError, match="beyond"):
        read_sym(tmp_path / "y.sym", n_wires=4)
    (tmp_path / "z.sym").write_text("1,1,0,main.a\n2,-1,0,main.gone\n3,1,0,main.alias\n")
    assert read_sym(tmp_path / "z.sym") == {0: "one", 1: "main.a"}


# --- fuzz: any corruption gives FormatError (or a file that still parses), never a crash -----------

_GOOD_R1CS = r1cs_to_bytes(_tiny())
_GOOD_WTNS = wtns_to_bytes([1, 2, 3, R - 1])


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    b = bytearray(data)
    for pos, val in edits:
        b[pos % len(b)] = val
    return bytes(b[:cut] if cut is not None else b)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
       cut=st.one_of(st.none(), st.integers(0, len(_GOOD_R1CS))))
def test_r1cs_reader_fuzz(edits: list[tuple[int, int]], cut: int | None) -> None:
    data = _mutate(_GOOD_R1CS, edits, cut)
    try:
        r = read_r1cs(data)
    except FormatError:
        return
    # whatever parsed is a well-formed system over its own wires
    assert all(0 <= k < r.n_wires and 0 < v < r.prime for con in r.constraints for lc in con for k, v in lc.items())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
       cut=st.one_of(st.none(), st.integers(0, len(_GOOD_WTNS))))
def test_wtns_reader_fuzz(edits: list[tuple[int, int]], cut: int | None) -> None:
    data = _mutate(_GOOD_WTNS, edits, cut)
    try:
        w = read_wtns(data)
    except FormatError:
        return
    assert all(0 <= v < R for v in w) and (not w or w[0] == 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
       cut=st.one_of(st.none(), st.integers(0, len(_GOOD_WTNS))))
def test_wtns_limbs_reader_agrees_with_read_wtns_under_fuzz(edits: list[tuple[int, int]], cut: int | None) -> None:
    """Corrupted files: both readers refuse (FormatError), or both return the same witness."""
    data = _mutate(_GOOD_WTNS, edits, cut)
    try:
        ints = read_wtns(data)
    except FormatError:
        with pytest.raises(FormatError):
            read_wtns_limbs(data)
        return
    _assert_limbs_equal_ints(read_wtns_limbs(data), ints)
