"""The SageMaker backend against a real moto server process on 127.0.0.1.

moto cannot run a model: it replays replies queued through its
`POST /moto-api/static/sagemaker/endpoint-results` API. Each test queues the reply our own
endpoint handler computes for the request, so boto3's real `invoke_endpoint` call, the wire
format and the client's checks are all exercised; the model behind a real endpoint is not.
"""

import json
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests
from predict_samples import IRREGULAR_HR, IRREGULAR_RR, REGULAR_HR, REGULAR_RR

from services.predict import wire
from services.predict.base import Prediction, Window, load_predictor
from services.predict.endpoint_handler import handle
from services.predict.sagemaker_predictor import PredictionBackendError, SageMakerPredictor
from services.predict.settings import PredictSettings

REGION = "eu-west-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_url():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{url}/moto-api/", timeout=0.5)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sagemaker(moto_url, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings = PredictSettings(
        backend="sagemaker",
        sagemaker_endpoint_name=f"irregular-{uuid.uuid4().hex[:8]}",
        sagemaker_region=REGION,
        sagemaker_endpoint_url=moto_url,
        sagemaker_timeout_s=2,
        sagemaker_max_attempts=1,
        sagemaker_batch_size=3,
    )
    return settings, load_predictor(settings)


def _queue(moto_url: str, *bodies: bytes) -> None:
    results = [{"Body": b.decode(), "ContentType": "application/json"} for b in bodies]
    response = requests.post(
        f"{moto_url}/moto-api/static/sagemaker/endpoint-results",
        json={"region": REGION, "results": results},
        timeout=5,
    )
    response.raise_for_status()


WINDOWS = [
    Window("a", 0, REGULAR_HR, REGULAR_RR, signal="rr"),
    Window("b", 0, IRREGULAR_HR, signal="hr_instantaneous"),
    Window("c", 0, [60, 61], signal="hr_instantaneous"),
    Window("d", 10_000, IRREGULAR_HR, IRREGULAR_RR, signal="rr"),
    Window("e", 10_000, REGULAR_HR, signal="hr_averaged"),
]


def test_sagemaker__same_predictions_as_local_model(sagemaker, moto_url, predictor):
    _, remote = sagemaker
    assert isinstance(remote, SageMakerPredictor)
    batches = [WINDOWS[:3], WINDOWS[3:]]  # batch_size 3: two invocations
    _queue(moto_url, *(handle(predictor, wire.encode_request(b)) for b in batches))
    predictions = remote.predict_batch(WINDOWS)
    assert all(isinstance(p, Prediction) for p in predictions)
    assert predictions == predictor.predict_batch(WINDOWS)
    assert [p.status for p in predictions[:3]] == ["regular", "irregular", "insufficient_data"]


def test_sagemaker__with_key__endpoint_answers_plain_client_returns_keyed(
    sagemaker, moto_url, predictor
):
    settings, _ = sagemaker
    key_hex = "ab" * 16
    keyed_remote = load_predictor(
        PredictSettings(**{**settings.model_dump(), "input_hash_key": key_hex})
    )
    keyed_local = load_predictor(PredictSettings(backend="onnx", input_hash_key=key_hex))
    _queue(moto_url, handle(predictor, wire.encode_request(WINDOWS[:3])))  # endpoint: no key
    predictions = keyed_remote.predict_batch(WINDOWS[:3])
    assert predictions == keyed_local.predict_batch(WINDOWS[:3])
    assert {p.input_hash for p in predictions} == {"hmac-sha256"}


def test_sagemaker__reply_for_another_input__refused(sagemaker, moto_url, predictor):
    _, remote = sagemaker
    other = [Window("someone-else", 0, REGULAR_HR, signal="hr_instantaneous")]
    _queue(moto_url, handle(predictor, wire.encode_request(other)))
    with pytest.raises(PredictionBackendError, match="input_sha256 mismatch"):
        remote.predict(Window("a", 0, REGULAR_HR, signal="hr_instantaneous"))


def test_sagemaker__wrong_number_of_predictions__refused(sagemaker, moto_url, predictor):
    _, remote = sagemaker
    _queue(moto_url, handle(predictor, wire.encode_request(WINDOWS[:2])))
    with pytest.raises(PredictionBackendError, match="2 predictions for 1 windows"):
        remote.predict(WINDOWS[0])


def test_sagemaker__unreadable_reply__refused(sagemaker, moto_url):
    _, remote = sagemaker
    _queue(moto_url, json.dumps({"format": "something/else"}).encode())
    with pytest.raises(PredictionBackendError, match="unreadable reply"):
        remote.predict(WINDOWS[0])


def test_sagemaker__endpoint_down__clear_error(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = PredictSettings(
        backend="sagemaker",
        sagemaker_endpoint_url=f"http://127.0.0.1:{_free_port()}",  # nothing listens here
        sagemaker_region=REGION,
        sagemaker_timeout_s=0.5,
        sagemaker_max_attempts=1,
    )
    with pytest.raises(PredictionBackendError, match="failed"):
        load_predictor(settings).predict(WINDOWS[0])
