r"""Branch-and-Benders-cut for the p-median master of :mod:`~siting.algorithms.benders`, with our own tree.

highspy cannot add rows inside its branch and bound (its lazy-constraint callback is declared but never
called in 1.16), so the iterated-MIP route restarts HiGHS's tree after every round of cuts, and HiGHS's node
bounds only know the cuts present. Here the tree is ours and HiGHS solves the node LPs (dual simplex,
warm-started from the parent's final basis, stored with each open node):

* **Node bound.** At each node the master LP with the node's bounds on :math:`y` is re-solved and cut until
  no Benders cut of :mod:`~siting.algorithms.benders_cuts` is violated (or the bound meets the cutoff, or the
  rounds tail off): the bound of a node is then Elloumi's LP bound of its sub-problem. Every cut is globally
  valid, so the cuts are kept in the one master and shared by all nodes. The LP value after the last round
  is a valid bound (a relaxation with a subset of the cuts) even when the loop stops early.
* **Reduced-cost fixing** at every node (Nemhauser & Wolsey): with node bound :math:`L`, cutoff :math:`U`
  (incumbent, less 1 for integral data) and reduced cost :math:`r_j`, a free :math:`y_j` at 0 with
  :math:`L + r_j > U` is closed, and one at 1 with :math:`L - r_j > U` is opened, for the node's subtree.
* **Integral node solutions** are evaluated exactly (:math:`\phi(y)`); a node whose integral LP solution
  violates no cut is solved (its bound is that solution's true cost).
* **Incumbent**: the caller's (greedy + vertex substitution, and local search from the root LP), improved by
  every integral node LP. Two in-tree heuristics were measured and dropped: a RENS sub-MIP (u1432, p = 400:
  621 free candidates, nothing better than local search's in its 12 s cap) and LP diving (generated
  (600, 10): 56.9 s against 19.1 s without, at the same load; the start is usually already optimal).
* **Search**: best bound first (deeper first among ties, the up branch first); branching on
  the free :math:`y_j` whose LP value is nearest to 1/2 (most fractional). Measured against branching on
  the largest fractional :math:`y_j` and against plunging: best-first most-fractional took the fewest
  nodes (generated (600, 10): 175 against 155-311; (900, 20): 159 against 189-408; pmed16: 33 against 47),
  so plunging was dropped. Pseudocost branching (product rule, unbranched variables at the mean) was
  measured too and dropped: generated (600, 10) 193 nodes against 187, (800, 10) 159 against 221, u1432
  p = 50 the same bound after 40 s (361,958 against 361,950). Branching on a demand's cover (the down branch
  closes every candidate nearer than a distance level, the up branch adds the row :math:`\sum y_j \ge 1` over
  them, choosing the most fractional cover) was measured too and dropped: u1432 p = 400 reached the same
  bound in 30 s (103,475 in 273 nodes against 103,480 in 593), and generated (600, 10) was not proven in
  60 s (466 nodes) against 24 s (195 nodes) with branching on :math:`y`.

* **Warm start from the parent.** Best-first search jumps between subtrees, so the basis HiGHS holds
  after the previous node is usually far from the next node's optimum. Each open node keeps its parent's
  final basis (two status lists, rows added since then enter basic) and starts from it: generated
  (600, 10) 326 -> 105 dual simplex iterations per node LP, 14.9 -> 8.3 s in all; (800, 10) 16 -> 10 s.

The global lower bound is the smallest bound of an open node (or the incumbent when none is left).
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siting.algorithms.benders_cuts import SortedCosts, make_cuts, separate
from siting.core.problem import Problem
from siting.core.results import TerminationCondition

#: The incumbent's local search (``improve``) runs first when the tree has run ``IMPROVE_AFTER_S`` seconds,
#: then each time its time doubles, for this share of the time the tree has taken (at least
#: ``IMPROVE_MIN_S``), halved after each call that finds nothing. A trigger by node count (first at 100
#: nodes) cost generated (800, 10), whose start is already optimal, 2.6 s of 8; instances that close in 10 s
#: never pay for it.
IMPROVE_AFTER_S = 10.0
IMPROVE_SHARE = 0.15
IMPROVE_MIN_S = 0.5


@dataclass
class TreeStats:
    """Counters of one :func:`branch_and_cut` run."""

    nodes: int = 0
    lp_solves: int = 0
    cuts_added: int = 0
    fixed_at_nodes: int = 0
    max_depth: int = 0
    open_left: int = 0
    improve_calls: int = 0
    improved: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"tree_nodes": self.nodes, "tree_lp_solves": self.lp_solves, "tree_cuts": self.cuts_added,
                "tree_fixed": self.fixed_at_nodes, "tree_max_depth": self.max_depth,
                "tree_open_left": self.open_left, "tree_improve_calls": self.improve_calls,
                "tree_improved": self.improved}


@dataclass(order=True)
class _Node:
    bound: float
    neg_depth: int
    seq: int
    lo: np.ndarray = field(compare=False)
    hi: np.ndarray = field(compare=False)
    basis: tuple[list, list] | None = field(compare=False, default=None)  # the parent's final LP basis


@dataclass
class _Incumbent:
    value: float
    open_idx: np.ndarray
    margin: float  # 1 - 2e-6 for integral data (a better solution is at least 1 cheaper), else 0
    rel_gap: float

    @property
    def cutoff(self) -> float:
        """Bound at or above which a node cannot hold a better solution."""
        if not math.isfinite(self.value):
            return math.inf
        return self.value - max(self.margin, self.rel_gap * abs(self.value), 1e-9 * max(1.0, abs(self.value)))


def branch_and_cut(master: Any, sc: SortedCosts, problem: Problem, p: int, *,
                   best_val: float, best_open: np.ndarray, root_bound: float, integral: bool,
                   rel_gap: float, deadline: float | None, max_node_rounds: int = 25,
                   node_limit: int | None = None,
                   improve: Callable[[np.ndarray, float], tuple[float, np.ndarray]] | None = None,
                   trace: bool = False
                   ) -> tuple[float, np.ndarray, float, TerminationCondition, TreeStats]:
    """Solve the p-median master exactly by our own branch and bound with Benders cuts at every node.

    Parameters
    ----------
    master
        :class:`~siting.algorithms.benders._Master`-like: ``h`` (``highspy.Highs`` in LP mode, columns ``y``
        then ``theta``), ``m``, ``n`` and ``add(cuts)``. Its column bounds are the root's (after root fixing).
    sc, problem, p
        Sorted costs, the problem (its weights) and the number of sites.
    best_val, best_open
        The incumbent (``inf`` and empty when none).
    root_bound
        A valid lower bound already known (the root LP bound).
    integral
        All costs and weights are integers (a better solution is then at least 1 cheaper).
    rel_gap
        Relative gap at which a node is pruned (and the search stops).
    deadline, node_limit
        Stop at this ``time.perf_counter()`` or after this many nodes; the bound is then the smallest open
        node's.
    improve
        ``improve(incumbent, until)`` -> (value, open sites): a local search from the incumbent until the
        ``time.perf_counter()`` given. Called when the tree is still open after :data:`IMPROVE_AFTER_S`
        seconds and again each time its time doubles, for :data:`IMPROVE_SHARE` of the time the tree has
        run, halved after each call that finds nothing (a better incumbent lowers the cutoff of every open
        node).

    Returns
    -------
    (incumbent value, incumbent, lower bound, termination, stats)
        The lower bound is the smallest of the open nodes' bounds and the final cutoff (for integral data
        ``incumbent - 1 + 2e-6``, whose ceiling is the incumbent).
    """
    h = master.h
    m = master.m
    w = np.asarray(problem.weight, dtype=np.float64)
    inc = _Incumbent(best_val, np.asarray(best_open, dtype=np.int64), 1.0 - 2e-6 if integral else 0.0, rel_gap)
    stats = TreeStats()
    lp = h.getLp()
    root_lo = np.asarray(lp.col_lower_)[:m].copy()
    root_hi = np.asarray(lp.col_upper_)[:m].copy()
    all_y = np.arange(m, dtype=np.int32)
    seq = itertools.count()
    heap: list[_Node] = [_Node(root_bound, 0, next(seq), root_lo, root_hi)]
    term = TerminationCondition.OPTIMAL
    t_tree = time.perf_counter()
    next_improve_s = IMPROVE_AFTER_S
    share = IMPROVE_SHARE
    while heap:
        if heap[0].bound >= inc.cutoff:  # best-first: every open node is dominated
            heap.clear()
            break
        if (deadline is not None and time.perf_counter() >= deadline) or (
                node_limit is not None and stats.nodes >= node_limit):
            term = TerminationCondition.ITERATION_LIMIT if node_limit is not None and stats.nodes >= node_limit \
                else TerminationCondition.TIME_LIMIT
            break
        now = time.perf_counter()
        if improve is not None and now - t_tree >= next_improve_s and len(inc.open_idx):
            next_improve_s = 2.0 * (now - t_tree)
            until = now + max(IMPROVE_MIN_S, share * (now - t_tree))
            val, open_idx = improve(inc.open_idx, until if deadline is None else min(until, deadline))
            stats.improve_calls += 1
            if val < inc.value - 1e-9 * max(1.0, abs(val)):
                inc.value, inc.open_idx = val, np.asarray(open_idx, dtype=np.int64)
                stats.improved += 1
            else:  # nothing found: the incumbent is likely optimal already, spend less next time
                share *= 0.5
            continue  # the cutoff may have fallen: check the heap's best again
        node = heapq.heappop(heap)
        for child in _process(master, sc, p, w, inc, stats, node, all_y, seq,
                              max_node_rounds=max_node_rounds, deadline=deadline):
            heapq.heappush(heap, child)
        if trace and stats.nodes % 50 == 0 and heap:
            print(f"  tree: {stats.nodes} nodes, {len(heap)} open, bound {heap[0].bound:.3f} "
                  f"incumbent {inc.value:.3f} rows {master.n_cuts}", flush=True)
    stats.open_left = len(heap)
    # every node pruned or fixed away had a bound at or above the cutoff of its time, which only falls
    lower = min([nd.bound for nd in heap] + [inc.cutoff, inc.value])
    h.changeColsBounds(m, all_y, root_lo, root_hi)
    return inc.value, inc.open_idx, lower, term, stats


def _process(master: Any, sc: SortedCosts, p: int, w: np.ndarray, inc: _Incumbent, stats: TreeStats,
             node: _Node, all_y: np.ndarray, seq: Any, *, max_node_rounds: int, deadline: float | None
             ) -> list[_Node]:
    """Bound one node (cut loop, reduced-cost fixing) and return its children, the up branch first."""
    h, m = master.h, master.m
    stats.nodes += 1
    stats.max_depth = max(stats.max_depth, -node.neg_depth)
    h.changeColsBounds(m, all_y, node.lo, node.hi)
    if node.basis is not None:
        _set_basis(master, node.basis)
    out = _solve_node(master, sc, w, inc, stats, max_rounds=max_node_rounds, deadline=deadline)
    if out is None:  # infeasible, or its bound meets the cutoff
        return []
    bound, y, rc, exact = out
    bound = max(bound, node.bound)
    if exact or bound >= inc.cutoff:
        return []
    lo, hi = node.lo.copy(), node.hi.copy()
    stats.fixed_at_nodes += _fix_at_node(y, rc, bound, inc.cutoff, lo, hi)
    j = _branch_candidate(y, lo, hi)
    basis = _get_basis(master)
    if j < 0:  # every free y integral yet cuts still violated after max_rounds: solve it again, deeper
        return [_Node(bound, node.neg_depth - 1, next(seq), lo, hi, basis)]
    children = []
    for val in (1.0, 0.0):
        clo, chi = lo.copy(), hi.copy()
        clo[j] = chi[j] = val
        if clo.sum() <= p:
            children.append(_Node(bound, node.neg_depth - 1, next(seq), clo, chi, basis))
    return children


def _get_basis(master: Any) -> tuple[list, list]:
    """The LP basis just solved (column and row statuses), for the node's children."""
    b = master.h.getBasis()
    return b.col_status, b.row_status


def _set_basis(master: Any, saved: tuple[list, list]) -> None:
    """Start the next LP from a parent's basis; rows (cuts) added since then enter basic (their slacks)."""
    hp = master.hp
    cols, rows = saved
    b = hp.HighsBasis()
    b.col_status = cols
    b.row_status = rows + [hp.HighsBasisStatus.kBasic] * (master.h.getNumRow() - len(rows))
    b.valid = True
    master.h.setBasis(b)


def _solve_node(master: Any, sc: SortedCosts, w: np.ndarray, inc: _Incumbent, stats: TreeStats, *,
                max_rounds: int, deadline: float | None
                ) -> tuple[float, np.ndarray, np.ndarray, bool] | None:
    """Cut loop at one node. Returns ``None`` (pruned) or (bound, y, reduced costs of y, exact): ``exact``
    when the LP solution is integral and violates no cut (the node is solved); ``bound``, ``y`` and the
    reduced costs come from the same (last) LP solve."""
    h = master.h
    m = master.m
    bound, y, rc, last = -math.inf, np.zeros(m), np.zeros(m), []
    for _ in range(max_rounds):
        if deadline is not None and time.perf_counter() >= deadline:
            break
        h.run()
        stats.lp_solves += 1
        status = h.modelStatusToString(h.getModelStatus())
        if status == "Infeasible":
            return None
        if status != "Optimal":
            break
        solution = h.getSolution()
        sol = np.asarray(solution.col_value)
        y, theta = sol[:m], sol[m:]
        rc = np.asarray(solution.col_dual)[:m].copy()
        bound = float(h.getInfo().objective_function_value)
        if bound >= inc.cutoff:
            return None
        integral_y = bool(np.all(np.minimum(y, 1.0 - y) < 1e-6))
        yk = np.round(y) if integral_y else y
        k, phi = separate(sc, yk)
        if integral_y:
            val = float(w @ phi)
            if val < inc.value - 1e-9 * max(1.0, abs(val)):
                inc.value, inc.open_idx = val, np.flatnonzero(yk > 0.5)
        viol = np.flatnonzero(phi - theta > 1e-7 * np.maximum(1.0, np.abs(phi)))
        if not len(viol):
            return bound, y, rc, integral_y
        cuts = make_cuts(sc, yk, viol, k=k)
        master.add(cuts)
        stats.cuts_added += len(cuts)
        last.append(bound)
        if len(last) >= 4 and last[-1] - last[-4] <= 1e-4 * max(1.0, abs(last[-1])):
            break  # tailing off: branch instead
    if not math.isfinite(bound):
        return None if deadline is None or time.perf_counter() < deadline else (bound, y, rc, False)
    return bound, y, rc, False


def _fix_at_node(y: np.ndarray, rc: np.ndarray, bound: float, cutoff: float, lo: np.ndarray, hi: np.ndarray
                 ) -> int:
    """Reduced-cost fixing into the node's bound arrays (for its children); returns how many were fixed."""
    if not math.isfinite(cutoff):
        return 0
    free = lo < hi
    close = free & (y < 1e-9) & (bound + rc > cutoff + 1e-9)
    open_ = free & (y > 1.0 - 1e-9) & (bound - rc > cutoff + 1e-9)
    hi[close] = 0.0
    lo[open_] = 1.0
    return int(close.sum() + open_.sum())


def _branch_candidate(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> int:
    """The free ``y_j`` nearest to 1/2 (``-1`` when every free one is integral)."""
    frac = np.minimum(y - lo, hi - y)
    frac = np.where(lo < hi, np.minimum(frac, np.minimum(y, 1.0 - y)), -1.0)
    j = int(np.argmax(frac))
    return j if frac[j] > 1e-6 else -1
