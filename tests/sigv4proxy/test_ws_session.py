"""One WebSocket session's books (services/sigv4proxy/ws_session.py), without sockets: ids,
subscriptions, what may reach the client."""

import json

import pytest

from services.sigv4proxy.jsonrpc import Call, Refusal
from services.sigv4proxy.ws_session import ChainAnswer, Dropped, ToClient, WsSession

CHAIN = 31337
SECRET = b"0123456789abcdef0123456789abcdef"


def _session(max_subscriptions: int = 2, max_in_flight: int = 8) -> WsSession:
    return WsSession(CHAIN, max_subscriptions, max_in_flight, (SECRET,))


def _answer(message: str, **result) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": json.loads(message)["id"], **result})


def _subscribe(session: WsSession, sub_id: str, client_id=1) -> None:
    sent = session.outgoing(Call("eth_subscribe", ["newHeads"], client_id))
    answer = session.incoming(_answer(sent, result=sub_id))
    assert json.loads(answer.text) == {"jsonrpc": "2.0", "id": client_id, "result": sub_id}


def test_ids__the_proxys_upstream__the_clients_back():
    session = _session()
    sent = json.loads(session.outgoing(Call("eth_blockNumber", [], "client-7")))
    assert sent["id"] != "client-7"
    answer = session.incoming(json.dumps({"jsonrpc": "2.0", "id": sent["id"], "result": "0x5"}))
    assert json.loads(answer.text) == {"jsonrpc": "2.0", "id": "client-7", "result": "0x5"}
    assert session.incoming(json.dumps({"jsonrpc": "2.0", "id": sent["id"], "result": "0x5"})) == (
        Dropped("unknown_id")  # answered once only
    )


def test_cap__counts_live_and_pending__unknown_unsubscribe_refused():
    session = _session(max_subscriptions=2)
    _subscribe(session, "0xa")
    pending = session.outgoing(Call("eth_subscribe", ["newHeads"], 2))  # not answered yet
    with pytest.raises(Refusal) as over:
        session.outgoing(Call("eth_subscribe", ["newHeads"], 3))
    assert over.value.code == -32005
    for made_up in ("0xb", "0xdead"):
        with pytest.raises(Refusal):
            session.outgoing(Call("eth_unsubscribe", [made_up], 4))
    session.incoming(_answer(pending, error={"code": -32000, "message": "no"}))  # it failed
    _subscribe(session, "0xc", 5)
    assert session.subscriptions == {"0xa", "0xc"}


def test_unsubscribe__counted_only_when_the_upstream_confirms():
    session = _session(max_subscriptions=1)
    _subscribe(session, "0xa")
    sent = session.outgoing(Call("eth_unsubscribe", ["0xa"], 2))
    with pytest.raises(Refusal):  # the same id again while the first is pending
        session.outgoing(Call("eth_unsubscribe", ["0xa"], 3))
    session.incoming(_answer(sent, result=False))
    assert session.subscriptions == {"0xa"}
    sent = session.outgoing(Call("eth_unsubscribe", ["0xa"], 4))
    session.incoming(_answer(sent, result=True))
    assert session.subscriptions == set()


def test_notifications__only_for_this_sessions_subscriptions__never_with_a_secret():
    session = _session()
    _subscribe(session, "0xa")

    def note(sub: str, result) -> str:
        params = {"subscription": sub, "result": result}
        return json.dumps({"jsonrpc": "2.0", "method": "eth_subscription", "params": params})

    assert isinstance(session.incoming(note("0xa", {"number": "0x1"})), ToClient)
    assert session.incoming(note("0xb", {})) == Dropped("unknown_subscription")
    assert session.incoming(note("0xa", SECRET.decode())) == Dropped("credential_in_reply")
    assert session.incoming(note({"x": 1}, {})) == Dropped("unknown_subscription")


def test_chain_checks__answered_to_the_proxy__wrong_chain_from_any_eth_chain_id():
    session = _session()
    proxy_id, message = session.chain_check()
    answer = session.incoming(_answer(message, result=hex(CHAIN)))
    assert answer == ChainAnswer(proxy_id, CHAIN, True)
    proxy_id, message = session.chain_check()
    assert session.incoming(_answer(message, result="0x4d2")) == ChainAnswer(proxy_id, 1234, False)
    proxy_id, message = session.chain_check()
    failed = session.incoming(_answer(message, error={"code": -32000, "message": "busy"}))
    assert failed == ChainAnswer(proxy_id, None, False)
    client_call = session.outgoing(Call("eth_chainId", [], 9))
    answer = session.incoming(_answer(client_call, result="0x4d2"))
    assert isinstance(answer, ChainAnswer) and not answer.ok  # never relayed to the client


def test_answer_quoting_a_secret__withheld():
    session = _session()
    sent = session.outgoing(Call("eth_blockNumber", [], 1))
    answer = session.incoming(_answer(sent, error={"code": 1, "message": SECRET.decode()}))
    assert SECRET.decode() not in answer.text
    assert json.loads(answer.text)["error"]["message"] == "upstream answer withheld"


def test_in_flight__bounded():
    session = _session(max_in_flight=2)
    session.outgoing(Call("eth_blockNumber", [], 1))
    session.outgoing(Call("eth_blockNumber", [], 2))
    with pytest.raises(Refusal) as refused:
        session.outgoing(Call("eth_blockNumber", [], 3))
    assert refused.value.code == -32005


def test_answer_quoting_a_secret_in_json_escapes__withheld():
    """`\\u0030...` decodes to the secret in the client's parser: withheld like the plain one."""
    session = _session()
    _subscribe(session, "0xa")
    escaped = "".join(f"\\u{c:04x}" for c in SECRET)
    sent = session.outgoing(Call("eth_blockNumber", [], 1))
    raw = '{"jsonrpc":"2.0","id":%d,"error":{"code":1,"message":"%s"}}'
    answer = session.incoming(raw % (json.loads(sent)["id"], escaped))
    assert json.loads(answer.text)["error"]["message"] == "upstream answer withheld"
    note = '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xa","result":"%s"}}'
    assert session.incoming(note % escaped) == Dropped("credential_in_reply")
