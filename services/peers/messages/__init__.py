"""The peers' data-plane messages: for each operation its request and reply as typed classes,
checked when they arrive (services/peers/rpc.py) — a handler only ever sees a request of its
operation's shape, and a caller only ever reads a reply of it. A request that does not have the
shape is refused with `invalid` (counted per operation) and the handler is not run.

The protocol id carries the message version (rpc.PROTOCOL): any change to a message's shape is a
new version, so peers of different versions do not meet on one protocol and misread each other.
"""

from __future__ import annotations

from services.peers.messages import agg_ingest, agg_state, windows
from services.peers.messages.checks import InvalidMessage

# operation -> (request class, reply class)
OPERATIONS = {
    agg_ingest.OP: (agg_ingest.IngestRequest, agg_ingest.IngestReply),
    agg_state.MERGE: (agg_state.WindowState, agg_state.MergeReply),
    agg_state.SYNC: (agg_state.WindowState, agg_state.WindowState),
    windows.PREDICT: (windows.PredictRequest, windows.PredictReply),
    windows.STORE: (windows.StoreRequest, windows.StoreReply),
    windows.NOTIFY: (windows.NotifyRequest, windows.NotifyReply),
}

__all__ = ["OPERATIONS", "InvalidMessage"]
