"""The SageMaker backend: the same model behind a SageMaker endpoint, same Prediction type.

Every reply is checked before it is trusted: one prediction per window, and each prediction's
input_sha256 must be the hash of the window we sent (provenance holds across the network too).
Invocations are idempotent, so botocore's bounded retries (a setting) are safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.predict import wire
from services.predict.base import Prediction, Window, window_sha256
from services.predict.settings import PredictSettings


class PredictionBackendError(RuntimeError):
    """The remote backend failed or answered something we cannot trust."""


class SageMakerPredictor:
    def __init__(self, client, endpoint_name: str, batch_size: int = 500):
        self._client = client
        self.endpoint_name = endpoint_name
        self.batch_size = batch_size

    @classmethod
    def from_settings(cls, settings: PredictSettings) -> SageMakerPredictor:
        config = Config(
            connect_timeout=settings.sagemaker_timeout_s,
            read_timeout=settings.sagemaker_timeout_s,
            retries={"max_attempts": settings.sagemaker_max_attempts, "mode": "standard"},
        )
        client = boto3.client(
            "sagemaker-runtime",
            region_name=settings.sagemaker_region,
            endpoint_url=settings.sagemaker_endpoint_url,
            config=config,
        )
        return cls(client, settings.sagemaker_endpoint_name, settings.sagemaker_batch_size)

    def predict(self, window: Window) -> Prediction:
        return self.predict_batch([window])[0]

    def predict_batch(self, windows: Sequence[Window]) -> list[Prediction]:
        out: list[Prediction] = []
        for start in range(0, len(windows), self.batch_size):
            out.extend(self._invoke(windows[start : start + self.batch_size]))
        return out

    def _invoke(self, windows: Sequence[Window]) -> list[Prediction]:
        try:
            response = self._client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=wire.encode_request(windows),
                # Traces one invocation in the endpoint's logs. It also keeps moto 5.2.5 from
                # replaying an earlier reply: moto keys its reply cache by headers and body only.
                InferenceId=uuid.uuid4().hex,
            )
            body = response["Body"].read()
        except (BotoCoreError, ClientError) as error:
            raise PredictionBackendError(
                f"SageMaker endpoint {self.endpoint_name!r} failed: {error}"
            ) from error
        try:
            predictions = wire.decode_response(body)
        except wire.WireFormatError as error:
            raise PredictionBackendError(
                f"SageMaker endpoint {self.endpoint_name!r} answered an unreadable reply: {error}"
            ) from error
        if len(predictions) != len(windows):
            raise PredictionBackendError(
                f"SageMaker endpoint {self.endpoint_name!r} answered {len(predictions)} "
                f"predictions for {len(windows)} windows"
            )
        for window, prediction in zip(windows, predictions, strict=True):
            if prediction.input_sha256 != window_sha256(window):
                raise PredictionBackendError(
                    f"SageMaker endpoint {self.endpoint_name!r} answered for another input "
                    f"(input_sha256 mismatch for user window at {window.start_ms})"
                )
        return predictions
