"""Session tokens and the session secret: valid on every replica that shares the secret, revoked
everywhere by sign-out, rotated without signing anyone out; a replica that would disagree with the
others refuses to start."""

import time

import pytest
from eth_account import Account

from services.gateway.errors import Unauthorized
from services.gateway.sessions import SecretMisconfigured, SessionSigner, agree_on_secrets
from services.gateway.shared_state import MemoryState, RedisState


@pytest.fixture()
def redis_state(redis_server):
    state = RedisState(redis_server.url, prefix=f"test:{time.monotonic_ns()}:", timeout_s=2)
    yield state
    state.close()


def test_sessions__issue_verify_tamper_expire():
    state = MemoryState()
    signer = SessionSigner([b"secret"], 60, state)
    address = Account.create().address
    token, _ = signer.issue(address)
    assert signer.verify(token).address == address
    payload, mac = token.split(".")
    with pytest.raises(Unauthorized, match="signature"):
        signer.verify(payload + "." + ("A" if mac[0] != "A" else "B") + mac[1:])
    with pytest.raises(Unauthorized):
        SessionSigner([b"other"], 60, state).verify(token)
    expired, _ = SessionSigner([b"secret"], -1, state).issue(address)
    with pytest.raises(Unauthorized, match="expired"):
        signer.verify(expired)
    for junk in ("", "a.b.c", "x" * 600, "!!!.???", None, 5):
        with pytest.raises(Unauthorized):
            signer.verify(junk)


def test_sign_out__refused_on_every_replica(redis_state):
    replica_a = SessionSigner([b"shared"], 60, redis_state)
    replica_b = SessionSigner([b"shared"], 60, redis_state)
    token, _ = replica_a.issue(Account.create().address)
    other, _ = replica_a.issue(Account.create().address)
    session = replica_b.verify(token)
    replica_b.revoke(session)
    with pytest.raises(Unauthorized, match="signed out"):
        replica_a.verify(token)
    assert replica_a.verify(other)  # only that session


def test_rotation__old_tokens_accepted_new_ones_signed_with_the_new_secret():
    state = MemoryState()
    old_token, _ = SessionSigner([b"old"], 60, state).issue(Account.create().address)
    rotating = SessionSigner([b"new", b"old"], 60, state)
    assert rotating.verify(old_token)
    new_token, _ = rotating.issue(Account.create().address)
    assert SessionSigner([b"new"], 60, state).verify(new_token)


def test_secrets__one_process_may_use_a_random_secret():
    first = agree_on_secrets(b"", b"", MemoryState())
    assert len(first) == 1 and len(first[0]) == 32
    assert first != agree_on_secrets(b"", b"", MemoryState())


def test_secrets__replicated_without_a_secret__refuses(redis_state):
    with pytest.raises(SecretMisconfigured, match="must be set"):
        agree_on_secrets(b"", b"", redis_state)


def test_secrets__a_replica_with_another_secret__refuses(redis_state):
    assert agree_on_secrets(b"alpha", b"", redis_state) == [b"alpha"]
    assert agree_on_secrets(b"alpha", b"", redis_state) == [b"alpha"]  # the next replica
    with pytest.raises(SecretMisconfigured, match="differs"):
        agree_on_secrets(b"typo", b"", redis_state)
    # Rotation: the new secret with the old one as previous is welcome, and from then on a
    # replica still configured with only the old secret is the one that refuses.
    assert agree_on_secrets(b"beta", b"alpha", redis_state) == [b"beta", b"alpha"]
    with pytest.raises(SecretMisconfigured):
        agree_on_secrets(b"alpha", b"", redis_state)
    assert agree_on_secrets(b"beta", b"", redis_state) == [b"beta"]
