"""Kernels kept between chapters: a worker starts one Jupyter kernel per plan and reuses it.

Starting a kernel and importing the library (pandas, matplotlib, statsmodels, the catalogue)
costs a worker several seconds per chapter, as much as drawing a short chapter.  A report runs
a dozen chapters on two or four workers, so each worker keeps its kernel and runs its chapters
in it, one after another:

* before every chapter the kernel is *reset*: IPython's ``reset(new_session=True)`` empties the
  user namespace, the history and the execution counter (the chapter's cells are numbered from
  1, as in a fresh kernel), every open figure is closed and the working folder is the
  notebook's.  Imported modules stay loaded -- that is the point;
* a kernel is kept per (kernel name, plan): the plan a kernel works on is fixed by its
  environment (``FZANALYSIS_PLAN``) when it starts;
* a kernel whose chapter failed (an error, a time-out, a crash) is shut down; the next chapter
  gets a new one.  A kernel is never reused after anything went wrong in it;
* the kernels of a worker are shut down when it exits, and on every Dask worker at the end of
  a run (a long-lived cluster must not keep kernels holding an older version of the code); a
  kernel whose parent died exits by itself (ipykernel watches its parent process).

``fresh=True`` in :func:`execute` (``fzanalysis report --fresh-kernels``) starts one kernel per
chapter instead, as papermill does by default; the output is the same (a test compares them).

The chapters are run through papermill with the engine :data:`ENGINE`, papermill's nbclient
engine given an already-started kernel manager.
"""
from __future__ import annotations

import atexit
import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ENGINE", "execute", "shutdown_all", "warm"]

#: Name under which :class:`KeptKernelEngine` is registered with papermill.
ENGINE = "fzanalysis-kept-kernel"

#: Seconds a kernel may take to start, and to reset between chapters.
START_TIMEOUT = 120
RESET_TIMEOUT = 60

#: Modules imported when a kernel is warmed (what every chapter imports first).
WARM_IMPORTS = "import fzanalysis.report\n"

_RESET = (
    "get_ipython().reset(new_session=True)\n"
    "import os as _os, sys as _sys\n"
    "_os.chdir({cwd!r})\n"
    "if 'matplotlib.pyplot' in _sys.modules:\n"
    "    _sys.modules['matplotlib.pyplot'].close('all')\n"
    "del _os, _sys\n"
)

_KERNELS: dict[tuple[str, str | None], Any] = {}  # (kernel name, plan) -> started KernelManager


@functools.cache
def _register_engine() -> None:
    """Register papermill's nbclient engine on a kernel already running (``km=``), left running.

    The kernel client's channels are closed after the notebook; the kernel itself is this
    module's to keep or shut down.  Defined here: papermill is imported only where chapters run.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, logger, papermill_engines

    class KeptKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, *, km: Any, log_output: bool = False,
                                     start_timeout: int = 60, execution_timeout: int | None = None,
                                     **_: Any) -> Any:
            client = PapermillNotebookClient(nb_man, km=km, timeout=execution_timeout,
                                             startup_timeout=start_timeout, kernel_name=kernel_name,
                                             log=logger, log_output=log_output)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(ENGINE, KeptKernelEngine)


def _sync(coroutine_function: Any) -> Any:
    from jupyter_core.utils import run_sync

    return run_sync(coroutine_function)


def _run(code: str, km: Any, *, timeout: float) -> None:
    """Execute ``code`` in the kernel of ``km``; raise RuntimeError unless it succeeded."""

    async def run() -> dict:
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=timeout)
            return await kc.execute_interactive(code, store_history=False, timeout=timeout, allow_stdin=False,
                                                output_hook=lambda msg: None)
        finally:
            kc.stop_channels()

    content = _sync(run)().get("content", {})
    if content.get("status") != "ok":
        raise RuntimeError(f"the kept kernel failed to run {code.splitlines()[0]!r}: "
                           f"{content.get('ename', '')}: {content.get('evalue', '')}")


def _start(kernel: str, plan_id: str | None, extra_arguments: Sequence[str]) -> Any:
    # the asynchronous manager, as nbclient's own: it notices a kernel that dies during a cell
    from jupyter_client.manager import AsyncKernelManager  # heavy: only where chapters run

    env = dict(os.environ)
    if plan_id is not None:
        env["FZANALYSIS_PLAN"] = plan_id
    km = AsyncKernelManager(kernel_name=kernel)
    _sync(km.start_kernel)(extra_arguments=list(extra_arguments), env=env)
    return km


def _kernel(kernel: str, plan_id: str | None, extra_arguments: Sequence[str]) -> Any:
    key = (kernel, plan_id)
    km = _KERNELS.get(key)
    if km is not None and not _sync(km.is_alive)():
        _discard(key)
        km = None
    if km is None:
        km = _KERNELS[key] = _start(kernel, plan_id, extra_arguments)
    return km


def _discard(key: tuple[str, str | None]) -> None:
    km = _KERNELS.pop(key, None)
    if km is not None:
        try:
            _sync(km.shutdown_kernel)(now=True)
        except Exception:  # already gone
            pass


def shutdown_all() -> None:
    """Shut down every kernel this process keeps."""
    for key in list(_KERNELS):
        _discard(key)


atexit.register(shutdown_all)


def warm(kernel: str, *, plan_id: str | None = None, extra_arguments: Sequence[str] = ()) -> int:
    """Start this process's kernel for ``plan_id`` and import the library in it; return the pid.

    Called on each worker while the parent prepares the results, so the first chapters find a
    kernel ready.  A kernel that cannot start is left for the first chapter to report.
    """
    try:
        _run(WARM_IMPORTS, _kernel(kernel, plan_id, extra_arguments), timeout=START_TIMEOUT)
    except Exception:
        _discard((kernel, plan_id))
    return os.getpid()


def execute(
    source: str,
    output: str,
    *,
    parameters: Mapping[str, Any],
    kernel: str,
    cwd: str,
    plan_id: str | None = None,
    extra_arguments: Sequence[str] = (),
    execution_timeout: int | None = None,
    fresh: bool = False,
) -> None:
    """Execute the notebook ``source`` into ``output`` with papermill, in this process's kept kernel.

    Raises what :func:`papermill.execute_notebook` raises (the notebook is saved up to the
    failing cell); the kernel is then shut down, never reused.
    """
    import papermill  # heavy: loaded in the worker that runs the notebook

    if fresh:
        if plan_id is not None:
            os.environ["FZANALYSIS_PLAN"] = plan_id
        papermill.execute_notebook(source, output, parameters=dict(parameters), kernel_name=kernel,
                                   progress_bar=False, cwd=cwd, execution_timeout=execution_timeout,
                                   extra_arguments=list(extra_arguments), log_output=False)
        return
    _register_engine()
    key = (kernel, plan_id)
    try:
        km = _kernel(kernel, plan_id, extra_arguments)
        try:
            _run(_RESET.format(cwd=cwd), km, timeout=RESET_TIMEOUT)
        except Exception:  # the kept kernel is unwell: not this chapter's fault, it gets a new one
            _discard(key)
            km = _kernel(kernel, plan_id, extra_arguments)
            _run(_RESET.format(cwd=cwd), km, timeout=RESET_TIMEOUT)
        papermill.execute_notebook(source, output, parameters=dict(parameters), kernel_name=kernel,
                                   engine_name=ENGINE, km=km, progress_bar=False,
                                   execution_timeout=execution_timeout, log_output=False)
    except BaseException:
        _discard(key)
        raise
