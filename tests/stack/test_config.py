"""One config file for every service: TOML tables and .env become PULSELEDGER_* variables that the
services' own settings classes parse; the real environment wins."""

import re
from pathlib import Path
from unittest import mock

import pytest

from services.records import RecordsSettings
from services.sigv4proxy.settings import ProxySettings
from services.stack.config import ConfigError, load_config, toml_to_env
from services.stack.settings import StackSettings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_toml__tables__become_prefixed_variables(tmp_path):
    config = tmp_path / "pulseledger.toml"
    config.write_text('[stack]\nproxy = true\nsimulate_users = 6\n'
                      '[gateway]\ncors_origins = ["http://127.0.0.1:5173"]\n')
    assert toml_to_env(config) == {
        "PULSELEDGER_STACK_PROXY": "true", "PULSELEDGER_STACK_SIMULATE_USERS": "6",
        "PULSELEDGER_GATEWAY_CORS_ORIGINS": '["http://127.0.0.1:5173"]'}


def test_load__env_file_over_toml__real_environment_over_both(tmp_path):
    config, dotenv = tmp_path / "pulseledger.toml", tmp_path / ".env"
    config.write_text('[records]\nbackend = "firestore"\nfirestore_project = "from-toml"\n'
                      '[notify]\nbackend = "ses"\n')
    dotenv.write_text("PULSELEDGER_RECORDS_FIRESTORE_PROJECT=from-dotenv\n")
    with mock.patch.dict("os.environ", {"PULSELEDGER_NOTIFY_BACKEND": "smtp"}):
        found = load_config(config, dotenv)
    assert found == {"PULSELEDGER_RECORDS_BACKEND": "firestore",
                     "PULSELEDGER_RECORDS_FIRESTORE_PROJECT": "from-dotenv"}


def test_load__missing_files__nothing(tmp_path):
    assert load_config(tmp_path / "none.toml", tmp_path / "none.env") == {}


def test_toml__not_a_table_or_broken__clear_error(tmp_path):
    config = tmp_path / "pulseledger.toml"
    config.write_text('backend = "sqlite"\n')
    with pytest.raises(ConfigError, match=r"\[stack\]"):
        toml_to_env(config)
    config.write_text('[stack\n')
    with pytest.raises(ConfigError, match="pulseledger.toml"):
        toml_to_env(config)


def test_readme_cloud_example__parses_into_each_services_settings(tmp_path):
    example = re.search(r"```toml\n(.*?)```", README.read_text(), re.DOTALL).group(1)
    config = tmp_path / "pulseledger.toml"
    config.write_text(example)
    env = toml_to_env(config)
    with mock.patch.dict("os.environ", env, clear=True):
        assert RecordsSettings().backend == "firestore"
        assert StackSettings().proxy is True and not StackSettings().local_chain
        upstreams = ProxySettings().upstreams
    assert [(u.name, u.auth) for u in upstreams] == [("amb", "sigv4"), ("backup", "header")]
