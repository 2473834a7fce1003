"""The SageMaker backend: the same model behind a SageMaker endpoint, same Prediction type.

Every reply is checked before it is trusted: one prediction per window, and each prediction's
input_sha256 must be the hash of the window we sent (provenance holds across the network too).
Invocations are idempotent, so botocore's bounded retries (a setting) are safe.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.predict import wire
from services.predict.base import Prediction, Window, fingerprint, window_message
from services.predict.settings import PredictSettings
from services.predict.window_values import materialise_all


class PredictionBackendError(RuntimeError):
    """The remote backend failed or answered something we cannot trust."""


class SageMakerPredictor:
    def __init__(
        self,
        client,
        endpoint_name: str,
        batch_size: int = 500,
        input_hash_key: bytes | None = None,
    ):
        self._client = client
        self.endpoint_name = endpoint_name
        self.batch_size = batch_size
        # The endpoint holds no key: it answers plain sha256, which is checked here and then,
        # with a key configured, replaced by the keyed fingerprint before anyone sees it.
        self._input_hash_key = input_hash_key

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
        return cls(
            client,
            settings.sagemaker_endpoint_name,
            settings.sagemaker_batch_size,
            settings.input_hash_key_bytes(),
        )

    def predict(self, window: Window) -> Prediction:
        return self.predict_batch([window])[0]

    def predict_batch(self, windows: Sequence[Window]) -> list[Prediction]:
        # Read every window's values once, here: the wire and the reply's fingerprint check see
        # the same values. A window that cannot be sent (no string user id, ...) is answered here
        # with its reason and never leaves; the endpoint answers the rest.
        windows, invalid = materialise_all(windows)
        sendable = [w for w, why in zip(windows, invalid, strict=True) if why is None]
        answered: list[Prediction] = []
        for start in range(0, len(sendable), self.batch_size):
            answered.extend(self._invoke(sendable[start : start + self.batch_size]))
        replies = iter(answered)
        return [
            next(replies) if why is None else self._refused(window, why)
            for window, why in zip(windows, invalid, strict=True)
        ]

    def _refused(self, window: Window, reason: str) -> Prediction:
        message = window_message(window)
        return Prediction(
            "insufficient_data", None, None, "", fingerprint(message, self._input_hash_key),
            reason, input_hash="sha256" if self._input_hash_key is None else "hmac-sha256",
        )  # fmt: skip

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
        checked = []
        for window, prediction in zip(windows, predictions, strict=True):
            message = window_message(window)
            if prediction.input_hash != "sha256" or prediction.input_sha256 != fingerprint(message):
                raise PredictionBackendError(
                    f"SageMaker endpoint {self.endpoint_name!r} answered for another input "
                    f"(input_sha256 mismatch for user window at {window.start_ms})"
                )
            if self._input_hash_key is not None:
                prediction = dataclasses.replace(
                    prediction,
                    input_sha256=fingerprint(message, self._input_hash_key),
                    input_hash="hmac-sha256",
                )
            checked.append(prediction)
        return checked
