"""RFC 8058 one-click unsubscribe: an alert email rendered with the gateway's public address
carries List-Unsubscribe headers; a mail client's POST of `List-Unsubscribe=One-Click` to that
URL stops the emails as the stop link in the body does. Mail providers send those POSTs from a
few addresses for all their users, so the budget is the (account, address) pair's."""

from urllib.parse import urlsplit

from services.notify.base import Email
from services.notify.outbox import OutboxNotifier, read_outbox
from services.notify.stop_links import ONE_CLICK_PATH, stop_token, with_stop_link

GATEWAY = "https://gateway.pulseledger.example/"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def alert_to(address: str, store, owner: str, folder) -> dict:
    """The headers of an alert email to `address` as the mail client receives it."""
    email = with_stop_link(Email((address,), "Irregular rhythm", "An alert.", "<p>An alert.</p>",
                                 "<a1@pulseledger.invalid>"), store, owner,
                           "https://dapp.example")
    OutboxNotifier(folder, "PulseLedger <n@pulseledger.invalid>", GATEWAY).send(email)
    (mail,) = [m for m in read_outbox(folder) if m["To"] == address]
    return mail


def post_one_click(client, url: str, form=ONE_CLICK):
    parts = urlsplit(url.strip().strip("<>"))  # a long header is folded: a space first
    assert parts.path == ONE_CLICK_PATH
    return client.post(f"{parts.path}?{parts.query}", data=form,
                       content_type="application/x-www-form-urlencoded")


def test_a_mail_clients_one_click__stops_the_address(client, chain, store, tmp_path):
    patient = chain.fund()
    owner = patient.address.lower()
    store.set_contacts(owner, ["me@home.example", "sister@home.example"])
    mail = alert_to("sister@home.example", store, owner, tmp_path / "outbox")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = mail["List-Unsubscribe"].strip()
    assert url.startswith("<https://gateway.pulseledger.example/onboarding/emails/unsubscribe?")

    stopped = post_one_click(client, url)
    assert stopped.status_code == 200, stopped.get_json()
    assert stopped.get_json()["stopped"] is True
    assert store.get_contacts(owner) == ["me@home.example"], "the other address keeps its mail"
    assert post_one_click(client, url).get_json()["stopped"] is False


def test_without_the_gateways_address__no_header_the_body_link_stays(store, chain, tmp_path):
    owner = chain.fund().address.lower()
    email = with_stop_link(Email(("me@home.example",), "s", "t", None, "<a2@pulseledger.invalid>"),
                           store, owner, "https://dapp.example")
    OutboxNotifier(tmp_path, "PulseLedger <n@pulseledger.invalid>").send(email)
    (mail,) = read_outbox(tmp_path)
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None
    assert "stop-emails?" in mail.get_content()


def test_one_click_without_its_form_body__400_nothing_stopped(client, chain, store, tmp_path):
    """A link scanner's GET or a POST without RFC 8058's body stops nothing."""
    owner = chain.fund().address.lower()
    store.set_contacts(owner, ["me@home.example"])
    url = alert_to("me@home.example", store, owner, tmp_path)["List-Unsubscribe"]
    parts = urlsplit(url.strip().strip("<>"))
    assert post_one_click(client, url, form={}).status_code == 400
    assert post_one_click(client, url, form={"List-Unsubscribe": "yes"}).status_code == 400
    as_json = client.post(f"{parts.path}?{parts.query}", json={"List-Unsubscribe": "One-Click"})
    assert as_json.status_code == 415 and "RFC 8058" in as_json.get_json()["message"]
    assert client.get(f"{parts.path}?{parts.query}").status_code == 405
    assert store.get_contacts(owner) == ["me@home.example"]


def test_one_click_for_another_pair_or_malformed__refused(client, chain, store):
    owner, other = chain.fund().address.lower(), chain.fund().address.lower()
    store.set_contacts(owner, ["me@home.example"])
    token = stop_token(store, owner, "me@home.example")

    def one_click(who: str, email: str, token: str):
        return client.post(f"{ONE_CLICK_PATH}?owner={who}&email={email}&token={token}",
                           data=ONE_CLICK)

    assert one_click(other, "me@home.example", token).status_code == 403
    assert one_click(owner, "you@home.example", token).status_code == 403
    assert one_click(owner, "me@home.example", token[:-1]).status_code == 400
    assert one_click("0x12", "me@home.example", token).status_code == 400
    assert store.get_contacts(owner) == ["me@home.example"]


def test_one_click_budget__per_pair_not_per_client(app_with, chain, store):
    """All of one mail provider's users click from its few addresses: one pair hammered is
    refused, another pair from the same client still goes through."""
    gateway = app_with(confirms_per_client=2).test_client()
    first, second = chain.fund().address.lower(), chain.fund().address.lower()
    for owner in (first, second):
        store.set_contacts(owner, ["me@home.example"])

    def one_click(owner: str):
        token = stop_token(store, owner, "me@home.example")
        return gateway.post(f"{ONE_CLICK_PATH}?owner={owner}&email=me@home.example&token={token}",
                            data=ONE_CLICK).status_code

    assert [one_click(first) for _ in range(3)] == [200, 200, 429]
    assert one_click(second) == 200
    assert store.get_contacts(second) == []
