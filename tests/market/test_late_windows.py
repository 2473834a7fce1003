"""Windows that arrive after their period was sealed are sold in supplements (parts 1, 2, ... of
the period), on a real anvil, SQLite store and gateway: a buyer of the class fetches and verifies
them like any bundle, and no window is in two bundles."""

from __future__ import annotations

import json

from services.market import buyer as buying
from services.market import registration
from services.market.bundle_ids import bundle_id
from services.market.custodian import Custodian
from services.market.settings import MarketSettings
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
