"""RPC faults through a loopback fault-injecting proxy in front of anvil: errors, hangs past the
client timeout, dropped connections, truncated and garbage replies. The cursor must never pass a
block whose events were not recorded, and once the faults stop everything arrives exactly once."""

import random

from pulseledger_testkit.fault_proxy import FaultProxy

from services.listeners.chain import ChainUnavailable
from services.notify import message_id_for

from .harness import build_daemon, smtp_notifier


def test_rpc_faults__cursor_never_passes_an_unprocessed_block(ledger, anvil, contacts,
                                                              smtp_server, tmp_path):
    proxy = FaultProxy(anvil.url, fault_rate=0.0, seed=7, hang_s=0.4).start()
    try:
        daemon = build_daemon("relay", ledger, proxy.url, tmp_path / "state", contacts,
                              smtp_notifier(smtp_server.port), max_blocks_per_query=3)
        proxy.fault_rate = 0.3  # build() read the chain cleanly; from now on reads meet faults
        store = daemon.units[0].store
        rng = random.Random(11)
        faults_seen = 0
        for _ in range(40):
            ledger.random_event(rng)
            try:
                daemon.step()
            except ChainUnavailable:
                faults_seen += 1
            cursor = store.cursor()
            if cursor is None:  # not even the starting point was read yet
                continue
            confirmed = {(tx, index) for tx, index, block in _logs_with_blocks(ledger)
                         if block <= cursor.block_number}
            assert confirmed <= store.handled_positions(), "cursor passed an unprocessed block"
            assert cursor.block_hash == ledger.w3.eth.get_block(cursor.block_number)["hash"].to_0x_hex()
        assert faults_seen > 0 and all(proxy.injected.values())

        proxy.fault_rate = 0.0
        anvil.mine(3)
        daemon.step()
        assert store.handled_positions() == ledger.log_keys()
        counts = smtp_server.message_id_counts()
        assert counts == {message_id_for(key): 1 for key in ledger.emailing_keys()}
        daemon.close()
    finally:
        proxy.stop()


def _logs_with_blocks(ledger):
    for log in ledger.logs():
        yield log["transactionHash"].to_0x_hex(), log["logIndex"], log["blockNumber"]
