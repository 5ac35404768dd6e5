from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
import numpy as np
from siting.core.errors import InputError, ScenarioError
from siting.core.problem import Problem
from siting.bench.orlib import DEFAULT_CAPACITIES, format_number, cap_has_capacity_word, load_optima, read_cap, read_pmed


# ---------------------------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class BenchCase:
    """One benchmark run: an instance file solved as one problem set.

    ``set`` is ``"pmed"``, ``"cap"`` (capacitated) or ``"uncap"``; ``capacity`` is the value substituted
    for the word ``capacity`` (``capa``-style files), ``inf`` for uncapacitated runs of such files.
    """

    instance: str
    set: str
    path: Path
    capacity: float | None = None
    known_optimum: float | None = None

    def load(self) -> Problem:
        if self.set == "pmed":
            return read_pmed(self.path)
        if self.set == "uncap":
            prob = read_cap(self.path, capacity=math.inf, instance=self.instance)
            return prob.with_options(capacity=np.full(prob.n_candidates, np.inf))
        return read_cap(self.path, capacity=self.capacity, instance=self.instance)


def _natural(s: str) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s))


def _files(directory: Path, sub: str, pattern: str, exclude: Iterable[str]) -> list[Path]:
    skip = set(exclude)
    out: dict[str, Path] = {}
    for base in (directory, directory / sub):
        if base.is_dir():
            for f in base.glob(pattern):
                if f.is_file() and f.stem not in skip and re.fullmatch(r"[A-Za-z]+\d*[a-z]?", f.stem):
                    out.setdefault(f.stem, f)
    return [out[k] for k in sorted(out, key=_natural)]


def discover(directory: str | Path, instances: Sequence[str] | None = None) -> list[BenchCase]:
    """The benchmark cases of an OR-Library-like directory.

    ``pmed*.txt`` (in ``DIR/pmed/`` or ``DIR``) give one ``pmed`` case each. ``cap*.txt`` (in ``DIR/cap/`` or
    ``DIR``) give a capacitated case, and an uncapacitated one where the uncapacitated optima list the
    instance. A file with the word ``capacity`` (``capa/b/c``) expands to one capacitated case per capacity:
    those its optima files name (``capa8000``), else :data:`DEFAULT_CAPACITIES`.

    ``instances`` filters by name (``pmed1``, ``cap41``, ``capa8000``, or ``capa`` for all of its
    expansions); an unknown name is a :class:`~siting.core.errors.ScenarioError`.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ScenarioError(f"{d}: not a directory")
    optima = load_optima(d)
    cases: list[BenchCase] = []
    for f in _files(d, "pmed", "pmed*.txt", ("pmedopt",)):
        cases.append(BenchCase(f.stem, "pmed", f, None, optima.get(("pmed", f.stem))))
    for f in _files(d, "cap", "cap*.txt", ("capopt", "uncapopt")):
        stem = f.stem
        if cap_has_capacity_word(f):
            caps = sorted(
                {float(name[len(stem):]) for (s, name) in optima if s == "cap" and re.fullmatch(
                    re.escape(stem) + r"\d+(\.\d+)?", name)}
                | set(DEFAULT_CAPACITIES.get(stem, ()))
            )
            for c in caps:
                name = f"{stem}{format_number(c)}"
                cases.append(BenchCase(name, "cap", f, c, optima.get(("cap", name))))
            if ("uncap", stem) in optima:
                cases.append(BenchCase(stem, "uncap", f, math.inf, optima[("uncap", stem)]))
        else:
            cases.append(BenchCase(stem, "cap", f, None, optima.get(("cap", stem))))
            if ("uncap", stem) in optima:
                cases.append(BenchCase(stem, "uncap", f, math.inf, optima[("uncap", stem)]))
    if instances:
        wanted = [w.strip() for w in instances if w.strip()]
        names = {c.instance for c in cases} | {c.path.stem for c in cases}
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise ScenarioError(
                [
                    _defect(f"no instance {w!r} in {d} (known: {', '.join(sorted(names, key=_natural))})")
                    for w in unknown
                ]
            )
        keep = set(wanted)
        cases = [c for c in cases if c.instance in keep or c.path.stem in keep]
    return cases


def _defect(msg: str):
    from siting.core.errors import Defect

    return Defect(msg, "--instances")


# ---------------------------------------------------------------------------------------------- running
def _solve_case(case: BenchCase, time_limit_s: float | None, threads: int | None) -> dict[str, Any]:
    from siting.algorithms import pmedian, warehouse
    from siting.core.options import SolverOptions

    t0 = time.perf_counter()
    prob = case.load()
    opts = SolverOptions(time_limit_s=time_limit_s, threads=threads)
    if case.set == "pmed":
        res = pmedian.solve_pmedian(prob, p=int(prob.meta["p"]), options=opts)
        n, p_or_m = prob.n_demand, int(prob.meta["p"])
    elif case.set == "uncap":
        res = warehouse.solve_uflp(prob, options=opts)
        n, p_or_m = prob.n_demand, prob.n_candidates
    else:
        res = warehouse.solve_cflp(prob, options=opts)
        n, p_or_m = prob.n_demand, prob.n_candidates
    seconds = time.perf_counter() - t0
    info = res.info
    from siting.single.verify import verify

    verdict = verify(prob, res)
    extra: dict[str, Any] = {"verified": verdict.ok}
    if not verdict.ok:
        extra["verify_problems"] = list(verdict.problems)[:5]
    return {
        "instance": case.instance,
        "set": case.set,
        "n": int(n),
        "p_or_m": int(p_or_m),
        "known_optimum": case.known_optimum,
        "objective": None if not math.isfinite(info.objective) else float(info.objective),
        "status": info.status.value,
        "termination": info.termination.value,
        "gap": None if not math.isfinite(info.gap) else float(info.gap),
        "seconds": round(seconds, 3),
        "build_seconds": round(info.build_seconds, 3),
        "solve_seconds": round(info.solve_seconds, 3),
        **extra,
    }


def _peak_mb_self() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child(conn: Any, case: BenchCase, time_limit_s: float | None, threads: int | None) -> None:
    """Worker body: solve ``case`` and send ``(kind, payload)`` back; ``peak_mb`` is this process's own peak."""
    try:
        rec = _solve_case(case, time_limit_s, threads)
        rec["peak_mb"] = round(_peak_mb_self(), 1)
        payload: Any = ("ok", rec)
    except InputError as exc:  # ship every defect (the exception's own pickling keeps only one line)
        payload = ("input", (type(exc), list(exc.defects)))
    except BaseException as exc:  # noqa: BLE001 - re-raised in the parent
        payload = ("err", exc)
    try:
        conn.send(payload)
    except Exception as exc:  # noqa: BLE001 - an unpicklable exception
        conn.send(("err", RuntimeError(f"{type(payload[1]).__name__}: {payload[1]} ({exc})")))
    finally:
        conn.close()


def _context() -> Any:
    """A ``forkserver`` multiprocessing context whose server preloads the modelling stack.

    Children are forked from a clean server that never ran HiGHS (forking a process whose HiGHS thread pool
    has started deadlocks the child), and each run's peak memory is its own.
    """
    import multiprocessing as mp

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["highspy", "pyomo.environ", "pyomo.repn.plugins.standard_form",
                                "siting.algorithms.pmedian", "siting.bench.orlib"])
    return ctx


def _run_isolated(ctx: Any, case: BenchCase, time_limit_s: float | None, threads: int | None) -> dict[str, Any]:
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, case, time_limit_s, threads), daemon=True)
    proc.start()
    send.close()
    try:
        kind, value = recv.recv()
    except EOFError:
        proc.join()
        raise RuntimeError(f"benchmark worker for {case.instance} died (exit code {proc.exitcode})") from None
    finally:
        recv.close()
    proc.join()
    if kind == "input":
        raise value[0](value[1])
    if kind == "err":
        raise value
    return value


def run_case(
    case: BenchCase, *, time_limit_s: float | None = None, threads: int | None = None, isolate: bool = True
) -> dict[str, Any]:
    """Solve one case; return the JSON-able record (see :func:`run_cases`).

    With ``isolate`` (default) the case runs in a child process forked from a clean ``forkserver`` (see
    :func:`_context`), so that ``peak_mb`` is that run's own peak resident memory (it includes the ~150 MB
    of the preloaded Python stack).
    """
    if isolate:
        rec = _run_isolated(_context(), case, time_limit_s, threads)
    else:
        rec = _solve_case(case, time_limit_s, threads)
        rec["peak_mb"] = round(_peak_mb_self(), 1)
    rec["matches"] = matches(rec["objective"], case.known_optimum)
    return rec


def matches(objective: float | None, known: float | None, *, rel_tol: float = 1e-6) -> bool | None:
    """Whether ``objective`` equals ``known`` within ``rel_tol`` (``None`` when no optimum is known)."""
    if known is None:
        return None
    if objective is None or not math.isfinite(objective):
        return False
    return abs(objective - known) <= rel_tol * max(abs(known), 1.0)


def run_cases(
    cases: Iterable[BenchCase],
    *,
    time_limit_s: float | None = None,
    threads: int | None = None,
    isolate: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Solve every case in turn. Each record has ``instance, set, n, p_or_m, known_optimum, objective,
    status, gap, seconds, peak_mb`` plus ``termination``, ``build_seconds``, ``solve_seconds``, ``verified``
    (:func:`siting.single.verify.verify` passed) and ``matches`` (``None`` without a known optimum)."""
    out = []
    ctx = _context() if isolate else None
    for case in cases:
        if ctx is not None:
            rec = _run_isolated(ctx, case, time_limit_s, threads)
            rec["matches"] = matches(rec["objective"], case.known_optimum)
        else:
            rec = run_case(case, time_limit_s=time_limit_s, threads=threads, isolate=False)
        out.append(rec)
        if on_result is not None:
            on_result(rec)
    return out
