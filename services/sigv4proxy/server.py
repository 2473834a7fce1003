"""gunicorn, tuned for a small JSON-RPC proxy: threaded workers (the work is mostly waiting on
the upstream), keep-alive to clients, the app preloaded so that the rate-limit table is shared."""

import os
import shutil
import tempfile

from gunicorn.app.base import BaseApplication

from .settings import ProxySettings


class ProxyServer(BaseApplication):
    def __init__(self, settings: ProxySettings, bind: str):
        self._settings = settings
        self._bind = bind
        super().__init__()

    def load_config(self) -> None:
        s = self._settings
        options = {
            "bind": [self._bind],
            "workers": s.workers,
            "worker_class": "gthread",
            "threads": s.threads,
            "keepalive": s.keepalive_seconds,
            "preload_app": True,
            # A worker is killed only well after every request's own deadline has passed.
            "timeout": int(s.upstream_timeout_seconds * 3) + 30,
            "graceful_timeout": 10,
            "accesslog": None,  # access lines would carry client addresses; metrics count instead
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "pulseledger-proxy",
            "child_exit": _child_exit,
            "post_worker_init": _post_worker_init,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        from .app import create_app  # imported after PROMETHEUS_MULTIPROC_DIR is set

        return create_app(self._settings)


def _post_worker_init(worker) -> None:
    # Chain checks and health probes start with the worker, not with its first request.
    worker.wsgi.extensions["pulseledger_proxy_pool"].start()


def _child_exit(server, worker) -> None:
    from . import metrics

    metrics.worker_exited(worker.pid)


def run(settings: ProxySettings, bind: str) -> None:
    # Metrics from every worker are summed from files in this directory (prometheus multiprocess).
    created = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        created = tempfile.mkdtemp(prefix="pulseledger-proxy-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
    from . import logs

    logs.configure()
    master = os.getpid()
    try:
        ProxyServer(settings, bind).run()  # returns, or raises SystemExit, when gunicorn stops
    finally:
        if created and os.getpid() == master:  # workers leave through here too: only the master
            shutil.rmtree(created, ignore_errors=True)
