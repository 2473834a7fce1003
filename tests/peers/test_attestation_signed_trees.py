"""Storage remembers the nodes of every call tree whose root a master signed
(services/peers/signed_trees.py): the other bodies of that call stop hashing at the first known
node. What it must never do is let a body that is not in a signed tree stop there."""

import copy

from pulseledger_testkit.admission import DIGEST_KEY, OPERATOR, attestation_check

from services.ingest.reading import b64
from services.peers import signed_trees
from services.peers.attestation import attest
from services.peers.signed_trees import KEPT_FROM_LEVEL, SignedTrees

DEVICES = [f"dev-{i:03d}" for i in range(64)]  # a path of 6 siblings: room to stop early


def _master():
    from libp2p.crypto.ed25519 import create_new_key_pair
    from libp2p.peer.id import ID

    from services.peers.admission.credential import issue

    key_pair = create_new_key_pair()
    peer_id = ID.from_pubkey(key_pair.public_key).to_base58()
    return key_pair, peer_id, issue(OPERATOR, peer_id, ["master"], 3600)


def _readings(call: int = 0):
    return [{"userId": d, "seq": call + 1, "ts_ms": 1_700_000_000_000 + 1000 * call,
             "heartrate": 60.0 + i % 50 + call, "rr": [850]} for i, d in enumerate(DEVICES)]


def _window(device, readings, attestations):
    return {"device_id": device, "attestations": attestations,
            "readings": [{k: r[k] for k in ("seq", "ts_ms", "heartrate", "rr")}
                         for r in readings if r["userId"] == device]}


def _counting_hashes(monkeypatch) -> list:
    hashed = []
    original = signed_trees.merkle.node_hash
    monkeypatch.setattr(signed_trees.merkle, "node_hash",
                        lambda a, b: hashed.append(1) or original(a, b))
    return hashed


def test_after_one_body__the_calls_other_bodies_stop_at_a_known_node(tmp_path, monkeypatch):
    key_pair, peer_id, credential = _master()
    readings = _readings()
    documents = attest(key_pair, peer_id, credential, readings, DIGEST_KEY)
    check = attestation_check(tmp_path)
    hashed = _counting_hashes(monkeypatch)
    first, *rest = DEVICES
    assert check.window_attested(_window(first, readings, [documents[first]]))
    assert len(hashed) == len(documents[first]["proof"]) == 6  # the whole path, once
    hashed.clear()
    for device in rest:
        assert check.window_attested(_window(device, readings, [documents[device]]))
    # each of the 63 others hashes the levels below the kept ones; beyond that, a node above
    # them is computed at most once (then it is known): fewer than the tree's 16 such nodes —
    # against 6 hashes a body for a whole path
    assert len(hashed) <= KEPT_FROM_LEVEL * len(rest) + len(DEVICES) // 2 ** KEPT_FROM_LEVEL


def test_with_the_tree_known__forged_bodies_and_paths_are_still_refused(tmp_path):
    key_pair, peer_id, credential = _master()
    readings = _readings()
    documents = attest(key_pair, peer_id, credential, readings, DIGEST_KEY)
    check = attestation_check(tmp_path)
    for device in DEVICES:  # every node of the tree known
        assert check.window_attested(_window(device, readings, [documents[device]]))
    a, b = documents[DEVICES[0]], documents[DEVICES[1]]
    moved = copy.deepcopy(a)
    moved["body"]["readings"] = b["body"]["readings"]
    moved["proof"] = moved["proof"] + ["A" * 43]  # another cache key: not the verified copy
    assert not check.window_attested(_window(DEVICES[0], readings, [moved]))
    grown = copy.deepcopy(b)
    grown["body"]["readings"].append([99, "0" * 32])
    grown["proof"] = list(reversed(grown["proof"]))
    assert not check.window_attested(_window(DEVICES[1], readings, [grown]))
    bare = copy.deepcopy(a)  # a genuine body with no path at all: a known leaf is not kept
    bare["proof"] = []
    assert not check.window_attested(_window(DEVICES[0], readings, [bare]))
    short = copy.deepcopy(a)
    short["proof"] = [b64(b"\x01" * 31)] + a["proof"][1:]
    assert not check.window_attested(_window(DEVICES[0], readings, [short]))


def test_a_body_of_one_call_on_another_calls_signature__refused(tmp_path):
    key_pair, peer_id, credential = _master()
    first, second = _readings(0), _readings(1)
    one = attest(key_pair, peer_id, credential, first, DIGEST_KEY)
    two = attest(key_pair, peer_id, credential, second, DIGEST_KEY)
    check = attestation_check(tmp_path)
    for device in DEVICES:  # both trees known
        assert check.window_attested(_window(device, first, [one[device]]))
        assert check.window_attested(_window(device, second, [two[device]]))
    mixed = dict(one[DEVICES[5]], root_sig=two[DEVICES[5]]["root_sig"])
    assert not check.window_attested(_window(DEVICES[5], first, [mixed]))


def test_trees_beyond_the_limit_are_dropped__their_bodies_still_verify(tmp_path):
    key_pair, peer_id, credential = _master()
    calls = [_readings(call) for call in range(3)]
    documents = [attest(key_pair, peer_id, credential, r, DIGEST_KEY) for r in calls]
    check = attestation_check(tmp_path)
    check._trees = SignedTrees(trees_kept=1)
    for device in DEVICES[:8]:
        for readings, attested in zip(calls, documents):
            assert check.window_attested(_window(device, readings, [attested[device]]))
    assert len(check._trees._trees) == 1
