"""``sdr-semcom eval --ray``: the sweep's cells as Ray tasks on a cluster (optional extra ``cluster``).

Each worker is a Ray actor that loads the models once (codec, database, guard, judges, inpainters:
:class:`sdr_semcom.eval.cells.Models`) and runs :func:`sdr_semcom.eval.cells.run_cell`, GNU Radio
included, for the cells the driver hands it; the driver writes their rows to the same ``rows.jsonl``
the local run writes, as they come. A worker that dies is restarted and its cells in flight rerun
(``max_restarts`` / ``max_task_retries``); the writer keeps one copy of each cell
(:meth:`sdr_semcom.eval.run.RowWriter.write_cell`).

Ray is imported only here, and only when a :class:`RayExecutor` starts: a local ``sdr-semcom eval``
never imports it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from .cells import DEFAULT_MARGIN, CellResult, CellSettings, Models, PreparedInfo, Shared, run_cell

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]  # the checkout (or site-packages) this package runs from
IN_FLIGHT = 2  # cells queued per worker: the next one waits while the worker runs the current one


class ClusterError(RuntimeError):
    """No cluster at the address, a worker that cannot start (its node named), or a cell lost for good."""


def connect(address: str, num_cpus: int | None = None) -> bool:
    """Connect this process to Ray: ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT`` (an existing
    cluster), or ``local`` (start one here with ``num_cpus``). Returns True when Ray was started here
    (and should be shut down by the caller)."""
    ray = _ray()
    if ray.is_initialized():
        return False
    env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}}
    common = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING, runtime_env=env)
    if address == "local":
        ray.init(num_cpus=num_cpus, object_store_memory=512 * 2**20, **common)
        return True
    if address != "auto" and not address.startswith("ray://"):
        _check_reachable(address)
    try:
        ray.init(address=address, **common)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(f"no Ray cluster at {address!r} ({first}): start one with `ray start --head` and pass "
                           "its address, or use --ray local") from None
    return True


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--ray {address!r}: give auto, local or the head node's HOST:PORT (e.g. 10.0.0.1:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ClusterError(f"no Ray cluster at {address} ({exc.strerror or exc}): start one with `ray start --head` "
                           "on that node, or use --ray local") from None


def _ray():
    try:
        import ray
    except ImportError:
        raise ClusterError("--ray needs Ray: pip install -r requirements-cluster.txt "
                           "(or scripts/setup.sh --cluster)") from None
    return ray


class EvalWorker:
    """One Ray worker's state (used as a Ray actor): the models, loaded once, and the sweep's shared data.

    Parameters
    ----------
    settings : CellSettings
    db : PrivacyDatabase
        The sweep's database (its secret included: the driver's, sent to each worker).
    models_dir : str
        The model directory as the driver sees it; a worker without it fails with its node named.
    crash_once : str or None
        Test hook: the first cell after which this file does not exist yet kills the worker process
        (after creating the file), as a node lost mid-sweep would.
    """

    def __init__(self, settings: CellSettings, db, models_dir: str, crash_once: str | None = None) -> None:
        self.error = None
        self.crash_once = crash_once
        self._shared: tuple[object, Shared] | None = None
        if not Path(models_dir).is_dir():
            self.error = (f"worker {socket.gethostname()} (node {_node_id()}): model directory {models_dir} not found: "
                          "install the project at the same path on every node (scripts/setup.sh)")
            return
        if settings.generator_dir:  # checked on the driver; a node without the copy fails now, not at its first cell
            from ..generative.diffusion import check_pipeline_dir

            try:
                check_pipeline_dir(Path(settings.generator_dir))
            except (FileNotFoundError, ValueError) as exc:
                self.error = f"worker {socket.gethostname()} (node {_node_id()}): --generator-dir: {exc}"
                return
        import torch

        torch.manual_seed(0)
        self.models = Models(settings, db)

    def ready(self) -> str | None:
        """None, or why this worker cannot run cells."""
        return self.error

    def prepare(self, name: str, source, max_side: int | None = None, margin: float = DEFAULT_MARGIN):
        """``(Prepared, PreparedInfo)`` (the guard at ``margin``), or ``(None, why)`` for an unreadable image."""
        from ..images import ImageError

        try:
            return self.models.prepare(name, source, max_side, margin)
        except ImageError as exc:
            return None, f"skipping {exc} (worker {socket.gethostname()})"

    def floors(self, gallery: dict, identities: dict | None = None) -> dict:
        return self.models.floors(gallery, identities)

    def cell(self, key: tuple, p, shared_box: list, only: frozenset | None = None) -> CellResult:
        """Run one cell; ``shared_box`` holds the reference of the sweep's :class:`Shared` (fetched once)."""
        import ray

        ref = shared_box[0]
        if self._shared is None or self._shared[0] != ref:
            self._shared = (ref, ray.get(ref))
        if self.crash_once and not os.path.exists(self.crash_once):
            Path(self.crash_once).touch()
            os._exit(1)
        return run_cell(key, p, self._shared[1], self.models, only)


def _node_id() -> str:
    try:
        import ray

        return ray.get_runtime_context().get_node_id()
    except Exception:  # noqa: BLE001 - only a name for a message
        return "?"


class RayExecutor:
    """Runs a sweep's cells on Ray workers (:class:`EvalWorker` actors), ``workers`` of them.

    Parameters
    ----------
    address : str
        ``auto``, ``HOST:PORT``, ``ray://HOST:PORT`` or ``local`` (see :func:`connect`).
    workers : int or None
        Actors to start (default: the cluster's CPUs; each takes one).
    num_cpus : int or None
        ``local`` only: the CPUs of the cluster started here (default: ``workers``, else all).
    retries : int
        Restarts of a dead worker, and reruns of each cell it had in flight.
    models_dir : Path or None
        The model directory every worker needs (default: the package's ``models/``).
    crash_once : str or None
        Test hook (see :class:`EvalWorker`).
    """

    def __init__(self, address: str, workers: int | None = None, num_cpus: int | None = None, retries: int = 3,
                 models_dir: Path | None = None, crash_once: str | None = None) -> None:
        if workers is not None and workers < 1:
            raise ClusterError(f"--workers {workers}: give 1 or more")
        self.address, self.workers, self.retries, self.crash_once = address, workers, retries, crash_once
        self.num_cpus = num_cpus if num_cpus is not None else workers
        self.models_dir = models_dir
        self.actors: list = []
        self._owns = False

    def start(self, settings: CellSettings, db) -> None:
        from ..semantic.weights import MODELS_DIR

        ray = _ray()
        self._owns = connect(self.address, self.num_cpus)
        n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(num_cpus=1, max_restarts=self.retries, max_task_retries=self.retries)(EvalWorker)
        models_dir = str(self.models_dir or MODELS_DIR)
        self.actors = [actor.remote(settings, db, models_dir, self.crash_once) for _ in range(n)]
        try:
            errors = ray.get([a.ready.remote() for a in self.actors])
        except ray.exceptions.RayError as exc:
            raise ClusterError(f"a Ray worker did not start: {_cause(exc)}") from None
        for e in errors:
            if e:
                raise ClusterError(e)

    def prepare(self, items: list[tuple[str, Path, float]], max_side: int | None
                ) -> list[tuple[object, PreparedInfo] | None]:
        """Each (image, guard margin) read and prepared by a worker (paths: the same on every node; an
        image's margins by the same worker, which keeps its detections); its :class:`Prepared` stays in
        the object store. None: unreadable, skipped with a warning."""
        ray = _ray()
        order = {name: i for i, name in enumerate(dict.fromkeys(it[0] for it in items))}
        refs = [self.actors[order[name] % len(self.actors)].prepare.options(num_returns=2).remote(
                    name, str(path), max_side, margin) for name, path, margin in items]
        try:
            infos = ray.get([r[1] for r in refs])
        except ray.exceptions.RayError as exc:
            raise ClusterError(f"preparing the images: {_cause(exc)}") from None
        out = []
        for r, info in zip(refs, infos):
            if isinstance(info, str):
                log.warning("%s", info)
                out.append(None)
            else:
                out.append((r[0], info))
        return out

    def floors(self, gallery: dict, identities: dict | None = None) -> dict:
        ray = _ray()
        try:
            return ray.get(self.actors[0].floors.remote(gallery, identities))
        except ray.exceptions.RayError as exc:
            raise ClusterError(f"the judges' floors: {_cause(exc)}") from None

    def run(self, cells: list[tuple[tuple, object, frozenset | None]], shared: Shared) -> Iterator[CellResult]:
        """The cells' results as they finish (any order), at most ``IN_FLIGHT`` queued per worker.

        Cells of one image go to the same worker (its fills and scores repeat across SNR points above
        the link's threshold, and the worker's caches keep them); a worker whose own queue is empty
        takes cells from the longest other queue.
        """
        ray = _ray()
        box = [ray.put(shared)]  # in a list: each worker fetches it once, not with every cell
        n = len(self.actors)
        index = {name: i for i, name in enumerate(shared.order)}
        queues: list[deque] = [deque() for _ in range(n)]
        for key, p, only in cells:
            queues[index.get(key[0], 0) % n].append((key, p, only))
        pending: dict = {}

        def submit(a: int) -> None:
            q = queues[a] if queues[a] else max(queues, key=len)
            if q:
                key, p, only = q.popleft() if q is queues[a] else q.pop()
                pending[self.actors[a].cell.remote(key, p, box, only)] = (a, key)

        for _ in range(IN_FLIGHT):
            for a in range(n):
                submit(a)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            a, key = pending.pop(ready[0])
            try:
                res = ray.get(ready[0])
            except ray.exceptions.RayActorError as exc:
                raise ClusterError(f"cell {key}: worker lost after {self.retries} restarts: {_cause(exc)}") from None
            except ray.exceptions.RayTaskError as exc:
                raise ClusterError(f"cell {key}: {_cause(exc)}") from None
            submit(a)
            yield res

    def close(self) -> None:
        if not self.actors and not self._owns:
            return
        ray = _ray()
        for a in self.actors:
            try:
                ray.kill(a)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.actors = []
        if self._owns:
            ray.shutdown()
            self._owns = False


def _cause(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
