"""`relayer devnet up|down` on real anvil processes: what is deployed answers, `down` stops exactly
the recorded PIDs (and nothing else), up is all-or-nothing, --fork-url and --foreground work."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from contract_helpers import expect_revert
from relayer.attest.eip712 import Attestation, ChainEntry, attestation_digest
from relayer.config import load_config
from relayer.devnet.anvil import pid_alive, start_anvil, stop_pid
from relayer.devnet.deploy import ZERO_ADDRESS, contract
from relayer.devnet.keys import DEV_KEYSTORE_PASSWORD, ensure_operator_keys
from relayer.devnet.manager import _port_free, devnet_down, devnet_up
from relayer.devnet.state import identify_anvil, process_cmdline, process_start_time, read_state
from relayer.errors import ChainError, ConfigError
from devnet_helpers import free_base_port

REPO_ROOT = Path(__file__).resolve().parent.parent
RELAYER = [sys.executable, "-m", "relayer.cli.main"]


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # the tests open the keystores with the documented dev password: do not inherit another one
    full_env = {k: v for k, v in os.environ.items() if k != "RELAYER_KEYSTORE_PASSWORD"} | (env or {})
    return subprocess.run([*RELAYER, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT, env=full_env)


def w3_for(url: str) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))


# --- no anvil needed ---------------------------------------------------------------------------


def test_operator_keystores_created_reused_and_password_checked(tmp_path):
    keys = ensure_operator_keys(tmp_path / "keys", 3, "pw-1")
    assert len({k.address for k in keys}) == 3
    for k in keys:
        assert stat.S_IMODE(k.path.stat().st_mode) == 0o600
        assert Account.from_key(Account.decrypt(json.loads(k.path.read_text()), "pw-1")).address == k.address
    again = ensure_operator_keys(tmp_path / "keys", 3, "pw-1")
    assert [k.address for k in again] == [k.address for k in keys]  # same signers after a restart
    with pytest.raises(ConfigError, match="does not open with the password"):
        ensure_operator_keys(tmp_path / "keys", 3, "wrong")
    (tmp_path / "keys" / "operator-2.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not a readable keystore"):
        ensure_operator_keys(tmp_path / "keys", 3, "pw-1")


def test_identify_refuses_non_anvil_and_reports_dead():
    me = identify_anvil(os.getpid(), 8545, None)
    assert me.status == "foreign" and "not anvil" in me.detail
    p = subprocess.Popen(["sleep", "0"])
    p.wait()
    assert identify_anvil(p.pid, 8545, None).status == "dead"


def test_up_rejects_bad_arguments_before_starting_anything(tmp_path):
    with pytest.raises(ConfigError, match="once per chain"):
        devnet_up(2, tmp_path, base_port=free_base_port(2), fork_urls=["http://127.0.0.1:1"])
    with pytest.raises(ConfigError, match="between 1 and"):
        devnet_up(0, tmp_path)
    # block times: whole seconds in 1..30 (anvil timestamps are whole seconds; the relay's receipt wait is 30 s)
    for bad in (0, -1, 31, 1.5, True):
        with pytest.raises(ConfigError, match="--block-time must be a whole number of seconds"):
            devnet_up(1, tmp_path, base_port=free_base_port(1), block_time=bad)  # type: ignore[arg-type]
    assert read_state(tmp_path) is None and not (tmp_path / "keys").exists()
    r = cli("devnet", "up", "--chains", "2", "--fork-url", "http://x", "--base-port", str(free_base_port(2)),
            "--dir", str(tmp_path))
    assert r.returncode == 2 and "once per chain" in r.stderr, r.stderr
    for bad_cli in ("0", "31", "1.5", "soon"):
        r = cli("devnet", "up", "--chains", "1", "--block-time", bad_cli, "--dir", str(tmp_path))
        assert r.returncode == 2 and "--block-time" in r.stderr, r.stderr
    assert read_state(tmp_path) is None and not (tmp_path / "keys").exists()


def test_down_without_state_is_a_no_op(tmp_path):
    assert devnet_down(tmp_path) is None
    r = cli("devnet", "down", "--dir", str(tmp_path))
    assert r.returncode == 0 and "nothing to stop" in r.stdout


def test_down_rejects_corrupt_state(tmp_path):
    (tmp_path / "devnet.json").write_text("{")
    with pytest.raises(ConfigError, match="unreadable devnet state"):
        devnet_down(tmp_path)


# --- on anvil ------------------------------------------------------------------------------------


@pytest.mark.anvil
def test_up_three_chains_deploys_seeds_and_down_stops_exactly_them(tmp_path):
    base = free_base_port(3)
    devdir = tmp_path / "net"
    r = cli("devnet", "up", "--chains", "3", "--base-port", str(base), "--dir", str(devdir))
    assert r.returncode == 0, r.stderr
    # the table names every chain and contract
    for word in ("devnet-0", "devnet-2", "CollateralVault", "SolvencyFeed", "LendingGuard", "USDC", "WETH", "Groth16Verifier"):
        assert word in r.stdout, word
    assert "mining: automine" in r.stdout  # no --block-time: anvil's default
    state = json.loads((devdir / "devnet.json").read_text())
    assert state["block_time_s"] is None
    chains = state["chains"]
    assert [c["chain_id"] for c in chains] == [31337, 31338, 31339]
    assert [c["port"] for c in chains] == [base, base + 1, base + 2]
    pids = [c["pid"] for c in chains]
    try:
        # `up` has exited: the anvils outlived it, and the PIDs are the anvil binaries themselves
        for c in chains:
            assert identify_anvil(c["pid"], c["port"], c["started_at"]).status == "ours"
            argv = process_cmdline(c["pid"])
            assert argv is not None and Path(argv[0]).name == "anvil" and str(c["chain_id"]) in argv
            assert Path(c["log_path"]).is_file() and Path(c["log_path"]).parent == devdir / "logs"

        operators = [o["address"] for o in state["operators"]]
        keystores = [Path(o["keystore"]) for o in state["operators"]]
        assert len(set(operators)) == 3 and state["quorum"] == 2
        # keystores open with the documented dev password and hold the feed's signers
        assert [Account.from_key(Account.decrypt(json.loads(p.read_text()), DEV_KEYSTORE_PASSWORD)).address
                for p in keystores] == operators

        cfg = load_config(devdir / "chains.toml", env={})
        cfg.check_keystores()
        assert [c.chain_id for c in cfg.chains] == [31337, 31338, 31339]
        assert cfg.relayer.quorum == 2 and [str(k) for k in cfg.relayer.keys] == [str(p) for p in keystores]

        for c, cc in zip(chains, cfg.chains):
            dep = c["deployment"]
            w3 = w3_for(c["rpc_url"])
            assert w3.eth.chain_id == c["chain_id"]
            assert cc.rpc == (c["rpc_url"],) and cc.vault == dep["contracts"]["vault"] and cc.feed == dep["contracts"]["feed"]
            for name in ("vault", "feed", "guard"):
                assert len(w3.eth.get_code(dep["contracts"][name])) > 0, name
            vault = contract(w3, "CollateralVault", dep["contracts"]["vault"])
            assert [a["symbol"] for a in dep["assets"]] == ["USDC", "WETH"]
            for a, ca in zip(dep["assets"], cc.assets):
                assert (ca.token, ca.price_feed, ca.decimals, ca.haircut_bps) == (a["token"], a["price_feed"], a["decimals"], a["haircut_bps"])
                token = contract(w3, "TestERC20", a["token"])
                assert token.functions.decimals().call() == a["decimals"]
                assert token.functions.symbol().call() == a["symbol"]
                deposits = {k: int(v) for k, v in a["deposits"].items()}
                assert len(deposits) >= 3  # several dev accounts deposited
                # the vault holds exactly the seeded deposits, per account and in total
                assert vault.functions.holdings(a["token"]).call() == sum(deposits.values()) == int(a["total_deposited"])
                assert token.functions.balanceOf(vault.address).call() == sum(deposits.values())
                for acct, amount in deposits.items():
                    assert vault.functions.balanceOf(acct, a["token"]).call() == amount
                agg = contract(w3, "PriceAggregator", a["price_feed"])
                assert agg.functions.decimals().call() == 8
                round_id, answer, _, updated, answered_in = agg.functions.latestRoundData().call()
                assert answer == a["price_e8"] > 0 and updated > 0 and round_id == answered_in == 2
                assert agg.functions.getRoundData(1).call()[1] == a["price_e8"] - a["price_e8"] // 100
                assert agg.functions.description().call() == f"{a['symbol']} / USD"
            assert sorted(vault.functions.assets().call()) == sorted(a["token"] for a in dep["assets"])

            feed = contract(w3, "SolvencyFeed", dep["contracts"]["feed"])
            assert feed.functions.signers().call() == operators
            assert feed.functions.threshold().call() == 2
            for op in operators:  # operators can pay for their submissions
                assert w3.eth.get_balance(op) >= 10**18
            # the Groth16 verifier of the devnet's solvency key (issue 5 item 4); no round yet: nothing
            # solvent, the guard refuses
            from relayer.keys_setup import load_solvency_keys
            from relayer.zk.solidity import verifier_contract

            assert feed.functions.verifier().call() == dep["contracts"]["verifier"] != ZERO_ADDRESS
            keys = load_solvency_keys(Path(state["circuit_dir"]))
            assert bytes(verifier_contract(w3, dep["contracts"]["verifier"]).functions.vkHash().call()) == keys.vk_hash
            assert feed.functions.isSolvent(3600).call() is False
            assert feed.functions.latestRoundData().call() == [0, 0, 0, 0, 0]
            guard = contract(w3, "LendingGuard", dep["contracts"]["guard"])
            assert guard.functions.feed().call() == feed.address
            assert feed.functions.subscribers().call() == [guard.address]
            expect_revert(guard.functions.checkFeed(), "FeedIncomplete")
            expect_revert(guard.functions.borrow(1), "FeedIncomplete", {"from": w3.eth.accounts[5]})
            # even a well-formed attestation signed by a quorum of the operators is rejected
            blk = w3.eth.get_block(w3.eth.block_number - 1)  # the feed takes only blocks before its own
            entry = ChainEntry(c["chain_id"], blk["number"], bytes(blk["hash"]), 10**12, 10**11, 10**10, 0, 0,
                               b"\1" * 32, b"\2" * 32, b"\3" * 32)
            att = Attestation.build(1, blk["timestamp"], feed.functions.signerSetVersion().call(), [entry], b"bundle")
            digest = attestation_digest(att, c["chain_id"], feed.address)
            assert feed.functions.hashAttestation(att.as_tuple()).call() == digest
            sigs = []
            for p in keystores[:2]:
                key = Account.decrypt(json.loads(p.read_text()), DEV_KEYSTORE_PASSWORD)
                sigs.append(bytes(Account.unsafe_sign_hash(digest, key).signature))
            # ... whose bundle is no proof: the verifier rejects it
            expect_revert(feed.functions.submit(att.as_tuple(), sigs, b"bundle"), "VerifierReverted")

        st = cli("devnet", "status", "--dir", str(devdir))
        assert st.returncode == 0 and st.stdout.count(" running") == 3 and "NOT running" not in st.stdout
        # a second `up` on the same folder refuses instead of starting a second set
        again = cli("devnet", "up", "--chains", "3", "--base-port", str(free_base_port(3)), "--dir", str(devdir))
        assert again.returncode == 2 and "already running" in again.stderr
    finally:
        down = cli("devnet", "down", "--dir", str(devdir))
    assert down.returncode == 0, down.stderr
    assert down.stdout.count("stopped") == 3
    assert "no devnet recorded" in cli("devnet", "status", "--dir", str(devdir)).stdout
    for pid in pids:
        assert not pid_alive(pid)
    assert not (devdir / "devnet.json").exists() and not (devdir / "chains.toml").exists()
    assert all(_port_free(base + i) for i in range(3))
    # keystores stay, so the next devnet keeps its signers
    assert all(Path(o["keystore"]).exists() for o in state["operators"])


@pytest.mark.anvil
def test_down_on_stale_state_and_foreign_pids(tmp_path, fresh_anvil):
    base = free_base_port(2)
    state = devnet_up(2, tmp_path, base_port=base)
    dead, reused = state["chains"]
    try:
        # chain 0 crashed on its own
        os.kill(dead["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(dead["pid"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        # chain 1's PID now "belongs" to other processes: a sleep, then an anvil on another port
        sleeper = subprocess.Popen(["sleep", "60"])
        recorded = json.loads((tmp_path / "devnet.json").read_text())
        recorded["chains"][1] = {**reused, "pid": sleeper.pid, "started_at": None}
        recorded["chains"].append({**reused, "name": "devnet-x", "pid": fresh_anvil.pid, "started_at": None})
        (tmp_path / "devnet.json").write_text(json.dumps(recorded))
        # a new `up` sees no live devnet anvil, but must not touch the foreign PIDs either
        results = devnet_down(tmp_path)
        assert results is not None
        outcomes = {r.name: r.outcome for r in results}
        assert outcomes["devnet-0"] == "already stopped"
        assert outcomes["devnet-1"].startswith("refused") and "not anvil" in outcomes["devnet-1"]
        assert outcomes["devnet-x"].startswith("refused") and "port" in outcomes["devnet-x"]
        assert sleeper.poll() is None, "down killed a process that is not an anvil"
        assert fresh_anvil.is_alive(), "down killed an anvil on another port"
        # the same PID and port but another start time is a reused PID, not our anvil
        t0 = process_start_time(fresh_anvil.pid)
        assert t0 is not None
        assert identify_anvil(fresh_anvil.pid, fresh_anvil.port, t0).status == "ours"
        assert identify_anvil(fresh_anvil.pid, fresh_anvil.port, t0 - 100).status == "foreign"
        assert not (tmp_path / "devnet.json").exists()
        sleeper.kill()
        sleeper.wait()
    finally:
        # the real chain 1 anvil was hidden from `down` above; stop it by its own PID
        stop_pid(reused["pid"])
        assert not pid_alive(reused["pid"])


@pytest.mark.anvil
def test_up_is_all_or_nothing(tmp_path):
    base = free_base_port(2)
    # a verifier "address" without code makes the second chain's feed deployment revert
    with pytest.raises(ChainError, match="SolvencyFeed"):
        devnet_up(2, tmp_path, base_port=base, verifier_addresses=[None, "0x" + "11" * 20])
    assert read_state(tmp_path) is None and not (tmp_path / "chains.toml").exists()
    deadline = time.monotonic() + 10
    while not all(_port_free(base + i) for i in range(2)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_port_free(base + i) for i in range(2)), "an anvil of the failed up is still listening"
    # a busy port is reported before anything starts
    blocker = start_anvil(31999, port=base + 1, log_dir=tmp_path / "blocker")
    try:
        with pytest.raises(ChainError, match=f"{base + 1}.*in use"):
            devnet_up(2, tmp_path, base_port=base)
        assert read_state(tmp_path) is None and _port_free(base)
    finally:
        blocker.stop()


@pytest.mark.anvil
def test_fork_url_passthrough(tmp_path, fresh_anvil):
    # mark the source chain so that the fork can be recognised
    src = w3_for(fresh_anvil.rpc_url)
    marker = "0x" + "42" * 20
    src.provider.make_request("anvil_setCode", [marker, "0x6001600101"])
    src.provider.make_request("anvil_mine", ["0x7"])
    src_block = src.eth.block_number
    base = free_base_port(2)
    r = cli("devnet", "up", "--chains", "2", "--base-port", str(base), "--dir", str(tmp_path),
            "--fork-url", fresh_anvil.rpc_url, "--fork-url", "none", "--json")
    try:
        assert r.returncode == 0, r.stderr
        state = json.loads(r.stdout)
        forked, plain = state["chains"]
        assert forked["fork_url"] == fresh_anvil.rpc_url and plain["fork_url"] is None
        assert "--fork-url" in process_cmdline(forked["pid"]) and "--fork-url" not in process_cmdline(plain["pid"])
        fw3, pw3 = w3_for(forked["rpc_url"]), w3_for(plain["rpc_url"])
        assert fw3.eth.chain_id == 31337 and pw3.eth.chain_id == 31338
        # the fork carries the source's state and history; the plain chain does not
        assert fw3.eth.get_code(marker).hex().removeprefix("0x") == "6001600101"
        assert pw3.eth.get_code(marker) == b""
        assert fw3.eth.block_number > src_block
        # and the devnet deployed on top of the fork
        dep = forked["deployment"]
        assert contract(fw3, "CollateralVault", dep["contracts"]["vault"]).functions.holdings(
            dep["assets"][0]["token"]).call() == int(dep["assets"][0]["total_deposited"])
        # the source chain itself is untouched by what was deployed on its fork
        assert src.eth.get_code(dep["contracts"]["vault"]) == b""
    finally:
        d = cli("devnet", "down", "--dir", str(tmp_path))
    assert d.returncode == 0 and d.stdout.count("stopped") == 2
    assert fresh_anvil.is_alive()


@pytest.mark.anvil
def test_block_time_mines_blocks_without_transactions(tmp_path):
    """`devnet up --block-time 1`: the chain's head advances with no transaction sent (anvil interval
    mining; without the flag, automine makes blocks only for transactions), and the state and
    `devnet status` record the block time."""
    base = free_base_port(1)
    r = cli("devnet", "up", "--chains", "1", "--block-time", "1", "--base-port", str(base), "--dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    try:
        assert "mining: a block every 1 s" in r.stdout
        state = read_state(tmp_path)
        assert state is not None and state["block_time_s"] == 1
        chain = state["chains"][0]
        # the anvil itself was started with the block time (not only switched to it over RPC)
        argv = process_cmdline(chain["pid"])
        assert argv is not None and argv[argv.index("--block-time") + 1] == "1"
        w3 = w3_for(chain["rpc_url"])
        assert w3.provider.make_request("anvil_getIntervalMining", [])["result"] == 1
        assert w3.provider.make_request("anvil_getAutomine", [])["result"] is False
        # deployed and seeded as usual (under automine, then switched back to the interval)
        dep = chain["deployment"]
        assert w3.eth.get_code(dep["contracts"]["vault"]) != b"" and dep["contracts"]["verifier"] != ZERO_ADDRESS
        head = w3.eth.block_number
        time.sleep(2.5)  # no transaction sent: only the interval can mine
        new_head = w3.eth.block_number
        assert new_head >= head + 2, (head, new_head)
        blocks = [w3.eth.get_block(n) for n in range(head + 1, new_head + 1)]
        assert all(len(b["transactions"]) == 0 for b in blocks)
        # one block per second: timestamps strictly increase
        stamps = [w3.eth.get_block(head)["timestamp"], *(b["timestamp"] for b in blocks)]
        assert all(a < b for a, b in zip(stamps, stamps[1:])), stamps
        st = cli("devnet", "status", "--dir", str(tmp_path))
        assert st.returncode == 0 and "mining: a block every 1 s" in st.stdout, st.stderr
        st_json = cli("devnet", "status", "--json", "--dir", str(tmp_path))
        assert json.loads(st_json.stdout)["block_time_s"] == 1
    finally:
        d = cli("devnet", "down", "--dir", str(tmp_path))
    assert d.returncode == 0 and "stopped" in d.stdout


def _wait_for_state(devdir: Path, proc: subprocess.Popen[str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = read_state(devdir) if (devdir / "devnet.json").exists() else None
        if st and (devdir / "chains.toml").exists() and all(c["deployment"] for c in st["chains"]):
            return st
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("devnet did not come up")


@pytest.mark.anvil
@pytest.mark.parametrize("how", ["sigterm", "demo-ctrl-c"])
def test_foreground_tears_down_on_signal(tmp_path, how):
    base = free_base_port(1)
    devdir = tmp_path / "fg"
    if how == "sigterm":
        cmd = [*RELAYER, "devnet", "up", "--chains", "1", "--foreground", "--base-port", str(base), "--dir", str(devdir)]
        sig = signal.SIGTERM
    else:
        # the README's main-job command (3 chains and the relayer, relayer/pipeline/demo.py): Ctrl-C
        # while it runs stops its chains too
        base = free_base_port(3)
        cmd = [str(REPO_ROOT / "scripts" / "demo"), "--base-port", str(base), "--dir", str(devdir)]
        sig = signal.SIGINT
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    try:
        st = _wait_for_state(devdir, proc)
        pid = st["chains"][0]["pid"]
        assert identify_anvil(pid, base, st["chains"][0]["started_at"]).status == "ours"
        time.sleep(0.5)
        assert proc.poll() is None  # still in the foreground
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            devnet_down(devdir)
    if how == "sigterm":
        assert proc.returncode == 0, err
        assert "stopped" in out and "SolvencyFeed" in out
    else:
        assert proc.returncode == 130, err
        assert "chains stopped" in out and "interrupted" in out
    assert not pid_alive(pid)
    assert read_state(devdir) is None


@pytest.mark.anvil
def test_up_replaces_state_of_a_crashed_devnet(tmp_path):
    first = devnet_up(1, tmp_path, base_port=free_base_port(1))
    pid = first["chains"][0]["pid"]
    stop_pid(pid)  # the anvil dies behind the state file's back
    second = devnet_up(1, tmp_path, base_port=free_base_port(1))
    try:
        assert second["chains"][0]["pid"] != pid
        # without --block-time: anvil's automine, recorded as such
        assert second["block_time_s"] is None and read_state(tmp_path)["block_time_s"] is None
        w3 = w3_for(second["chains"][0]["rpc_url"])
        assert w3.provider.make_request("anvil_getAutomine", [])["result"] is True
        # same keystores, so the same feed signers as before the crash
        assert [o["address"] for o in second["operators"]] == [o["address"] for o in first["operators"]]
        assert read_state(tmp_path)["chains"][0]["pid"] == second["chains"][0]["pid"]
    finally:
        results = devnet_down(tmp_path)
    assert results is not None and [r.outcome for r in results] == ["stopped"]


@pytest.mark.anvil
def test_foreground_notices_a_dead_anvil(tmp_path):
    base = free_base_port(1)
    proc = subprocess.Popen([*RELAYER, "devnet", "up", "--chains", "1", "--foreground", "--base-port", str(base),
                             "--dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        st = _wait_for_state(tmp_path, proc)
        stop_pid(st["chains"][0]["pid"])
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            devnet_down(tmp_path)
    assert proc.returncode == ChainError.exit_code, err
    assert "exited on its own" in err
    assert read_state(tmp_path) is None


def test_ensure_keys_says_why_a_key_folder_is_not_reused(tmp_path, monkeypatch):
    """A key folder that exists but does not load (here: its VK no longer matches the hash its
    metadata records) is replaced only with the reason shown, never silently."""
    import relayer.devnet.solvency as sol
    from relayer.keys_setup import CircuitSpec

    made: list[Path] = []
    monkeypatch.setattr(sol, "setup_solvency_keys", lambda d, spec, backend: made.append(d) or "new keys")
    spec = CircuitSpec(sol.DEFAULT_CAPACITY)
    said: list[str] = []
    # no folder yet: the normal first run, nothing to explain
    assert sol.ensure_keys(tmp_path / "none", spec, progress=said.append) == "new keys"
    assert said[-1].startswith("development setup") and "do not load" not in said[-1]
    # a folder whose files do not load: the reason is part of the message
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "circuit.json").write_text("{not json")
    assert sol.ensure_keys(broken, spec, progress=said.append) == "new keys"
    assert "do not load" in said[-1] and str(broken) in said[-1]
    assert made == [tmp_path / "none", broken]
