import pytest

from .server import IngestServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One endpoint for a test module, with roomy budgets; tests that need small ones start
    their own."""
    started = IngestServer(tmp_path_factory.mktemp("device-ingest"))
    yield started
    started.stop()
