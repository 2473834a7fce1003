"""The kept-state HMAC gives the standard library's bytes for every key and message length:
keys shorter than, equal to and longer than SHA-256's block (hashed first), empty messages, and
more keys than it keeps."""

import hashlib
import hmac
import os

import pytest

from services.runtime.keyed_sha256 import hmac_sha256_hex

KEY_LENGTHS = [0, 1, 32, 63, 64, 65, 200]
MESSAGE_LENGTHS = [0, 1, 33, 55, 56, 64, 1000]


@pytest.mark.parametrize("key_length", KEY_LENGTHS)
@pytest.mark.parametrize("message_length", MESSAGE_LENGTHS)
def test_equals_hmac_new(key_length, message_length):
    key, message = os.urandom(key_length), os.urandom(message_length)
    assert hmac_sha256_hex(key, message) == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_many_keys__each_still_its_own():
    keys = [os.urandom(32) for _ in range(40)]
    for _ in range(2):  # the second pass after the kept states were dropped at least once
        for key in keys:
            assert hmac_sha256_hex(key, b"reading") == hmac.new(key, b"reading",
                                                                hashlib.sha256).hexdigest()


def test_same_message_twice__same_digest():
    """The kept states are copied, never advanced: a second call starts from the key alone."""
    key = os.urandom(32)
    assert hmac_sha256_hex(key, b"a") == hmac_sha256_hex(key, b"a") != hmac_sha256_hex(key, b"b")


def test_key_as_bytearray_or_memoryview__same_digest():
    key = os.urandom(32)
    expected = hmac.new(key, b"m", hashlib.sha256).hexdigest()
    assert hmac_sha256_hex(bytearray(key), b"m") == hmac_sha256_hex(memoryview(key), b"m") == expected
