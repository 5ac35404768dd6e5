"""Executors for sweeps: run one picklable function over many tasks, yielding outcomes as they finish.

Private helper of :mod:`siting.sweep`. Three back-ends share one contract, :func:`map_unordered`:

``serial``
    In this process, one task after another (the baseline of ``benchmarks/bench_sweep.py``).
``local``
    A :class:`concurrent.futures.ProcessPoolExecutor` with the ``spawn`` start method: fresh interpreters,
    so no solver threads or locks are inherited through ``fork``.
``dask``
    A ``dask.distributed`` :class:`~distributed.Client` on an existing scheduler, or on a
    :class:`~distributed.LocalCluster` on loopback (``processes=True``, one thread per worker) when no
    address is given.

The task function must catch its own exceptions and return an outcome; an exception that still escapes
(a worker process killed, a pickling problem) is turned into an outcome by ``on_crash``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from siting.core.errors import Defect, ScenarioError

__all__ = ["EXECUTORS", "check_executor", "map_unordered", "default_workers"]

EXECUTORS = ("local", "dask", "serial")

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """CPUs this process may use (``os.sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def check_executor(executor: str, *, workers: int | None = None, scheduler: str | None = None) -> None:
    """Raise :class:`ScenarioError` for an unknown executor, a misplaced scheduler or a bad worker count."""
    problems = []
    if executor not in EXECUTORS:
        problems.append(f"--executor: unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if scheduler is not None and executor != "dask":
        problems.append("--scheduler: only meaningful with --executor dask")
    if workers is not None and workers < 1:
        problems.append(f"--workers: must be at least 1 (got {workers})")
    if problems:
        raise ScenarioError([Defect(text) for text in problems])


def map_unordered(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    on_crash: Callable[[T, BaseException], R],
) -> Iterator[R]:
    """Yield ``fn(task)`` for every task, in completion order.

    Parameters
    ----------
    fn
        A module-level (picklable) function.
    tasks
        Picklable task objects, submitted in order.
    executor
        ``"local"``, ``"dask"`` or ``"serial"``.
    workers
        Worker processes (``local``; ``dask`` LocalCluster); default :func:`default_workers`.
    scheduler
        ``dask`` only: address of a running scheduler (``tcp://host:8786``); ``None`` starts a LocalCluster.
    on_crash
        Outcome for a task whose function raised past its own handler (e.g. its worker died).
    """
    check_executor(executor, workers=workers, scheduler=scheduler)
    if not tasks:
        return iter(())
    n = min(workers or default_workers(), len(tasks))
    if executor == "serial":
        return _serial(fn, tasks, on_crash)
    if executor == "local":
        return _local(fn, tasks, n, on_crash)
    return _dask(fn, tasks, n, scheduler, on_crash)


def _serial(fn: Callable[[T], R], tasks: Sequence[T], on_crash: Callable[[T, BaseException], R]) -> Iterator[R]:
    for task in tasks:
        try:
            yield fn(task)
        except Exception as exc:  # the task function should not raise; keep the sweep going if it does
            yield on_crash(task, exc)


def _local(
    fn: Callable[[T], R], tasks: Sequence[T], n: int, on_crash: Callable[[T, BaseException], R]
) -> Iterator[R]:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(
        max_workers=n, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_sigint
    )
    clean = False
    try:
        futures = {pool.submit(fn, task): task for task in tasks}
        for fut in as_completed(futures):
            try:
                out = fut.result()
            except Exception as exc:  # BrokenProcessPool, unpicklable result, ...
                out = on_crash(futures[fut], exc)
            yield out
        clean = True
    finally:
        if clean:
            pool.shutdown(wait=True)
        else:
            # interrupted (Ctrl-C, SIGTERM, generator closed early): stop the running solves now; there is no
            # public API for the worker processes, and shutdown() drops the private mapping, so take it first
            procs = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
            for proc in procs:
                proc.join(timeout=10)


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C reaches the whole process group; only the parent handles it (and stops us)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _dask(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    n: int,
    scheduler: str | None,
    on_crash: Callable[[T, BaseException], R],
) -> Iterator[R]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise ScenarioError(
            f"--executor dask needs dask.distributed ({exc}); run: pip install 'siting[dask]'"
        ) from exc

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise ScenarioError(f"--scheduler: cannot reach dask scheduler {scheduler!r} ({exc})") from exc
    futures: list[Any] = []
    try:
        futures = [client.submit(fn, task, pure=False) for task in tasks]
        by_key = {f.key: task for f, task in zip(futures, tasks)}
        for fut in as_completed(futures):
            try:
                out = fut.result()
            except Exception as exc:  # KilledWorker, CancelledError, ...
                out = on_crash(by_key[fut.key], exc)
            yield out
    finally:
        try:
            if futures:
                client.cancel(futures)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
