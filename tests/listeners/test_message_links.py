"""Every link in every email names the dapp page it is about. The emails come from the catalog
(tests/dapp/email_catalog.py: the real templates, every kind, reason and notice); the dapp side
(frontend/test/emailLinks.test.ts) parses the same links, from the fixture checked here, with its
router, and the Chromium e2e opens them."""

import ast
import json
from pathlib import Path

import pytest

from services.alerts import NOTIFIED
from services.listeners.messages import KINDS, UnknownMessageKind, render
from services.listeners.relay import CONSENT_ENDED, EXPIRED, REVOKED
from tests.dapp.email_catalog import FIXTURE, every_email, fixture

REPO = Path(__file__).resolve().parents[2]
FIXTURE_FILE = REPO / "frontend/test/fixtures/email-links.json"
DAPP = FIXTURE["dapp_url"].rstrip("/")
PAGES = {"request": f"/#/requests/{FIXTURE['request_id']}", "earnings": "/#/earnings",
         "access": "/#/access", "purchase": f"/#/purchases/{FIXTURE['purchase_id']}",
         "patient": f"/#/patients/{FIXTURE['patient']}?at={FIXTURE['alert_at_ms']}"}
EMAILS = every_email(**FIXTURE)


def _effect_kinds(source: Path) -> set[str]:
    """The kind (second argument) of every Effect(...) a module builds, literal or chosen by a
    conditional expression assigned to a local name."""
    tree = ast.parse(source.read_text())
    assigned = {node.targets[0].id: node.value for node in ast.walk(tree)
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}

    def literals(node) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return literals(node.body) | literals(node.orelse)
        if isinstance(node, ast.Name) and node.id in assigned:
            return literals(assigned[node.id])
        raise AssertionError(f"{source}: an Effect kind this test cannot read: "
                             f"{ast.dump(node)}")

    return {kind for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Effect"
            for kind in literals(node.args[1])}


def test_catalog__covers_every_kind_the_relay_emits_and_render_knows():
    # Every effect any service builds becomes an email (the relay's fold, the delivery loop's digest).
    emitted = set().union(*(_effect_kinds(path) for path in sorted((REPO / "services").rglob("*.py"))
                            if "Effect(" in path.read_text()))
    assert emitted == set(KINDS)
    assert {email["kind"] for email in EMAILS} == set(KINDS) | {"alert", "alert_to_doctor"}
    refunds = {e["variant"] for e in EMAILS if e["kind"] == "refund_claimable"}
    assert refunds == {REVOKED, CONSENT_ENDED, EXPIRED}
    for kind in ("alert", "alert_to_doctor"):
        assert sorted(e["variant"] for e in EMAILS if e["kind"] == kind) == sorted(NOTIFIED)


def test_render__a_kind_it_does_not_know__refused():
    with pytest.raises(UnknownMessageKind):
        render("record_sold_twice", {}, DAPP)


@pytest.mark.parametrize("email", EMAILS, ids=lambda e: f"{e['kind']}-{e['variant'] or 'only'}")
def test_email__one_link__the_page_it_names(email):
    # The fixture's dapp URL ends in "/": the links must not double it.
    assert email["links"] == [DAPP + PAGES[email["page"]]]


def test_dapp_fixture__is_what_the_templates_render_today():
    """Regenerate with `uv run python -m tests.dapp.email_catalog > frontend/test/fixtures/email-links.json`."""
    assert json.loads(FIXTURE_FILE.read_text()) == fixture()
