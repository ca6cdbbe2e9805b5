from relayer.devnet.anvil import pid_alive, start_anvil
from web3 import Web3


def test_anvil_chains_distinct(anvil_chains):
    ids = set()
    for p in anvil_chains:
        w3 = Web3(Web3.HTTPProvider(p.rpc_url))
        ids.add(w3.eth.chain_id)
        assert w3.eth.block_number >= 0
    assert ids == {31337, 31338, 31339}


def test_stop_kills_the_binary(tmp_path):
    p = start_anvil(4242, log_dir=tmp_path)
    assert pid_alive(p.pid)
    p.stop()
    assert not pid_alive(p.pid)
