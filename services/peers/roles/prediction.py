"""Prediction: runs the predictor (services/predict) on a batch of closed windows. Stateless, so
any live prediction peer will do and a retry elsewhere gives the same answer."""

from __future__ import annotations

import trio

from services.peers.messages.windows import PREDICT, PredictReply, PredictRequest
from services.predict import Window
from services.predict.from_readings import window_from_item


def to_window(item: dict) -> Window:
    # The window carries the signal its readings declare; without one the screen refuses it.
    return window_from_item(item)


class PredictionRole:
    name = "prediction"

    def __init__(self, *, rpc, predictor):
        self.predictor = predictor
        self.predicted = 0
        rpc.register(PREDICT, self.handle)

    async def handle(self, request: PredictRequest, caller: str) -> PredictReply:
        windows = [to_window(item) for item in request.windows]
        self.predicted += len(windows)
        # onnxruntime and numpy release the GIL: other roles of this process run meanwhile.
        predictions = await trio.to_thread.run_sync(self.predictor.predict_batch, windows)
        return PredictReply([p.as_dict() for p in predictions])

    def metrics(self) -> dict:
        return {"prediction_windows": self.predicted}

    async def run(self) -> None:
        return None
