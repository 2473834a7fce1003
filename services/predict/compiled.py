"""How the screen's per-window passes are compiled: numba, cached on disk where it can be.

numba keeps compiled code next to the source (`__pycache__`), else in the user's cache
directory, else where NUMBA_CACHE_DIR says. On a read-only install with no writable home (a
hardened systemd unit, a container) it finds none and refuses to load the module at all: here
such a pass is compiled without a cache instead (~8 s at every start, said once in the log) so
the screen still runs. The peer unit sets NUMBA_CACHE_DIR to its cache directory (docs/deploy.md).
"""

from __future__ import annotations

import logging

from numba import njit

log = logging.getLogger(__name__)
_warned = False


def compiled(function):
    """`function` compiled by numba (no Python objects, the GIL released), cached if possible."""
    global _warned
    try:
        return njit(cache=True, nogil=True)(function)
    except RuntimeError as error:  # no writable cache location: compile at every start
        if not _warned:
            _warned = True
            log.warning(
                "the screen's compiled passes cannot be cached (%s); they compile at every "
                "start (~8 s): set NUMBA_CACHE_DIR to a writable directory", error,
            )
        return njit(nogil=True)(function)
