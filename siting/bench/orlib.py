"""OR-Library facility-location benchmarks: readers, optima and the benchmark loop.

Formats (J.E. Beasley's OR-Library; see ``shared/benchmarks/orlib/README.md``):

``pmedN.txt`` (uncapacitated p-median)
    ``n n_edges p`` then ``n_edges`` lines ``i j cost`` (1-based vertices). The cost matrix follows
    OR-Library's ``pmedinfo``: ``c(i,j) = inf``, ``c(i,i) = 0``, the edge lines are read **in order** so a
    repeated edge keeps its **last** cost, then all-pairs shortest paths. (A ``scipy.sparse`` matrix built
    straight from the edge list would *sum* the repeats; taking the minimum is wrong too.)

``capNN.txt`` / ``capa.txt`` ... (warehouse location)
    ``m n``; ``m`` lines ``capacity fixed_cost`` (``capa/b/c`` have the word ``capacity`` in place of the
    number); then for each customer ``j``: its demand ``d_j`` and the ``m`` costs ``c_1j .. c_mj`` of serving
    ALL of customer ``j`` from warehouse ``i`` (values wrap over lines).

**Units chosen for the :class:`~siting.core.problem.Problem`** of a cap file: demand ``j`` has ``weight = d_j`` and
pair ``(j, i)`` has per-unit cost ``distance_km = c_ij / d_j``, so that ``sum weight * distance * x`` equals
the published ``sum c_ij x_ij`` and capacity rows read ``sum_j d_j x_ij <= cap_i y_i`` with the problem's own
weights. (A zero demand is rejected: its assignment cost could not be kept.)

Every reader collects all the problems it finds and raises one :class:`~siting.core.errors.DataError` naming the
file and line of each.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
import numpy as np
from siting.core.errors import DataError, DefectCollector
from siting.core.problem import Problem


CAPACITY_WORD = "capacity"


#: The four capacities of each ``capa/capb/capc`` file (Beasley's ``capinfo``); used when the optima files of
#: a directory do not name the expansions themselves (``capa8000`` ...).
DEFAULT_CAPACITIES: dict[str, tuple[float, ...]] = {
    "capa": (8000.0, 10000.0, 12000.0, 14000.0),
    "capb": (5000.0, 6000.0, 7000.0, 8000.0),
    "capc": (5000.0, 5750.0, 6500.0, 7250.0),
}


# ---------------------------------------------------------------------------------------------- tokens
def _read_tokens(path: Path) -> tuple[list[str], np.ndarray]:
    """Whitespace tokens of ``path`` and the 1-based line number of each."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    tokens: list[str] = []
    lines: list[int] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if parts:
            tokens.extend(parts)
            lines.extend([lineno] * len(parts))
    return tokens, np.asarray(lines, dtype=np.int64)


def _numbers(
    tokens: Sequence[str],
    lines: np.ndarray,
    start: int,
    found: DefectCollector,
    what: Callable[[int], str],
    *,
    allow_word: str | None = None,
) -> np.ndarray:
    """Parse ``tokens[start:]`` as floats; each bad token is a defect (``nan`` in the result).

    ``allow_word`` (case-insensitive) parses to ``nan`` without a defect.
    """
    sub = tokens[start:]
    try:
        return np.array(sub, dtype=np.float64)
    except ValueError:
        pass
    out = np.empty(len(sub), dtype=np.float64)
    for k, tok in enumerate(sub):
        try:
            out[k] = float(tok)
        except ValueError:
            out[k] = math.nan
            if allow_word is None or tok.lower() != allow_word:
                found.add(f"{what(k)} is {tok!r}, not a number", row=f"line {lines[start + k]}")
    return out


def _check_count(
    tokens: Sequence[str], lines: np.ndarray, start: int, need: int, found: DefectCollector, what: str
) -> None:
    have = len(tokens) - start
    if have < need:
        last = int(lines[-1]) if len(lines) else 1
        found.add(f"{what}: expected {need} values, found {max(have, 0)} (file ends early)", row=f"line {last}")
    elif have > need:
        found.add(
            f"unexpected extra values after the last {what.split(' ')[0]} ({have - need} values)",
            row=f"line {lines[start + need]}",
        )


# ---------------------------------------------------------------------------------------------- pmed
def floyd_warshall(cost: np.ndarray) -> np.ndarray:
    """All-pairs shortest paths by Floyd's algorithm (vectorised numpy, ``O(n^3)``).

    ``cost`` is a square matrix with ``inf`` for missing edges and 0 on the diagonal. Kept as an independent
    check of the ``scipy.sparse.csgraph`` route used by :func:`read_pmed`.
    """
    d = np.array(cost, dtype=np.float64, copy=True)
    for k in range(d.shape[0]):
        np.minimum(d, d[:, k, None] + d[None, k, :], out=d)
    return d


def _dedupe_last(i: np.ndarray, j: np.ndarray, c: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Keep the LAST line of every undirected edge (OR-Library ``pmedinfo`` reads edges in order)."""
    a, b = np.minimum(i, j), np.maximum(i, j)
    key = a * n + b
    rev = key[::-1]
    _, first_in_rev = np.unique(rev, return_index=True)
    keep = np.sort(len(key) - 1 - first_in_rev)
    return a[keep], b[keep], c[keep], len(key) - len(keep)


def pmed_cost_matrix(
    n: int, i: np.ndarray, j: np.ndarray, cost: np.ndarray, *, method: str = "scipy"
) -> tuple[np.ndarray, int]:
    """OR-Library p-median cost matrix from 0-based edge lines; returns ``(matrix, n_repeated_lines)``.

    ``method`` is ``"scipy"`` (Dijkstra from every vertex, :func:`scipy.sparse.csgraph.shortest_path`) or
    ``"floyd"`` (:func:`floyd_warshall`); both give the same matrix.
    """
    a, b, c, n_dup = _dedupe_last(np.asarray(i), np.asarray(j), np.asarray(cost, dtype=np.float64), n)
    if method == "floyd":
        d = np.full((n, n), np.inf)
        np.fill_diagonal(d, 0.0)
        d[a, b] = c
        d[b, a] = c
        return floyd_warshall(d), n_dup
    if method != "scipy":
        raise ValueError(f"method must be 'scipy' or 'floyd', got {method!r}")
    import scipy.sparse as sp
    from scipy.sparse.csgraph import shortest_path

    # the edges are unique after _dedupe_last, so nothing gets summed; csgraph keeps explicit zeros of a
    # sparse input as (zero-cost) edges
    g = sp.csr_matrix((np.concatenate([c, c]), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n))
    return shortest_path(g, method="D", directed=True), n_dup


def read_pmed(path: str | Path, *, method: str = "scipy") -> Problem:
    """Read an OR-Library ``pmedN.txt`` file into a :class:`~siting.core.problem.Problem`.

    Every vertex is both a demand (weight 1) and a candidate; the pair cost is the shortest-path cost.
    ``problem.meta`` holds ``p``, ``instance``, ``set`` (``"pmed"``), ``n_edges`` and ``repeated_edges``.

    Raises
    ------
    DataError
        Every malformed value (file and line), a wrong count, an out-of-range vertex, a self-loop, a
        negative cost, or a graph that is not connected.
    """
    path = Path(path)
    src = str(path)
    found = DefectCollector(src)
    tokens, lines = _read_tokens(path)
    if len(tokens) < 3:
        found.add("header must be 'n_vertices n_edges p'", row="line 1")
        found.raise_if_any(DataError)
    head = _numbers(tokens[:3], lines[:3], 0, found, lambda k: ("n_vertices", "n_edges", "p")[k])
    found.raise_if_any(DataError)
    if not np.all(head == np.round(head)) or head.min() < 0:
        found.add(f"header values must be non-negative integers, got {' '.join(tokens[:3])}", row="line 1")
        found.raise_if_any(DataError)
    n, e, p = (int(v) for v in head)
    if n < 1:
        found.add("n_vertices must be >= 1", row="line 1", column="n_vertices")
    if not 1 <= p <= max(n, 1):
        found.add(f"p must be in 1..{n}, got {p}", row="line 1", column="p")
    _check_count(tokens, lines, 3, 3 * e, found, "edge lines 'i j cost'")
    found.raise_if_any(DataError)
    body = _numbers(tokens[: 3 + 3 * e], lines, 3, found, lambda k: ("vertex i", "vertex j", "cost")[k % 3])
    vals = body.reshape(e, 3)
    parsed = ~np.isnan(vals).any(axis=1)  # rows with a non-number are already reported
    where = lines[3 : 3 + 3 * e : 3]
    ij = vals[:, :2]
    bad_v = np.flatnonzero(parsed & np.any((ij != np.round(ij)) | (ij < 1) | (ij > n), axis=1))
    for k in bad_v[:20]:
        found.add(f"vertex ids must be integers in 1..{n}, got {tokens[3 + 3 * k]} {tokens[4 + 3 * k]}",
                  row=f"line {where[k]}")
    loops = np.flatnonzero(parsed & (ij[:, 0] == ij[:, 1]))
    for k in loops[:20]:
        found.add(f"edge from vertex {tokens[3 + 3 * k]} to itself", row=f"line {where[k]}")
    bad_c = np.flatnonzero(parsed & (~np.isfinite(vals[:, 2]) | (vals[:, 2] < 0)))
    for k in bad_c[:20]:
        found.add(f"edge cost must be a finite number >= 0, got {tokens[5 + 3 * k]}", row=f"line {where[k]}")
    n_bad = len(np.union1d(np.union1d(bad_v, loops), bad_c))
    if n_bad > 60:
        found.add(f"... {n_bad} bad edge lines in all")
    found.raise_if_any(DataError)
    i = ij[:, 0].astype(np.int64) - 1
    j = ij[:, 1].astype(np.int64) - 1
    dist, n_dup = pmed_cost_matrix(n, i, j, vals[:, 2], method=method)
    unreachable = ~np.isfinite(dist)
    if unreachable.any():
        a, b = np.argwhere(unreachable)[0]
        found.add(
            f"the graph is not connected (vertex {a + 1} cannot reach vertex {b + 1}); OR-Library p-median "
            "graphs must be connected"
        )
        found.raise_if_any(DataError)
    ids = [str(k) for k in range(1, n + 1)]
    return Problem.from_cost_matrix(
        dist,
        demand_ids=ids,
        candidate_ids=ids,
        source=src,
        meta={
            "set": "pmed",
            "instance": path.stem,
            "p": p,
            "n_edges": e,
            "repeated_edges": n_dup,
            "cost_units": "OR-Library cost units",
        },
    )


# ---------------------------------------------------------------------------------------------- cap
def cap_has_capacity_word(path: str | Path) -> bool:
    """Whether a cap file carries the literal word ``capacity`` (``capa/b/c``-style)."""
    try:
        return CAPACITY_WORD in Path(path).read_text(encoding="utf-8", errors="replace").lower()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def read_cap(path: str | Path, capacity: float | None = None, *, instance: str | None = None) -> Problem:
    """Read an OR-Library warehouse-location file (``capNN.txt``, ``capa.txt`` ...).

    Parameters
    ----------
    path
        The file.
    capacity
        Value for every capacity written as the word ``capacity`` (``capa/b/c``); numeric capacities are
        kept. ``math.inf`` gives the uncapacitated problem. Required when the file has the word.
    instance
        Name for messages and ``meta`` (default: the file stem, plus the capacity when one is given for a
        ``capacity``-word file, e.g. ``capa8000``).

    Returns
    -------
    Problem
        Demands are the ``n`` customers (``weight = d_j``), candidates the ``m`` warehouses, and
        ``distance_km`` the per-unit cost ``c_ij / d_j`` (see the module docstring), so that
        ``sum(weight * distance * allocation)`` is the published cost. ``meta``: ``set`` (``"cap"``),
        ``instance``, ``m``, ``n``.
    """
    path = Path(path)
    src = str(path)
    found = DefectCollector(src)
    tokens, lines = _read_tokens(path)
    if len(tokens) < 2:
        found.add("header must be 'm n' (warehouses, customers)", row="line 1")
        found.raise_if_any(DataError)
    head = _numbers(tokens[:2], lines[:2], 0, found, lambda k: ("m", "n")[k])
    found.raise_if_any(DataError)
    if not np.all(head == np.round(head)) or head.min() < 1:
        found.add(f"header values must be integers >= 1, got {' '.join(tokens[:2])}", row="line 1")
        found.raise_if_any(DataError)
    m, n = (int(v) for v in head)
    need = 2 * m + n * (1 + m)
    _check_count(tokens, lines, 2, need, found, "values (capacities, fixed costs, demands and costs)")
    found.raise_if_any(DataError)

    def what(k: int) -> str:
        if k < 2 * m:
            return f"{('capacity', 'fixed cost')[k % 2]} of warehouse {k // 2 + 1}"
        r = k - 2 * m
        j, q = divmod(r, m + 1)
        return f"demand of customer {j + 1}" if q == 0 else f"cost c({q},{j + 1})"

    vals = _numbers(tokens[: 2 + need], lines, 2, found, what, allow_word=CAPACITY_WORD)
    cap = vals[0 : 2 * m : 2].copy()
    fixed = vals[1 : 2 * m : 2]
    word = np.array([tokens[2 + 2 * w].lower() == CAPACITY_WORD for w in range(m)], dtype=bool)
    stray = np.array([t.lower() == CAPACITY_WORD for t in tokens[2 : 2 + need]], dtype=bool)
    stray[0 : 2 * m : 2] = False  # the word is allowed only in place of a capacity
    for k in np.flatnonzero(stray)[:20]:
        found.add(f"{what(int(k))} is {tokens[2 + k]!r}, not a number", row=f"line {lines[2 + k]}")
    if word.any():
        if capacity is None:
            found.add(
                f"capacities are the word {CAPACITY_WORD!r}: pass a capacity (e.g. instance "
                f"{path.stem}8000 in the benchmark command)",
                row=f"line {lines[2]}",
            )
            found.raise_if_any(DataError)
        cap[word] = float(capacity)
    blocks = vals[2 * m :].reshape(n, m + 1)
    demand = blocks[:, 0]
    cost = blocks[:, 1:]  # (n customers, m warehouses): cost of serving ALL of j from i

    def line_of(k: int) -> str:
        return f"line {lines[2 + k]}"

    for w in np.flatnonzero(~word & ~np.isnan(cap) & (~np.isfinite(cap) | (cap < 0)))[:20]:
        found.add(f"capacity must be a finite number >= 0, got {tokens[2 + 2 * w]}", row=line_of(2 * w))
    for w in np.flatnonzero(~np.isnan(fixed) & (~np.isfinite(fixed) | (fixed < 0)))[:20]:
        found.add(f"fixed cost must be a finite number >= 0, got {tokens[3 + 2 * w]}", row=line_of(2 * w + 1))
    for j in np.flatnonzero(~np.isnan(demand) & (~np.isfinite(demand) | (demand <= 0)))[:20]:
        found.add(
            f"demand of customer {j + 1} must be > 0, got {tokens[2 + 2 * m + j * (m + 1)]} (per-unit costs "
            "c_ij / d_j would be undefined)",
            row=line_of(2 * m + j * (m + 1)),
        )
    bad = np.argwhere(~np.isnan(cost) & (~np.isfinite(cost) | (cost < 0)))
    for j, w in bad[:20]:
        k = 2 * m + j * (m + 1) + 1 + w
        found.add(f"cost c({w + 1},{j + 1}) must be a finite number >= 0, got {tokens[2 + k]}", row=line_of(k))
    found.raise_if_any(DataError)
    name = instance or (f"{path.stem}{format_number(capacity)}" if word.any() else path.stem)
    return Problem.from_cost_matrix(
        cost / demand[:, None],
        weights=demand,
        demand_ids=[str(k) for k in range(1, n + 1)],
        candidate_ids=[str(k) for k in range(1, m + 1)],
        fixed_cost_cny=fixed,
        capacity=cap,
        source=src,
        meta={"set": "cap", "instance": name, "m": m, "n": n, "cost_units": "OR-Library cost units"},
    )


def format_number(x: float | None) -> str:
    if x is None:
        return ""
    if math.isinf(x):
        return "inf"
    return str(int(x)) if float(x).is_integer() else str(x)


# ---------------------------------------------------------------------------------------------- optima
_NUM = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _instance_name(tok: str) -> str:
    name = tok.strip()
    for ext in (".txt", ".TXT"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    return name


def read_optima(path: str | Path) -> dict[str, float]:
    """Read an OR-Library optima listing (``pmedopt``, ``capopt``, ``uncapopt``).

    Lines are ``name value`` (``cap71.txt  932615.750`` and ``pmed1 5819`` both work) or
    ``name capacity value`` (``capa 8000 19240822.449`` gives ``capa8000``). A first line whose last word is
    not a number is a header and is skipped; any other malformed line is a defect.
    """
    path = Path(path)
    found = DefectCollector(str(path))
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    out: dict[str, float] = {}
    seen_data = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if not _NUM.match(parts[-1]):
            if not seen_data:
                continue  # header
            found.add(f"expected 'instance value', got {line.strip()!r}", row=f"line {lineno}")
            continue
        seen_data = True
        if len(parts) == 2:
            name = _instance_name(parts[0])
        elif len(parts) == 3 and _NUM.match(parts[1]):
            name = _instance_name(parts[0]) + format_number(float(parts[1]))
        else:
            found.add(f"expected 'instance value', got {line.strip()!r}", row=f"line {lineno}")
            continue
        if name in out and out[name] != float(parts[-1]):
            found.add(f"instance {name} is listed twice with different values", row=f"line {lineno}")
        out[name] = float(parts[-1])
    found.raise_if_any(DataError)
    return out


def read_optima_csv(path: str | Path) -> dict[tuple[str, str], float]:
    """Read ``optima.csv`` (``set,instance,n,p_or_m,optimal,source``) into ``{(set, instance): value}``."""
    path = Path(path)
    found = DefectCollector(str(path))
    out: dict[tuple[str, str], float] = {}
    try:
        fh = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    with fh:
        reader = csv.DictReader(fh)
        missing = {"set", "instance", "optimal"} - set(reader.fieldnames or [])
        if missing:
            found.add(f"missing column(s) {', '.join(sorted(missing))}", row="line 1")
            found.raise_if_any(DataError)
        for row_no, row in enumerate(reader, start=1):
            try:
                value = float(row["optimal"])
            except (TypeError, ValueError):
                found.add(f"optimal is {row['optimal']!r}, not a number", row=row_no, column="optimal")
                continue
            out[(str(row["set"]).strip(), _instance_name(str(row["instance"])))] = value
    found.raise_if_any(DataError)
    return out


def _first_existing(directory: Path, names: Iterable[str]) -> Path | None:
    for name in names:
        cand = directory / name
        if cand.is_file():
            return cand
    return None


def load_optima(directory: str | Path) -> dict[tuple[str, str], float]:
    """All known optima of an OR-Library-like directory, as ``{(set, instance): value}``.

    Reads ``pmed/pmedopt.txt``, ``cap/capopt.txt``, ``cap/uncapopt.txt`` (also accepted at the top level) and
    ``optima.csv``; a value listed in two places with a relative difference above 1e-6 is a defect.
    """
    d = Path(directory)
    merged: dict[tuple[str, str], tuple[float, str]] = {}
    found = DefectCollector(str(d))

    def put(key: tuple[str, str], value: float, src: str) -> None:
        if key in merged:
            old, where = merged[key]
            if abs(old - value) > 1e-6 * max(abs(old), abs(value), 1.0):
                found.add(f"{key[0]} optimum of {key[1]} is {old} in {where} but {value} in {src}")
                return
        merged[key] = (value, src)

    for set_name, names in (
        ("pmed", ("pmed/pmedopt.txt", "pmedopt.txt")),
        ("cap", ("cap/capopt.txt", "capopt.txt")),
        ("uncap", ("cap/uncapopt.txt", "uncapopt.txt")),
    ):
        f = _first_existing(d, names)
        if f is not None:
            for name, v in read_optima(f).items():
                put((set_name, name), v, str(f))
    f = _first_existing(d, ("optima.csv",))
    if f is not None:
        for key, v in read_optima_csv(f).items():
            put(key, v, str(f))
    found.raise_if_any(DataError)
    return {k: v for k, (v, _) in merged.items()}
