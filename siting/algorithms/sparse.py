r"""p-median and UFLP on large sparse instances (100,000 demands x 5,000 candidates, radius-limited pairs):
Lagrangian lower bound + local-search incumbent over the allowed pairs only, with a certified gap.

The dense routes (:mod:`siting.algorithms.benders`, :mod:`siting.algorithms.radius`, the UFLP fast path)
build ``(n, m)`` arrays; here memory and time per iteration are linear in the number of allowed pairs ``k``
(:class:`~siting.algorithms.sparse_pairs.SparsePairs`, each demand's pairs sorted by cost ``c_ij = w_i
d_ij``).

Model (assignment over the allowed pairs :math:`A`; p-median: :math:`f = 0` and :math:`\sum_j y_j = p`;
UFLP: no count row)

.. math::

    \min \sum_j f_j y_j + \sum_{(i,j) \in A} c_{ij} x_{ij} \quad\text{s.t.}\quad
    \sum_{j:(i,j)\in A} x_{ij} = 1,\;\; x_{ij} \le y_j,\;\; y_j = 1 \;(j \text{ required}),\;\;
    y_j = 0 \;(j \text{ forbidden}),\;\; x \ge 0,\; y \in \{0, 1\}.

Lower bound (Lagrangian relaxation of the assignment rows, multipliers :math:`\lambda_i`; Beasley 1993,
Cornuéjols, Fisher & Nemhauser 1977)

.. math::

    L(\lambda) = \sum_i \lambda_i + \min_{y} \sum_j (f_j + \rho_j) y_j, \qquad
    \rho_j = \sum_{i:(i,j)\in A} \min(0,\, c_{ij} - \lambda_i),

the minimum taken over the required sites plus the :math:`p - |R|` smallest :math:`f_j + \rho_j` of the
others (p-median) or every site with :math:`f_j + \rho_j < 0` (UFLP). Each :math:`L(\lambda)` is a valid lower
bound (weak duality); only the entries of each row cheaper than :math:`\lambda_i` count, found by a
vectorised binary search in the sorted rows. :math:`\lambda` starts at each row's cost at the rank
``t`` (the best of ranks 0, 1, 2, 4, ... by :math:`L`) and follows subgradient steps with Polyak's rule
:math:`\theta (U - L)/\|g\|^2`, :math:`g_i = 1 - |\{j \in S: c_{ij} < \lambda_i\}|`, :math:`\theta`
halved after ``patience`` steps without a better bound. The step follows the deflected direction
:math:`d_k = g_k + \gamma \max(0, -g_k^\top d_{k-1}) / \|d_{k-1}\|^2 \, d_{k-1}` (Camerini, Fratta &
Maffioli 1975, :math:`\gamma` = :data:`DEFLECT`), which damps the zig-zag of plain subgradient steps.

Reduced-cost fixing: forcing a site :math:`j` that the best subproblem left closed to open raises its value
to at least :math:`L + \delta_j` (:math:`\delta_j = f_j + \rho_j - \max_{k \in S \setminus R}(f_k + \rho_k)`
for the p-median, :math:`f_j + \rho_j` for UFLP); when that exceeds the incumbent :math:`U`, no solution
better than :math:`U` opens :math:`j`, so it is closed for the search and for the later Lagrangian phases.
The bound stated is then :math:`\min(U, L_{\text{restricted}})`, which is a valid bound of the whole problem.

Incumbent: the first subproblem's sites, then in each phase the running average of the subproblems' choices
(an estimate of the LP's :math:`y`) rounded to its ``p`` largest entries (UFLP: those :math:`\ge 1/2`), each
improved by the swap (and, for UFLP, add / drop) local search of
:mod:`siting.algorithms.sparse_search` on the penalised cost (a demand without an open allowed site costs
more than any feasible solution, so coverage is repaired first). Phases of Lagrangian steps and local
searches alternate until the gap ``(U - L) / U`` is at most ``options.mip_rel_gap`` (status OPTIMAL within
that gap), the time limit, the phase limit, or no progress (status FEASIBLE, the gap stated). The objective
reported is recomputed from the problem's own arrays with numpy.

Measured and not kept: spending the time left after the phases on local searches from random roundings of
the averaged choices. On 100k x 5k with p = 200 (pairs of ``benchmarks/bench_scale.py``) the phases end at
107 s with the gap at 0.72 % and the bound flat over the last four phases; 36 such searches in the remaining
133 s found nothing better than the incumbent. Nor restarting the step size (theta back to 0.25 when it
falls below 1e-4, three times, phases up to 40): the bound rose from 4,642,421 to 4,643,421 in the 125 s
more, the gap from 0.723 % to 0.702 %.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siting.algorithms.common import check_p, make_solve_info
from siting.algorithms.sparse_pairs import SparsePairs, penalty_cost, sparse_pairs
from siting.algorithms.sparse_search import LocalSearch
from siting.core.options import SolverOptions
from siting.core.problem import Problem
from siting.core.results import Result, TerminationCondition
from siting.model.levels import prefix_index, row_count_below

__all__ = [
    "SPARSE_SOLVER",
    "SubResult",
    "lagrangian_step",
    "solve_pmedian_sparse",
    "solve_sparse",
    "solve_uflp_sparse",
]

SPARSE_SOLVER = "siting sparse Lagrangian + local search"
#: Camerini-Fratta-Maffioli deflection factor (0 = plain subgradient); measured on the generated 10,000 x
#: 1,000 instance of ``benchmarks/bench_scale.py``: p = 50 gap 0.335 % -> 0.151 %, p = 200 0.200 % -> 0.100 %
DEFLECT = 1.5
#: weight of the newest subproblem choice in the running average that the local search starts from
AVERAGE = 0.1


@dataclass(frozen=True)
class SubResult:
    """One Lagrangian subproblem: its value (a lower bound), chosen sites, reduced costs and subgradient."""

    value: float
    chosen: np.ndarray
    reduced: np.ndarray
    subgradient: np.ndarray
    count: np.ndarray


def count_below(sp: SparsePairs, lam: np.ndarray, guess: np.ndarray | None = None) -> np.ndarray:
    """Entries of each row cheaper than ``lam[i]``: a few linear steps from ``guess`` (the previous
    iteration's counts; rows move little between subgradient steps), then binary search for the rest."""
    if guess is None:
        return row_count_below(sp.cost, sp.indptr, lam)
    start, length = sp.indptr[:-1], np.diff(sp.indptr)
    cnt = guess.copy()
    rows = np.arange(sp.n)
    for _ in range(3):
        c, s, n_, lm = cnt[rows], start[rows], length[rows], lam[rows]
        up = (c < n_) & (sp.cost[s + np.minimum(c, n_ - 1)] < lm)
        down = (c > 0) & (sp.cost[s + np.maximum(c - 1, 0)] >= lm)
        rows = rows[up | down]
        cnt[rows] += up[up | down].astype(np.int64) - down[up | down]
        if not len(rows):
            return cnt
    lo, hi = start[rows].copy(), start[rows] + length[rows]
    lm, last = lam[rows], len(sp.cost) - 1
    while True:
        active = lo < hi
        if not active.any():
            break
        mid = (lo + hi) // 2
        left = active & (sp.cost[np.minimum(mid, last)] < lm)
        lo = np.where(left, mid + 1, lo)
        hi = np.where(active & ~left, mid, hi)
    cnt[rows] = lo - start[rows]
    return cnt


def lagrangian_step(sp: SparsePairs, lam: np.ndarray, *, fixed: np.ndarray, p: int | None,
                    free: np.ndarray, required: np.ndarray, guess: np.ndarray | None = None) -> SubResult:
    """Solve the Lagrangian subproblem at ``lam`` (module docstring); ``free``: sites the choice may open;
    ``guess``: the previous step's ``SubResult.count`` (speeds up the search of each row's prefix)."""
    cnt = count_below(sp, lam, guess)
    idx = prefix_index(sp.indptr, cnt)
    rows, cand = sp.row[idx], sp.cand[idx]
    rho = np.bincount(cand, weights=sp.cost[idx] - lam[rows], minlength=sp.m)
    val = np.asarray(fixed) + rho
    chosen = required.copy()
    reduced = np.full(sp.m, np.inf)
    vf = np.where(free, val, np.inf)
    if p is None:
        chosen |= free & (val < 0)
        reduced[free] = np.abs(val[free])
    else:
        k_free = p - int(required.sum())
        if k_free > 0:
            pick = np.argpartition(vf, k_free - 1)[:k_free]
            chosen[pick] = True
            reduced[free] = np.maximum(val[free] - float(vf[pick].max()), 0.0)
    reduced[chosen] = 0.0
    value = float(lam.sum() + val[chosen].sum())
    g = 1.0 - np.bincount(rows[chosen[cand]], minlength=sp.n)
    return SubResult(value=value, chosen=chosen, reduced=reduced, subgradient=g, count=cnt)


def _initial_multipliers(sp: SparsePairs, *, fixed: np.ndarray, p: int | None, free: np.ndarray,
                         required: np.ndarray) -> tuple[np.ndarray, SubResult]:
    """Each row's cost at rank ``t`` for the ``t`` in 0, 1, 2, 4, ... whose Lagrangian value is best."""
    length = np.diff(sp.indptr)
    best: tuple[np.ndarray, SubResult] | None = None
    t = 0
    while True:
        lam = sp.cost[sp.indptr[:-1] + np.minimum(t, length - 1)]
        sub = lagrangian_step(sp, lam, fixed=fixed, p=p, free=free, required=required)
        if best is None or sub.value > best[1].value:
            best = (lam, sub)
        elif t > 2:
            break
        if t >= int(length.max()) - 1:
            break
        t = max(1, 2 * t)
    return best


@dataclass
class _Run:
    sp: SparsePairs
    fixed: np.ndarray
    p: int | None
    required: np.ndarray
    allowed: np.ndarray
    penalty: float
    integral: bool
    lam: np.ndarray
    closed: np.ndarray  # closed by reduced-cost fixing
    lower: float = -math.inf
    upper: float = math.inf
    best_open: np.ndarray | None = None
    iterations: int = 0
    moves: int = 0
    lag_s: float = 0.0
    search_s: float = 0.0
    trace: list = field(default_factory=list)
    ybar: np.ndarray | None = None

    def rounded(self) -> np.ndarray:
        """The averaged subproblem choices rounded: the ``p`` largest (p-median) or those >= 1/2 (UFLP)."""
        y = np.where(self.allowed & ~self.closed, self.ybar, -1.0)
        out = self.required.copy()
        if self.p is None:
            out |= y >= 0.5
        else:
            k = self.p - int(self.required.sum())
            if k > 0:
                out[np.argpartition(-y, k - 1)[:k]] = True
        return out

    def bound(self) -> float:
        b = math.ceil(self.lower - 1e-6) if self.integral and math.isfinite(self.lower) else self.lower
        return min(b, self.upper)

    def gap(self) -> float:
        if not math.isfinite(self.upper):
            return math.inf
        return (self.upper - self.bound()) / max(abs(self.upper), 1e-9)

    def fix(self, sub: SubResult) -> None:
        """Close the sites whose forced opening costs more than the incumbent."""
        if not math.isfinite(self.upper):
            return
        cut = sub.value + sub.reduced > self.upper + 1e-9 * max(1.0, abs(self.upper))
        cut &= ~self.required
        if self.best_open is not None:
            cut[self.best_open] = False
        self.closed |= cut

    def search(self, start: np.ndarray, deadline: float, columns: Any) -> None:
        t0 = time.perf_counter()
        free = self.allowed & ~self.closed
        ls = LocalSearch(self.sp, start & (free | self.required), fixed=self.fixed, penalty=self.penalty,
                         can_open=free, can_close=~self.required, swaps_only=self.p is not None,
                         columns=columns)
        self.moves += ls.run(deadline=deadline)
        if ls.feasible and ls.objective < self.upper:
            self.upper, self.best_open = ls.objective, np.flatnonzero(ls.open)
        self.search_s += time.perf_counter() - t0

    def ascend(self, n_iter: int, deadline: float, target: float, patience: int, theta: float) -> tuple[
            SubResult, float]:
        """Subgradient steps from ``self.lam``; return the best subproblem of this phase and the last theta."""
        t0 = time.perf_counter()
        free = self.allowed & ~self.closed & ~self.required
        best: SubResult | None = None
        best_lam = self.lam
        stall, guess, direction = 0, None, None
        self.ybar = np.zeros(self.sp.m)
        for _ in range(n_iter):
            sub = lagrangian_step(self.sp, self.lam, fixed=self.fixed, p=self.p, free=free, required=self.required,
                                  guess=guess)
            guess = sub.count
            self.ybar += AVERAGE * (sub.chosen - self.ybar)  # primal averaging: ~ the LP's y
            self.iterations += 1
            if best is None or sub.value > best.value + 1e-12 * abs(best.value):
                best, best_lam, stall = sub, self.lam, 0
            else:
                stall += 1
                if stall >= patience:
                    theta, stall = theta / 2.0, 0
            self.lower = max(self.lower, sub.value)
            g = sub.subgradient
            if float(g @ g) == 0.0 or self.gap() <= target or time.perf_counter() > deadline or theta < 1e-4:
                break
            if direction is not None and DEFLECT > 0:  # Camerini, Fratta & Maffioli (1975) deflection
                dot = float(g @ direction)
                if dot < 0:
                    g = g - DEFLECT * dot / float(direction @ direction) * direction
            direction = g
            aim = self.upper if math.isfinite(self.upper) else 1.05 * abs(best.value) + 1.0
            step = theta * max(aim - sub.value, 1e-9 * abs(aim)) / float(g @ g)
            self.lam = np.maximum(self.lam + step * g, 0.0)
        self.lam = best_lam
        self.lag_s += time.perf_counter() - t0
        return best, theta


def solve_sparse(
    problem: Problem,
    *,
    p: int | None,
    options: SolverOptions = SolverOptions(),
    use_time: bool = False,
    phases: int = 12,
    phase_iterations: int = 60,
    patience: int = 8,
) -> Result:
    """p-median (``p`` given) or UFLP (``p=None``) by the sparse Lagrangian + local search (module docstring).

    Parameters
    ----------
    problem
        Demands, candidates, allowed pairs, weights, fixed costs (UFLP), required/forbidden candidates.
    p
        Number of facilities (p-median), or ``None`` for UFLP.
    options
        ``mip_rel_gap``: stop when the certified gap is at most this (status OPTIMAL within it);
        ``time_limit_s``: wall-clock limit (default none; the phase limit applies).
    phases, phase_iterations, patience
        At most ``phases`` rounds of ``phase_iterations`` subgradient steps, each followed by a local search
        from the best subproblem's sites; ``theta`` halves after ``patience`` steps without progress.

    Returns
    -------
    Result
        ``model`` ``"p-median"`` or ``"uflp"``; each demand assigned to its nearest open allowed site;
        ``info.bound`` the certified lower bound, ``info.gap`` the certified gap; ``params`` the iterations,
        moves, sites closed by reduced costs and the time in each part.
    """
    t0 = time.perf_counter()
    if p is not None:
        check_p(problem, p)
    deadline = t0 + (options.time_limit_s if options.time_limit_s is not None else math.inf)
    sp = sparse_pairs(problem, use_time=use_time)
    fixed = np.zeros(sp.m) if p is not None else np.asarray(problem.fixed_cost_cny, dtype=np.float64)
    required = np.asarray(problem.required, dtype=bool).copy()
    allowed = ~np.asarray(problem.forbidden, dtype=bool) & ~required
    integral = bool(np.all(sp.cost == np.round(sp.cost)) and np.all(fixed == np.round(fixed)))
    lam, sub = _initial_multipliers(sp, fixed=fixed, p=p, free=allowed, required=required)
    run = _Run(sp=sp, fixed=fixed, p=p, required=required, allowed=allowed, penalty=penalty_cost(sp, fixed),
               integral=integral, lam=lam, closed=np.zeros(sp.m, dtype=bool), lower=sub.value)
    build_s = time.perf_counter() - t0
    columns = sp.columns()
    run.search(sub.chosen, deadline, columns)
    theta, term, done = 1.0, TerminationCondition.ITERATION_LIMIT, 0
    for done in range(1, phases + 1):
        before = run.bound()
        best, theta = run.ascend(phase_iterations, deadline, options.mip_rel_gap, patience, theta)
        run.fix(best)
        run.trace.append((round(time.perf_counter() - t0, 2), run.lower, run.upper))
        if run.gap() <= options.mip_rel_gap:
            break
        run.search(run.rounded(), deadline, columns)
        if run.gap() <= options.mip_rel_gap:
            break
        if time.perf_counter() > deadline:
            term = TerminationCondition.TIME_LIMIT
            break
        if theta < 1e-4 or run.bound() <= before + 1e-7 * abs(before):
            break
    return _result(problem, run, options=options, term=term, build_s=build_s,
                   solve_s=time.perf_counter() - t0 - build_s, phases=done, use_time=use_time)


def _result(problem: Problem, run: _Run, *, options: SolverOptions, term: TerminationCondition, build_s: float,
            solve_s: float, phases: int, use_time: bool) -> Result:
    model = "p-median" if run.p is not None else "uflp"
    params: dict[str, Any] = {
        "algorithm": SPARSE_SOLVER, "pairs": run.sp.k, "lagrangian_bound": run.lower,
        "lagrangian_iterations": run.iterations, "phases": phases, "moves": run.moves,
        "closed_by_reduced_cost": int(run.closed.sum()), "lagrangian_seconds": round(run.lag_s, 3),
        "search_seconds": round(run.search_s, 3), "trace": run.trace}
    if run.p is not None:
        params["p"] = run.p
    if run.best_open is None:  # no covering choice found; not a proof that none exists
        info = make_solve_info(term, math.nan, run.bound(), build_s, solve_s, options, False, SPARSE_SOLVER)
        return Result(model=model, info=info, open=np.zeros(0, np.int64), allocation=np.zeros(0), params=params)
    sp, is_open = run.sp, np.zeros(run.sp.m, dtype=bool)
    is_open[run.best_open] = True
    first = np.flatnonzero(is_open[sp.cand])
    pos = first[np.searchsorted(first, sp.indptr[:-1])]  # every row has an open site (feasible incumbent)
    alloc = np.zeros(problem.n_pairs)
    alloc[sp.pair[pos]] = 1.0
    imp = problem.impedance(use_time=use_time)
    value = float(problem.weight @ (imp[sp.pair[pos]]))
    if run.p is None:
        value += float(np.asarray(problem.fixed_cost_cny)[run.best_open].sum())
    run.upper = value
    proven = run.gap() <= options.mip_rel_gap
    params["certified_gap"] = run.gap()
    info = make_solve_info(term, value, run.bound(), build_s, solve_s, options, proven, SPARSE_SOLVER)
    return Result(model=model, info=info, open=np.asarray(run.best_open, dtype=np.int64), allocation=alloc,
                  params=params)


def solve_pmedian_sparse(problem: Problem, *, p: int, options: SolverOptions = SolverOptions(),
                         use_time: bool = False, **kw: Any) -> Result:
    """p-median by :func:`solve_sparse` (``kw``: its phase options)."""
    return solve_sparse(problem, p=p, options=options, use_time=use_time, **kw)


def solve_uflp_sparse(problem: Problem, *, options: SolverOptions = SolverOptions(), use_time: bool = False,
                      **kw: Any) -> Result:
    """UFLP (``fixed_cost_cny`` plus ``w * d``) by :func:`solve_sparse` (``kw``: its phase options)."""
    return solve_sparse(problem, p=None, options=options, use_time=use_time, **kw)
