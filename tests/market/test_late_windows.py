"""Windows that arrive after their period was sealed are sold in supplements (parts 1, 2, ... of
the period), on a real anvil, SQLite store and gateway: a buyer of the class fetches and verifies
them like any bundle, and no window is in two bundles."""

from __future__ import annotations

import json
import os
import time

from services.market import buyer as buying
from services.market import registration
from services.market.bundle_ids import bundle_id
from services.market.custodian import Custodian
from services.market.late_windows import LateWindows
from services.market.settings import MarketSettings
from services.records import ChainIdentity
from services.records.keystore import Keyring
from services.records.sqlite_store import SqliteRecordStore
from services.records.window_payload import sample_payload
from services.stack.gateway_client import GatewayClient
from tests.market.conftest import PERIOD_S, anchor_now, bought, store_windows


def _parts(store, owner: str, start: int) -> list[list[str]]:
    """The window ids of each sealed part of the period, in part order."""
    parts = []
    while True:
        try:
            document = json.loads(store.get_bundle(bundle_id(owner, 0, start, len(parts))))
        except KeyError:
            return parts
        assert document["part"] == len(parts)
        parts.append([w["record_id"] for w in document["windows"]])


def test_window_stored_after_sealing__sold_in_a_supplement_once(
        chain, store, make_patient, custodian, storage_anchor, custodian_account, gateway_url):
    patient = make_patient()
    owner, start = patient.account.address.lower(), patient.period_start_ms
    assert custodian.run_once().registered == 1
    late = store_windows(store, storage_anchor, owner, patient.device_id, [start + 40_000])

    tally = custodian.run_once()
    assert (tally.sealed, tally.registered, tally.errors) == (1, 1, [])
    assert _parts(store, owner, start) == [patient.record_ids, late]
    supplement = bundle_id(owner, 0, start, 1)
    on_chain = registration.registration_of(chain.contract, supplement)
    assert on_chain.status == registration.RECORD_ACTIVE

    # nothing sold twice: neither another round nor a restarted custodian seals anything more
    restarted = Custodian(store, chain.contract, custodian_account,
                          MarketSettings(period_s=PERIOD_S, max_anchor_wait_s=3600),
                          clock=lambda: chain.now() + 0.0)
    for round_ in (custodian.run_once(), restarted.run_once()):
        assert (round_.sealed, round_.registered, round_.errors) == (0, 0, [])
    assert len(_parts(store, owner, start)) == 2

    # a buyer of the class reads the supplement like any bundle, proofs checked on-chain
    buyer, purchase_id = bought(chain, patient.account)
    buying.log_access(chain.contract, buyer, supplement, purchase_id, confirmations=1)
    fetched = buying.fetch(GatewayClient(gateway_url), chain.contract, buyer, supplement,
                           purchase_id)
    assert fetched.verdict.ok and fetched.verdict.windows == 1
    assert [w["record_id"] for w in fetched.document["windows"]] == late


def test_window_anchored_after_the_wait__sold_once_it_anchors(
        chain, store, make_patient, storage_anchor, custodian_account):
    """Part 0 is sealed without a window still waiting for its anchor past `max_anchor_wait_s`;
    that window is sold as soon as it is anchored, not before."""
    patient = make_patient()
    owner, start = patient.account.address.lower(), patient.period_start_ms
    slow = store_windows(store, storage_anchor, owner, patient.device_id, [start + 50_000],
                         anchored=False)
    custodian = Custodian(store, chain.contract, custodian_account,
                          MarketSettings(period_s=PERIOD_S, max_anchor_wait_s=0),
                          clock=lambda: chain.now() + 0.0)
    assert custodian.run_once().registered == 1
    assert _parts(store, owner, start) == [patient.record_ids]
    assert custodian.run_once().sealed == 0  # not anchored yet: not sellable

    anchor_now(store, storage_anchor, slow)
    assert custodian.run_once().registered == 1
    assert _parts(store, owner, start) == [patient.record_ids, slow]
    assert custodian.run_once().registered == 0


def test_follow__a_cursor_the_change_log_no_longer_keeps__reads_what_is_kept(tmp_path, caplog):
    """A patient not followed for longer than the change log keeps (docs/records.md, "The change
    log"): the follower starts again from what is kept, says so, and does not stop on it."""
    store = SqliteRecordStore(tmp_path / "records", ChainIdentity(31337, "0x" + "11" * 32, {}),
                              Keyring(os.urandom(32)))
    follower = LateWindows(store, ledger=None, period_ms=60_000, max_wait_ms=0,
                           anchor_check=lambda _root: True, register=None)
    owner, device = "0x" + "a1" * 20, "12D3KooWDeviceOne"

    def stored(start_ms: int) -> None:
        store.put_window(owner, device, start_ms,
                         sample_payload(0, device_id=device, window_start_ms=start_ms))

    settled_before = {0: 10**15}  # every period settled: each window makes its period a candidate
    stored(0)
    follower.follow(owner, settled_before)
    stored(60_000)  # its change is trimmed before the follower reads it
    store.tables.trim_changes(int(time.time() * 1000) + 1)  # a week later, as the storage peer
    stored(120_000)
    follower.follow(owner, settled_before)
    assert follower._candidates == {(owner, 0, 0), (owner, 0, 120_000)}
    assert "trimmed past our cursor" in caplog.text
    store.close()
