"""Credentials, revocation lists and the operator's commands, without a network: what the gate
accepts and what it refuses, by reason (the network side is tests/peers/test_rogue.py)."""

import json
import time

import pytest
from click.testing import CliRunner

from services.peers.admission.authorization import may_call
from services.peers.admission.cli import operator
from services.peers.admission.credential import Refused, check, issue
from services.peers.admission.local import peer_id_of_key_file
from services.peers.admission.operator_key import load_or_create_operator_key, public_key_from_hex
from services.peers.admission.revocation import Revocations, make_list
from services.peers.admission.signed import sign

PEER = "12D3KooWPeerUnderTest"
never = lambda credential: False


def test_credential__issued_for_the_peer__admits_it_with_its_roles(tmp_path):
    key = load_or_create_operator_key(tmp_path / "operator.key")
    credential = check(key.public_key(), issue(key, PEER, ["storage"], 60), PEER, never)
    assert credential.roles == {"storage"}


@pytest.mark.parametrize(("tamper", "reason"), [
    (lambda doc, key, other: doc | {"credential": {**doc["credential"], "roles": ["master"]}},
     "bad_signature"),
    (lambda doc, key, other: issue(other, PEER, ["storage"], 60), "bad_signature"),
    (lambda doc, key, other: issue(key, "12D3KooWSomeoneElse", ["storage"], 60), "wrong_peer"),
    (lambda doc, key, other: issue(key, PEER, ["storage"], 60, now=time.time() - 120), "expired"),
    (lambda doc, key, other: sign(key, "revocations", doc["credential"]), "bad_signature"),
    (lambda doc, key, other: None, "no_credential"),
])
def test_credential__forged_foreign_or_stale__refused_by_reason(tmp_path, tamper, reason):
    key = load_or_create_operator_key(tmp_path / "operator.key")
    other = load_or_create_operator_key(tmp_path / "other.key")
    document = tamper(issue(key, PEER, ["storage"], 60), key, other)
    with pytest.raises(Refused) as refused:
        check(key.public_key(), document, PEER, never)
    assert refused.value.reason == reason


def test_credential__verified_once__cache_never_admits_what_a_fresh_check_refuses(tmp_path):
    """Checks are memoised by signature (presence notes repeat the same credential): a body
    changed under a cached signature, the same document under another operator, and a cached
    credential once expired or revoked are all still refused."""
    key = load_or_create_operator_key(tmp_path / "operator.key")
    other = load_or_create_operator_key(tmp_path / "other.key")
    document = issue(key, PEER, ["storage"], 60)
    assert check(key.public_key(), document, PEER, never).roles == {"storage"}  # now cached
    forged = {**document, "credential": {**document["credential"], "roles": ["master", "storage"]}}
    for doc, operator_key, reason in [(forged, key, "bad_signature"),
                                      (document, other, "bad_signature")]:
        with pytest.raises(Refused) as refused:
            check(operator_key.public_key(), doc, PEER, never)
        assert refused.value.reason == reason
    with pytest.raises(Refused, match="expired"):
        check(key.public_key(), document, PEER, never, now=time.time() + 120)
    with pytest.raises(Refused, match="revoked"):
        check(key.public_key(), document, PEER, lambda credential: True)
    with pytest.raises(Refused, match="wrong_peer"):
        check(key.public_key(), document, "12D3KooWSomeoneElse", never)
    assert check(key.public_key(), document, PEER, never).roles == {"storage"}


def test_revocations__newer_list_from_file_or_gossip__adopted_older_ignored(tmp_path):
    key = load_or_create_operator_key(tmp_path / "operator.key")
    document = issue(key, PEER, ["storage"], 60)
    serial = document["credential"]["serial"]
    revocations = Revocations(key.public_key(), tmp_path / "revocations.json")
    assert check(key.public_key(), document, PEER, revocations.revoked)
    (tmp_path / "revocations.json").write_text(json.dumps(make_list(key, 1, [serial], [])))
    revocations.reload_if_changed()
    with pytest.raises(Refused, match="revoked"):
        check(key.public_key(), document, PEER, revocations.revoked)
    assert not revocations.adopt_document(make_list(key, 1, [], []))  # not newer
    assert revocations.adopt_document(make_list(key, 2, [], [PEER]))
    assert json.loads((tmp_path / "revocations.json").read_text())["revocations"]["seq"] == 2
    other = load_or_create_operator_key(tmp_path / "other.key")
    assert not revocations.adopt_document(make_list(other, 9, [], []))  # not the operator's


def test_operator_commands__issue_then_revoke__peer_refused(tmp_path):
    runner = CliRunner()
    key_file, listing = tmp_path / "operator.key", tmp_path / "revocations.json"
    public = runner.invoke(operator, ["init", "--key", str(key_file)]).output.strip()
    issued = runner.invoke(operator, ["issue", "--key", str(key_file), "--peer-key",
                                      str(tmp_path / "peer.key"), "--role", "aggregation",
                                      "--valid-days", "1", "--out", str(tmp_path / "cred.json")])
    assert issued.exit_code == 0, issued.output
    peer_id = peer_id_of_key_file(tmp_path / "peer.key")
    document = json.loads((tmp_path / "cred.json").read_text())
    revocations = Revocations(public_key_from_hex(public), listing)
    assert check(revocations.operator, document, peer_id, revocations.revoked).roles == {"aggregation"}
    for _ in range(2):  # each revoke raises seq
        revoked = runner.invoke(operator, ["revoke", "--key", str(key_file), "--list", str(listing),
                                           "--serial", issued.output.strip()])
        assert revoked.exit_code == 0, revoked.output
    revocations.reload_if_changed()
    assert revocations.current.seq == 2
    with pytest.raises(Refused, match="revoked"):
        check(revocations.operator, document, peer_id, revocations.revoked)


def test_authorization__each_op_names_its_callers():
    assert may_call("agg.ingest", frozenset({"master"}))
    assert not may_call("agg.ingest", frozenset({"aggregation", "storage", "notification"}))
    assert not may_call("agg.sync", frozenset({"master"}))
    assert not may_call("store.windows", frozenset({"prediction", "master"}))
    assert not may_call("notify.predictions", frozenset({"master", "storage"}))
    assert not may_call("not.an.op", frozenset({"master", "aggregation"}))
