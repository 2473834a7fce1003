"""Replication receipts (services/peers/receipts.py), built and checked without a network: a
replica's receipt covers exactly the readings it names for exactly the primary it names, and
only when another admitted aggregator signed it."""

import copy
import time

import pytest
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from pulseledger_testkit.admission import DIGEST_KEY, OPERATOR

from services.ingest.reading import b64
from services.peers.admission.credential import issue
from services.peers.receipts import ReceiptCheck, readings_digest, sign_receipt
from services.peers.window_store import digest_of

NOW = int(time.time() * 1000)


class Peer:
    def __init__(self, roles=("aggregation",), valid_s: float = 3600, now: float | None = None):
        self.key_pair = create_new_key_pair()
        self.id = ID.from_pubkey(self.key_pair.public_key).to_base58()
        self.credential = issue(OPERATOR, self.id, roles, valid_s, now)


class Revoked:
    def __init__(self, *serials):
        self.serials = set(serials)

    def revoked(self, credential) -> bool:
        return credential.serial in self.serials


def readings(device: str, count: int = 3, heartrate: float = 72.0) -> list[dict]:
    return [{"userId": device, "seq": seq, "ts_ms": NOW + seq * 1000, "heartrate": heartrate,
             "rr": [830, 845], "signal": "rr"} for seq in range(1, count + 1)]


def receipt_for(signer: Peer, primary: str, sent: list[dict], credential=None) -> dict:
    held: dict[str, set] = {}
    for r in sent:
        held.setdefault(r["userId"], set()).add((r["seq"], digest_of(r, DIGEST_KEY)))
    return sign_receipt(signer.key_pair, signer.id, credential or signer.credential, primary, held)


def covered(receipts, primary, sent, revocations=None):
    check = ReceiptCheck(OPERATOR.public_key(), revocations or Revoked())
    return check.covered(receipts, primary, sent, [digest_of(r, DIGEST_KEY) for r in sent])


PRIMARY, REPLICA, MASTER = Peer(), Peer(), Peer(("master", "storage"))
SENT = readings("devA") + readings("devB", 2)


def test_a_replicas_receipt__covers_every_reading_it_names():
    assert covered([receipt_for(REPLICA, PRIMARY.id, SENT)], PRIMARY.id, SENT) == ([True] * 5, [])


def test_receipts_split_over_two_replicas__together_cover_everything():
    other = Peer()
    receipts = [receipt_for(REPLICA, PRIMARY.id, SENT[:3]), receipt_for(other, PRIMARY.id, SENT[3:])]
    assert covered(receipts, PRIMARY.id, SENT)[0] == [True] * 5


def test_the_digest__distinct_sorted_pairs__order_and_repeats_do_not_matter():
    pairs = [(2, "b"), (1, "a")]
    assert readings_digest(pairs) == readings_digest([(1, "a"), (2, "b"), (1, "a")])
    assert readings_digest(pairs) != readings_digest([(1, "a")])


def test_receipt_over_other_readings__covers_nothing_of_that_device():
    fewer = receipt_for(REPLICA, PRIMARY.id, SENT[:2] + SENT[3:])  # devA's third missing
    assert covered([fewer], PRIMARY.id, SENT)[0] == [False, False, False, True, True]
    altered = receipt_for(REPLICA, PRIMARY.id, readings("devA", heartrate=73.0) + SENT[3:])
    assert covered([altered], PRIMARY.id, SENT)[0] == [False, False, False, True, True]


@pytest.mark.parametrize(("forge", "reason"), [
    (lambda: receipt_for(PRIMARY, PRIMARY.id, SENT), "signed_by_primary"),
    (lambda: receipt_for(MASTER, PRIMARY.id, SENT), "not_an_aggregator"),
    # another aggregator's credential, our key: the credential is not for the signer
    (lambda: receipt_for(Peer(), PRIMARY.id, SENT, credential=REPLICA.credential),
     "not_an_aggregator"),
    (lambda: receipt_for(REPLICA, Peer().id, SENT), "other_primary"),
    (lambda: receipt_for(Peer(valid_s=60, now=time.time() - 3600), PRIMARY.id, SENT), "expired"),
    (lambda: {**receipt_for(REPLICA, PRIMARY.id, SENT),
              "sig": b64(REPLICA.key_pair.private_key.sign(b"something else"))}, "bad_signature"),
    (lambda: {**receipt_for(REPLICA, PRIMARY.id, SENT), "credential": None}, "no_credential"),
    (lambda: {"aggregator": 7}, "malformed"),
])
def test_forged_receipts__refused_with_their_reason(forge, reason):
    assert covered([forge()], PRIMARY.id, SENT) == ([False] * 5, [reason])


def test_a_receipt_with_its_body_changed_after_signing__refused():
    receipt = receipt_for(REPLICA, PRIMARY.id, SENT[:3])
    forged = copy.deepcopy(receipt)
    forged["body"]["devices"].append(["devB", readings_digest(
        (r["seq"], digest_of(r, DIGEST_KEY)) for r in SENT[3:])])
    assert covered([forged], PRIMARY.id, SENT) == ([False] * 5, ["bad_signature"])


def test_a_revoked_replica__its_receipts_refused():
    receipt = receipt_for(REPLICA, PRIMARY.id, SENT)
    assert covered([receipt], PRIMARY.id, SENT, Revoked(REPLICA.credential["credential"]["serial"])) \
        == ([False] * 5, ["revoked"])
