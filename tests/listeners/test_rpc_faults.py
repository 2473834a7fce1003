"""RPC faults through a loopback fault-injecting proxy in front of anvil: errors, hangs past the
client timeout, dropped connections, truncated and garbage replies. The cursor must never pass a
block whose events were not recorded, and once the faults stop everything arrives exactly once."""

import random

from pulseledger_testkit.fault_proxy import FaultProxy
from pulseledger_testkit.flows import RandomTraffic

from services.listeners.chain_reader import ChainUnavailable
from services.notify import message_id_for

from .harness import build_daemon, smtp_notifier


def test_rpc_faults__cursor_never_passes_an_unprocessed_block(pulse, anvil, pulse_contacts,
                                                              smtp_server, tmp_path):
    ledger, contacts = pulse, pulse_contacts
    proxy = FaultProxy(anvil.url, fault_rate=0.0, seed=7, hang_s=0.4).start()
    try:
        daemon = build_daemon("relay", ledger, proxy.url, tmp_path / "state", contacts,
                              smtp_notifier(smtp_server.port), max_blocks_per_query=3)
        proxy.fault_rate = 0.3  # build() read the chain cleanly; from now on reads meet faults
        store = daemon.units[0].store
        traffic = RandomTraffic(ledger, random.Random(11))
        faults_seen = 0
        for _ in range(40):
            traffic.step()
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


def test_rpc_capped_log_ranges__range_halved_until_accepted__backfill_complete(
        pulse, anvil, pulse_contacts, smtp_server, tmp_path):
    """Hosted RPCs refuse wide eth_getLogs queries; the runner halves the range and goes on."""
    proxy = FaultProxy(anvil.url).start()
    try:
        traffic = RandomTraffic(pulse, random.Random(5))
        for _ in range(15):
            traffic.step()
            anvil.mine(5)
        proxy.max_log_range = 8
        daemon = build_daemon("relay", pulse, proxy.url, tmp_path / "state", pulse_contacts,
                              smtp_notifier(smtp_server.port), max_blocks_per_query=2000)
        daemon.step()  # no fault surfaces: the runner narrows the range by itself
        assert proxy.refused_log_ranges > 0
        assert daemon.units[0].store.handled_positions() == pulse.log_keys()
        assert daemon.units[0].store.cursor().block_number == pulse.w3.eth.block_number - 3
        daemon.close()
    finally:
        proxy.stop()
