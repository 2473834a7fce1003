"""Sign-in over HTTP against the real anvil: accounts (either recovery-byte convention), contract
wallets by EIP-1271, replay, sign-out revoking the session."""

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct

from services.gateway.siwe import build_message
from tests.gateway.conftest import DOMAIN, URI, bearer, sign_in

CHAIN_ID = 31337
MAGIC = "1626ba7e"  # EIP-1271: bytes4(keccak256("isValidSignature(bytes32,bytes)"))


def _message(client, address: str) -> str:
    nonce = client.get("/auth/nonce").get_json()["nonce"]
    return build_message(domain=DOMAIN, address=address, uri=URI, chain_id=CHAIN_ID,
                         nonce=nonce, statement="Sign in to PulseLedger.")


def _approving_wallet(message_hash: bytes) -> bytes:
    """Runtime code of a contract wallet that approved exactly one message hash (as a Safe does
    with an on-chain approval): isValidSignature(hash, _) returns the magic value for that hash,
    zero for any other."""
    return bytes.fromhex(
        "600435"            # CALLDATALOAD(4): the hash argument
        "7f" + message_hash.hex() +  # PUSH32 the approved hash
        "14603257"          # EQ, PUSH1 0x32, JUMPI
        "6000600052"        # MSTORE(0, 0)
        "60206000f3"        # RETURN(0, 32): 0x00000000…
        "5b63" + MAGIC +    # JUMPDEST, PUSH4 magic
        "60e01b600052"      # SHL 224, MSTORE(0, magic << 224)
        "60206000f3")       # RETURN(0, 32)


def test_sign_in__contract_wallet__by_eip1271(client, chain):
    wallet = Account.create().address  # a contract, not a key: nobody can sign for it
    text = _message(client, wallet)
    approved = _hash_eip191_message(encode_defunct(text=text))
    chain.w3.provider.make_request("anvil_setCode",
                                   [wallet, "0x" + _approving_wallet(approved).hex()])
    response = client.post("/auth/sign-in", json={"message": text, "signature": "0x"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["address"] == wallet

    other = _message(client, wallet)  # a message the wallet never approved
    refused = client.post("/auth/sign-in", json={"message": other, "signature": "0x"})
    assert refused.status_code == 401
    assert "not by the message's address" in refused.get_json()["message"]


def test_sign_in__signature_with_recovery_byte_0_or_1__accepted(client):
    account = Account.create()
    text = _message(client, account.address)
    signature = bytearray(account.sign_message(encode_defunct(text=text)).signature)
    signature[64] -= 27  # some wallets and hardware signers send v as 0/1
    response = client.post("/auth/sign-in", json={"message": text,
                                                  "signature": "0x" + signature.hex()})
    assert response.status_code == 200, response.get_json()


def test_sign_in__replayed__refused(client):
    account = Account.create()
    text = _message(client, account.address)
    body = {"message": text,
            "signature": account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()}
    assert client.post("/auth/sign-in", json=body).status_code == 200
    replay = client.post("/auth/sign-in", json=body)
    assert replay.status_code == 401 and "already used" in replay.get_json()["message"]


def test_sign_in__wrong_signature__keeps_the_honest_nonce(client):
    account, forger = Account.create(), Account.create()
    text = _message(client, account.address)
    forged = forger.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
    assert client.post("/auth/sign-in", json={"message": text, "signature": forged}) \
        .status_code == 401
    honest = account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
    assert client.post("/auth/sign-in", json={"message": text, "signature": honest}) \
        .status_code == 200


def test_sign_out__the_token_is_refused_afterwards(client):
    token = sign_in(client, Account.create())
    assert client.get("/auth/session", headers=bearer(token)).status_code == 200
    out = client.post("/auth/sign-out", headers=bearer(token))
    assert out.status_code == 200 and "pulseledger_session=;" in out.headers["Set-Cookie"]
    again = client.get("/auth/session", headers=bearer(token))
    assert again.status_code == 401 and "signed out" in again.get_json()["message"]

