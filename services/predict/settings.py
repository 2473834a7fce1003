"""Settings of the prediction service (env prefix PULSELEDGER_PREDICT_)."""

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MODEL_DIR = Path(__file__).parent / "model"


class PredictSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_PREDICT_")

    # "onnx": the shipped model, run in-process (the embedded default); "sagemaker": an endpoint.
    backend: Literal["onnx", "sagemaker"] = "onnx"
    model_path: Path = MODEL_DIR / "irregular_rhythm.onnx"
    metadata_path: Path = MODEL_DIR / "irregular_rhythm.json"
    # onnxruntime threads; 1 keeps one core for everything else on a shared machine.
    intra_op_threads: int = 1
    # Hex key: input_sha256 becomes HMAC-SHA256, so a fingerprint seen by others cannot be
    # reversed into heart rates by trying plausible values. Set it wherever fingerprints leave
    # the service (shared logs, a chain).
    input_hash_key: SecretStr | None = None

    # SageMaker backend
    sagemaker_endpoint_name: str = "pulseledger-irregular-rhythm"
    sagemaker_region: str = "eu-west-1"
    sagemaker_endpoint_url: str | None = None  # e.g. a moto server on 127.0.0.1 in tests
    sagemaker_timeout_s: float = 5.0
    sagemaker_max_attempts: int = 2
    sagemaker_batch_size: int = 500  # windows per invocation (payloads stay far under 6 MB)

    def input_hash_key_bytes(self) -> bytes | None:
        if self.input_hash_key is None:
            return None
        key = bytes.fromhex(self.input_hash_key.get_secret_value())
        if len(key) < 16:
            raise ValueError("input_hash_key must be at least 16 bytes (32 hex digits)")
        return key
