"""Where a report's chapters run: in this process, in local processes, or on a Dask cluster.

:func:`executor` gives a :class:`concurrent.futures.Executor` (or None for in-process runs):

============================ ===================================================================
``jobs=1``, no ``dask``      None: the chapters run one after another in this process
``jobs=N``                   a pool of N local processes (the default: every available core)
``dask="local"``             a :class:`distributed.LocalCluster` of N single-threaded workers
``dask="tcp://host:8786"``   an existing Dask distributed cluster, through its futures executor
============================ ===================================================================

Dask (``pip install 'fzanalysis[cluster]'``) is for batches too large for one machine, for
example a provincial office running the reports of many counties: the chapters are spread over
the cluster's workers.  Every worker must have fzanalysis installed and see the same file system
(data, notebooks, the report and cache folders) at the same paths; :func:`check_shared_paths`
refuses a cluster that does not.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from fzanalysis.exceptions import ReportError
from fzanalysis.report import kernels

__all__ = ["available_cores", "check_shared_paths", "executor"]


def available_cores() -> int:
    """Cores this process may use (its CPU affinity where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _client(dask: str, jobs: int):  # -> distributed.Client
    try:
        from distributed import Client, LocalCluster  # optional extra: fzanalysis[cluster]
    except ImportError:
        raise ReportError("--dask needs the Dask distributed scheduler: pip install 'fzanalysis[cluster]' "
                          "(or conda install distributed)") from None
    if dask == "local":
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        return Client(cluster), cluster
    try:
        return Client(dask, timeout=30), None
    except (OSError, TimeoutError) as exc:
        raise ReportError(f"--dask {dask}: cannot reach the scheduler ({exc})") from None


def check_shared_paths(client, paths: Sequence[str | os.PathLike[str]]) -> None:  # client: distributed.Client
    """Raise :class:`ReportError` unless every worker of ``client`` sees every path in ``paths``."""
    wanted = [str(Path(p)) for p in paths]

    def missing(names: list[str]) -> list[str]:
        return [n for n in names if not os.path.exists(n)]

    seen = client.run(missing, wanted)
    bad = {worker: gone for worker, gone in seen.items() if gone}
    if bad:
        worker, gone = next(iter(bad.items()))
        raise ReportError(f"Dask worker {worker} does not see {gone[0]}: every worker needs the same file "
                          f"system (data, notebooks, reports) at the same paths")


@contextmanager
def executor(
    jobs: int, *, dask: str | None = None, shared: Sequence[str | os.PathLike[str]] = ()
) -> Iterator[Executor | None]:
    """The executor of a report run (module docstring); closed when the ``with`` block ends.

    Parameters
    ----------
    jobs : int
        Local processes, or workers of a local Dask cluster.
    dask : str, optional
        ``"local"`` or the address of a Dask scheduler.
    shared : paths
        Paths every Dask worker must see (checked before anything runs).
    """
    if jobs < 1:
        raise ReportError(f"jobs must be >= 1, got {jobs}")
    if dask:
        client, cluster = _client(dask, jobs)
        try:
            check_shared_paths(client, shared)
            with client.get_executor(pure=False) as pool:
                yield pool
        finally:
            try:  # workers of a long-lived cluster must not keep kernels with this run's code
                client.run(kernels.shutdown_all)
            except Exception:
                pass
            client.close()
            if cluster is not None:
                cluster.close()
    elif jobs == 1:
        yield None
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
