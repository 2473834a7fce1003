"""`GET /patients/<owner>/live`: the patient's (or their doctor's) live view, Server-Sent Events
fed by the record store's change stream; bounds and lifetimes in live_streams.py."""

from __future__ import annotations

from flask import Blueprint, Response, request

from services.gateway import validate
from services.gateway.context import client_address, gateway, may_read, signed_in_session
from services.gateway.disconnect import ENVIRON_KEY
from services.gateway.errors import Forbidden
from services.gateway.observability import log
from services.records import CursorExpired

blueprint = Blueprint("live", __name__)
CURSOR = r"[0-9A-Za-z_:.\-]{1,128}"


@blueprint.get("/patients/<owner>/live")
def live(owner: str):
    """SSE: one `event: <kind>` per change, `id:` its cursor (resume with Last-Event-ID)."""
    gw = gateway()
    owner = validate.address(request.view_args["owner"], "owner")
    session = signed_in_session()
    if not may_read(gw.store, owner, session.address):
        raise Forbidden("only the patient and their linked doctor may read these records")
    since = request.headers.get("Last-Event-ID") or request.args.get("since") or None
    reset = False
    if since is not None:
        since = validate.string(since, "Last-Event-ID", max_length=128, pattern=CURSOR)
        # a cursor the store cannot read is the client's 400 here; inside the stream it was
        # an empty 200, and the browser reconnected with it every 2 s for ever
        try:
            gw.store.changes_since(owner.lower(), since, limit=1)
        except CursorExpired:  # older than the change log keeps: start afresh, say so first
            since, reset = gw.store.latest_cursor(owner.lower()), True
    else:
        since = gw.store.latest_cursor(owner.lower())
    store, reader = gw.store, session.address
    stream = gw.live.open(owner=owner.lower(), session=session, client=client_address(),
                          cursor=since, reset=reset,
                          still_allowed=lambda: may_read(store, owner, reader),
                          client_gone=request.environ.get(ENVIRON_KEY))
    log("live_opened", reader=reader)
    return Response(stream, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
