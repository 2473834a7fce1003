"""Sign-in with the wallet (EIP-4361): nonce, then signed message, then a session token."""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway.context import SESSION_COOKIE, gateway, signed_in
from services.gateway.observability import log
from services.gateway.siwe import verify_sign_in
from services.gateway.validate import json_body

blueprint = Blueprint("auth", __name__)


@blueprint.get("/auth/nonce")
def nonce():
    gw = gateway()
    return jsonify(nonce=gw.nonces.issue(), expires_in_s=gw.settings.nonce_ttl_s,
                   domain=gw.settings.domain, uri=gw.settings.uri, chain_id=gw.ledger.chain_id,
                   statement=gw.settings.statement)


@blueprint.post("/auth/sign-in")
def sign_in():
    gw = gateway()
    body = json_body()
    address = verify_sign_in(body.get("message"), body.get("signature"),
                             domain=gw.settings.domain, uri=gw.settings.uri,
                             chain_id=gw.ledger.chain_id, nonces=gw.nonces)
    token, expires_at = gw.sessions.issue(address)
    log("signed_in", address=address)
    response = jsonify(token=token, address=address, expires_at=expires_at)
    response.set_cookie(SESSION_COOKIE, token, max_age=gw.settings.session_ttl_s, httponly=True,
                        samesite="Strict", secure=gw.settings.uri.startswith("https://"))
    return response


@blueprint.get("/auth/session")
def session():
    return jsonify(address=signed_in())
