"""Buyer reads after the caches are warm, on a real anvil: a revocation, a retirement or an
erasure wins on the very next read; the raw JSON-RPC batch decodes what web3 decodes; refusals of
the node become clear errors."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.gateway.chain_reads import RawReads
from services.gateway.errors import Unavailable
from services.gateway.ledger import ChainReverted
from services.runtime.bounded_cache import BoundedCache
from tests.gateway.conftest import age_past_recheck, bearer, flip_stored_ciphertext, sign_in


def _read(client, sale, token):
    return client.get(f"/records/{sale.record_id}",
                      query_string={"purchase_id": sale.purchase_id}, headers=bearer(token))


def _parts(client):
    return client.application.extensions["pulseledger_gateway"].label_parts


def _warm(client, sale):
    """Two served reads: the confirmed AccessLogged is now cached, and so are the bundle's
    pieces between subject markers (label_parts.py), which the next read would join."""
    token = sign_in(client, sale.buyer)
    for _ in range(2):
        response = _read(client, sale, token)
        assert response.status_code == 200 and response.data == sale.plaintext
    assert sale.record_id in _parts(client)
    return token


def test_read__warm_parts__row_checked_not_decrypted_until_recheck_then_decrypted_again(
        client, market, store, monkeypatch):
    from services.market import pseudonyms

    sale = market.sale()
    token = _warm(client, sale)
    decrypted, row_checked = [], []
    get_bundle, check_row = store.get_bundle, store.check_bundle_row
    monkeypatch.setattr(store, "get_bundle", lambda *a, **k: decrypted.append(1) or get_bundle(*a, **k))
    monkeypatch.setattr(store, "check_bundle_row",
                        lambda *a, **k: row_checked.append(1) or check_row(*a, **k))
    monkeypatch.setattr(pseudonyms, "unlabelled_parts", lambda *a: pytest.fail("cut again"))

    response = _read(client, sale, token)
    assert response.status_code == 200 and response.data == sale.plaintext
    assert (decrypted, row_checked) == ([], [1])

    age_past_recheck(client)
    response = _read(client, sale, token)
    assert response.status_code == 200 and response.data == sale.plaintext
    assert (decrypted, row_checked) == ([1], [1])  # the ciphertext read and authenticated again
    response = _read(client, sale, token)
    assert (decrypted, row_checked) == ([1], [1, 1])  # and the recheck clock starts again


def test_read__ciphertext_flipped_after_served_reads__registered_bytes_then_tamper_refused(
        client, market, store):
    """A byte of the stored ciphertext flipped at rest while its pieces are warm: reads within
    LABEL_PARTS_RECHECK_S still serve the registered bytes (cut from the authenticated
    ciphertext), the first read after it finds the tampering, refuses and drops the pieces."""
    sale = market.sale()
    token = _warm(client, sale)
    flip_stored_ciphertext(store, sale.record_id)

    within = _read(client, sale, token)
    assert within.status_code == 200 and within.data == sale.plaintext

    age_past_recheck(client)
    after = _read(client, sale, token)
    assert after.status_code == 502 and after.get_json()["error"] == "tampering_detected"
    assert sale.plaintext not in after.data
    assert sale.record_id not in _parts(client)
    again = _read(client, sale, token)  # no pieces left to serve it from
    assert again.status_code == 502


def test_read__stored_version_replaced_behind_the_registry__refused_and_parts_dropped(client, market, store):
    """A new version in the store that the registry does not name: the store's full check
    refuses it, warm pieces of the old one or not, and the pieces are dropped."""
    sale = market.sale()
    token = _warm(client, sale)
    row = store.tables.get("bundles", sale.record_id)
    store.put_bundle(row["owner"], sale.record_id, row["data_class"], b"other bytes",
                     version=row["version"] + 1)
    response = _read(client, sale, token)
    assert response.status_code == 502 and sale.plaintext not in response.data
    assert sale.record_id not in _parts(client)


def test_read__consent_revoked_after_served_reads__refused_on_the_very_next_read(
        client, market, chain):
    sale = market.sale()
    token = _warm(client, sale)
    chain.send(sale.patient, chain.contract.functions.revoke(sale.request_id))
    response = _read(client, sale, token)
    assert response.status_code == 403 and response.get_json()["error"] == "no_consent"
    assert sale.plaintext not in response.data


def test_read__record_retired_after_served_reads__410_on_the_very_next_read(client, market, chain):
    sale = market.sale()
    token = _warm(client, sale)
    chain.send(sale.patient, chain.contract.functions.retireRecord(
        bytes.fromhex(sale.record_id[2:])))
    response = _read(client, sale, token)
    assert response.status_code == 410 and response.get_json()["error"] == "retired"


def test_read__erased_after_served_reads__410_nothing_served(client, market, store):
    sale = market.sale()
    token = _warm(client, sale)
    store.erase(sale.record_id)
    for path in ("", "/ciphertext"):
        response = client.get(f"/records/{sale.record_id}{path}",
                              query_string={"purchase_id": sale.purchase_id},
                              headers=bearer(token))
        assert response.status_code == 410 and response.get_json()["error"] == "erased"
        assert sale.plaintext not in response.data
    assert sale.record_id not in _parts(client)  # dropped when seen


def test_read__key_lost_after_served_reads__502_nothing_served(client, market, store):
    sale = market.sale()
    token = _warm(client, sale)
    store.keys.destroy([store.tables.get("bundles", sale.record_id)["key_ref"]])
    response = _read(client, sale, token)
    assert response.status_code == 502 and response.get_json()["error"] == "key_missing"


def test_buyer_view__raw_batch_decodes_as_web3(ledger, market):
    sale = market.sale()
    record_id = bytes.fromhex(sale.record_id[2:])
    for _ in range(2):  # cold, then with the confirmed AccessLogged cached
        view = ledger.buyer_view(sale.buyer.address, record_id, sale.purchase_id)
        assert view["record"] == ledger.get_record(record_id)
        assert view["request"] == ledger.get_request(sale.request_id)
        assert view["purchase"] == ledger.get_purchase(sale.purchase_id)
        assert view["consent_in_force"] is True and view["access_logged"] is True
        assert view["head"] == ledger.head()


def test_buyer_view__reverted_call__chain_reverted_with_the_error_name(ledger):
    reads = RawReads(ledger._settings.rpc_url, 5, ledger.contract.address, ledger.contract.abi)
    with pytest.raises(ChainReverted, match="ConsentRegistry"):
        ledger._raw([reads.call("approve", 10**9)])  # no such request: a custom error


def test_raw_reads__node_answers_garbage__unavailable():
    class Garbage(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>not json-rpc</html>")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        reads = RawReads(f"http://127.0.0.1:{server.server_port}", 5, "0x" + "11" * 20, [])
        with pytest.raises(Unavailable, match="chain unavailable"):
            reads.batch([("eth_blockNumber", [])])
    finally:
        server.shutdown()
        server.server_close()


def test_raw_reads__proxy_from_the_environment__posts_through_it(monkeypatch):
    """HTTP_PROXY is honoured as requests would honour it (the node behind a forward proxy)."""
    seen = []

    class ForwardProxy(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.path)
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'[{"jsonrpc":"2.0","id":1,"result":"0x2a"}]'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), ForwardProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        reads = RawReads("http://127.0.0.2:9/rpc", 5, "0x" + "11" * 20, [])
        assert reads.batch([("eth_blockNumber", [])]) == ["0x2a"]
        assert seen == ["http://127.0.0.2:9/rpc"]  # an absolute target: sent to the proxy
    finally:
        server.shutdown()
        server.server_close()


def test_bounded_cache__least_recently_used_goes_first():
    cache = BoundedCache(2)
    cache.add("a", 1)
    cache.add("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.add("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2


def test_buyer_view__reused_only_while_the_head_is_the_same(ledger, market, chain):
    """At one head a second read asks the node only for its latest block; after a new block (any
    transaction) everything is read again, pinned to that block."""
    sale = market.sale()
    record_id = bytes.fromhex(sale.record_id[2:])
    batches = []
    batch = ledger._reads.batch
    ledger._reads.batch = lambda calls: batches.append([m for m, _ in calls]) or batch(calls)
    try:
        first = ledger.buyer_view(sale.buyer.address, record_id, sale.purchase_id)
        at_first = len(batches)
        again = ledger.buyer_view(sale.buyer.address, record_id, sale.purchase_id)
        assert batches[at_first:] == [["eth_getBlockByNumber"]] and again == first
        chain.mine()
        later = ledger.buyer_view(sale.buyer.address, record_id, sale.purchase_id)
    finally:
        del ledger._reads.batch
    assert batches[at_first + 1][0] == "eth_getBlockByNumber"
    assert batches[at_first + 2].count("eth_call") == 4
    assert later["head"] == first["head"] + 1
