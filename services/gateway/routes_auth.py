"""Sign-in with the wallet (EIP-4361): nonce, then signed message, then a session token; sign-out.

Served from a pool of its own (serving.py) and budgeted per client address (nonces, attempts), so
neither a streaming client nor a flood of anonymous requests keeps an honest wallet from signing in.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway.context import (
    SESSION_COOKIE,
    client_address,
    gateway,
    signed_in_session,
)
from services.gateway.observability import log
from services.gateway.siwe import verify_sign_in
from services.gateway.validate import json_body

blueprint = Blueprint("auth", __name__)


@blueprint.get("/auth/nonce")
def nonce():
    gw = gateway()
    gw.budgets.spend(gw.limits.nonces, client_address())
    return jsonify(nonce=gw.nonces.issue(), expires_in_s=gw.settings.nonce_ttl_s,
                   domain=gw.settings.domain, uri=gw.settings.uri, chain_id=gw.ledger.chain_id,
                   statement=gw.settings.statement)


@blueprint.post("/auth/sign-in")
def sign_in():
    gw = gateway()
    gw.budgets.spend(gw.limits.sign_ins, client_address())  # counted first: failures cost too
    body = json_body()
    address = verify_sign_in(body.get("message"), body.get("signature"),
                             domain=gw.settings.domain, uri=gw.settings.uri,
                             chain_id=gw.ledger.chain_id, nonces=gw.nonces,
                             provider=gw.ledger.w3.provider)
    token, expires_at = gw.sessions.issue(address)
    log("signed_in", address=address)
    response = jsonify(token=token, address=address, expires_at=expires_at)
    response.set_cookie(SESSION_COOKIE, token, max_age=gw.settings.session_ttl_s, httponly=True,
                        samesite="Strict", secure=gw.settings.uri.startswith("https://"))
    return response


@blueprint.get("/auth/session")
def session():
    current = signed_in_session()
    return jsonify(address=current.address, expires_at=current.expires_at)


@blueprint.post("/auth/sign-out")
def sign_out():
    """Revoke this session on every replica (its live streams end at their next heartbeat)."""
    gw = gateway()
    current = signed_in_session()
    gw.sessions.revoke(current)
    log("signed_out", address=current.address)
    response = jsonify(address=current.address, signed_out=True)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="Strict",
                           secure=gw.settings.uri.startswith("https://"))
    return response
