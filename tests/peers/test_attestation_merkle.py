"""A master's attestations for one agg.ingest call share one signature over a Merkle root of
every device's body (services/peers/attestation.py): storage accepts a body only on a path to a
root that master signed, verifies each root once, and still accepts the older one-signature-
per-device form."""

import copy

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from pulseledger_testkit.admission import DIGEST_KEY, OPERATOR, attestation_check

from services.ingest.reading import b64
from services.peers.admission.credential import issue
from services.peers.attestation import KIND, attest, attestation_id, signed_bytes


def _master(roles=("master",)):
    key_pair = create_new_key_pair()
    peer_id = ID.from_pubkey(key_pair.public_key).to_base58()
    return key_pair, peer_id, issue(OPERATOR, peer_id, list(roles), 3600)


def _readings(devices=("dev-a", "dev-b", "dev-c"), per_device=3):
    return [{"userId": d, "seq": s, "ts_ms": 1_700_000_000_000 + 1000 * s,
             "heartrate": 60.0 + 10 * i + s, "rr": [850, 860]}
            for i, d in enumerate(devices) for s in range(1, per_device + 1)]


def _window(device, readings, attestations):
    return {"device_id": device, "attestations": attestations,
            "readings": [{k: r[k] for k in ("seq", "ts_ms", "heartrate", "rr")}
                         for r in readings if r["userId"] == device]}


def test_one_signature_per_call__every_device_checks_on_its_path(tmp_path):
    key_pair, peer_id, credential = _master()
    readings = _readings()
    documents = attest(key_pair, peer_id, credential, readings, DIGEST_KEY)
    assert len({d["root_sig"] for d in documents.values()}) == 1
    check = attestation_check(tmp_path)
    verifies = []
    key = check._signed._key(peer_id)
    check._signed._keys[peer_id] = type("Counting", (), {
        "verify": lambda self, data, sig: verifies.append(1) or key.verify(data, sig)})()
    for device, document in documents.items():
        assert check.window_attested(_window(device, readings, [document]))
    assert len(verifies) == 1  # the root, once for the whole call
    # each device's document names it alone, and the names differ (an aggregator keys by them)
    assert len({attestation_id(d) for d in documents.values()}) == len(documents)


def test_body_or_path_changed__refused(tmp_path):
    key_pair, peer_id, credential = _master()
    readings = _readings()
    documents = attest(key_pair, peer_id, credential, readings, DIGEST_KEY)
    check = attestation_check(tmp_path)
    a, b = documents["dev-a"], documents["dev-b"]
    # another device's readings claimed under dev-a's path
    moved = copy.deepcopy(a)
    moved["body"]["readings"] = b["body"]["readings"]
    assert not check.window_attested(_window("dev-a", readings, [moved]))
    # a reading added to a genuine body
    grown = copy.deepcopy(a)
    grown["body"]["readings"].append([99, "0" * 32])
    assert not check.window_attested(_window("dev-a", readings, [grown]))
    # dev-b's genuine body, attested on dev-a's path
    swapped = copy.deepcopy(b)
    swapped["proof"] = a["proof"]
    assert not check.window_attested(_window("dev-b", readings, [swapped]))
    # the genuine documents still pass after the forgeries (no poisoned cache)
    assert check.window_attested(_window("dev-a", readings, [a]))
    assert check.window_attested(_window("dev-b", readings, [b]))


def test_root_signed_by_a_non_master_or_another_key__refused(tmp_path):
    readings = _readings()
    check = attestation_check(tmp_path)
    key_pair, peer_id, credential = _master(roles=("aggregation",))
    self_attested = attest(key_pair, peer_id, credential, readings, DIGEST_KEY)["dev-a"]
    assert not check.window_attested(_window("dev-a", readings, [self_attested]))
    key_pair, peer_id, credential = _master()
    genuine = attest(key_pair, peer_id, credential, readings, DIGEST_KEY)["dev-a"]
    other_key, _, _ = _master()
    resigned = dict(genuine, root_sig=attest(other_key, peer_id, credential, readings,
                                             DIGEST_KEY)["dev-a"]["root_sig"])
    assert not check.window_attested(_window("dev-a", readings, [resigned]))
    assert check.window_attested(_window("dev-a", readings, [genuine]))


def test_older_form__one_signature_per_device__still_accepted(tmp_path):
    key_pair, peer_id, credential = _master()
    readings = _readings(devices=("dev-a",))
    document = attest(key_pair, peer_id, credential, readings, DIGEST_KEY)["dev-a"]
    body = document["body"]
    older = {"master": peer_id, "credential": credential, "body": body,
             "sig": b64(key_pair.private_key.sign(signed_bytes(body)))}
    assert signed_bytes(body).startswith(b'{"body":') and KIND.encode() in signed_bytes(body)
    assert attestation_id(older) == older["sig"]
    assert attestation_check(tmp_path).window_attested(_window("dev-a", readings, [older]))


def test_after_the_genuine_document__a_copy_with_more_readings_still_cannot_add_them(tmp_path):
    """Documents are remembered by (root signature, path): a later copy under that key with a
    body claiming one more reading gets the verified body's readings, and the added one fails."""
    from services.peers.window_store import digest_of

    key_pair, peer_id, credential = _master()
    readings = _readings()
    genuine = attest(key_pair, peer_id, credential, readings, DIGEST_KEY)["dev-a"]
    check = attestation_check(tmp_path)
    assert check.window_attested(_window("dev-a", readings, [genuine]))
    extra = {"userId": "dev-a", "seq": 99, "ts_ms": 1_700_000_099_000, "heartrate": 180.0,
             "rr": [330]}
    grown = copy.deepcopy(genuine)
    grown["body"]["readings"].append([99, digest_of(extra, DIGEST_KEY)])
    assert not check.window_attested(_window("dev-a", readings + [extra], [grown]))
    assert check.window_attested(_window("dev-a", readings, [grown]))  # only what was signed


def test_aggregator_reuses_attested_digests__never_one_seq_digest_for_other_content():
    """An aggregator keys deduplication on the digests its master attested (aggregation_ingest):
    one call can carry a reading and a replay of its seq with other content, and each must keep
    its own digest (a replay given the original's digest would be 'held' at the replica under
    content it does not hold: no receipt, and the master retries it until it dead-letters)."""
    from services.peers.roles.aggregation_ingest import _attested_digests
    from services.peers.window_store import digest_of

    key_pair, peer_id, credential = _master()
    readings = _readings(per_device=2)
    replay = dict(readings[0], heartrate=99.0, rr=[600])  # dev-a seq 1, other content
    sent = readings + [replay]
    documents = attest(key_pair, peer_id, credential, sent, DIGEST_KEY)
    digests = _attested_digests(sent, documents)
    for reading, digest in zip(sent, digests, strict=True):
        assert digest in (None, digest_of(reading, DIGEST_KEY))
    # the readings whose seq is unique in the call are not computed again
    unique = [d for r, d in zip(sent, digests) if (r["userId"], r["seq"]) != ("dev-a", 1)]
    assert None not in unique
