"""Seal.text_opener, the loop form a window store reads its readings with, opens what open()
opens, refuses what open() refuses, and reads a value from before sealing as it was."""

import os

import pytest
from cryptography.exceptions import InvalidTag

from services.runtime.at_rest_seal import Seal

TAG = b"\x00S1"


def test_text_opener_opens_as_open_does():
    seal = Seal(os.urandom(32), TAG)
    opened = seal.text_opener()
    sealed = seal.seal(b"72.5|[812, 790]", b"dev\x003")
    assert opened(sealed, "dev\x003") == seal.open(sealed, b"dev\x003").decode() == "72.5|[812, 790]"
    assert opened(memoryview(sealed), "dev\x003") == "72.5|[812, 790]"
    assert opened(b"61.0|[]", "dev\x004") == "61.0|[]"  # stored before sealing


def test_text_opener_refuses_another_rows_value_and_another_key():
    seal = Seal(os.urandom(32), TAG)
    sealed = seal.seal(b"72.5|[]", b"dev\x003")
    with pytest.raises(InvalidTag):
        seal.text_opener()(sealed, "dev\x004")
    with pytest.raises(InvalidTag):
        Seal(os.urandom(32), TAG).text_opener()(sealed, "dev\x003")
