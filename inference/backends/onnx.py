"""In-process onnxruntime backend (the default).

Idle cores: a backend built with ``spare_threads`` lends cores that no other call of it is using to the
call at hand. A lone image runs on a second session with ``threads + spare_threads`` intra-op threads;
independent images (:meth:`OnnxRuntimeBackend.infer_each`, or a batch for a static-batch graph) run side
by side on helper threads. Several concurrent calls (many cameras) each keep their own ``threads``, so
nothing is oversubscribed. The sessions differ only in threads: outputs are the same bit for bit.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from footfall.inference.errors import InferenceError, ModelLoadError

Tensors = dict[str, npt.NDArray[np.float32]]


class OnnxRuntimeBackend:
    """Runs an ONNX file on the CPU (or the given providers).

    A graph with a static batch of 1 is run once per image, so callers can always pass a batch.
    ``threads``: intra-op threads of every call (onnxruntime's default when None); ``spare_threads``:
    how many more threads one call may use while no other call is running (see the module docstring).
    """

    def __init__(
        self,
        model_path: str | Path,
        threads: int | None = None,
        providers: list[str] | None = None,
        *,
        spare_threads: int = 0,
    ) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelLoadError(
                self.model_path, "file does not exist" if not self.model_path.exists() else "not a file"
            )
        self._providers = providers or ["CPUExecutionProvider"]
        self.session = self._session(threads)
        self.spare_threads = max(0, int(spare_threads)) if threads is not None else 0
        # The wide session is made at the first lone call (most processes with many cameras never need it).
        self._wide: ort.InferenceSession | None = None
        self._threads = threads
        self._lock = threading.Lock()
        self._busy = 0  # threads running this backend's inference now (callers and helpers)
        self._helpers: ThreadPoolExecutor | None = None
        inputs = self.session.get_inputs()
        self.input_names = [i.name for i in inputs]
        self.output_names = [o.name for o in self.session.get_outputs()]
        batch_dims = {i.name: i.shape[0] if i.shape else None for i in inputs}
        self.static_batch = all(dim == 1 for dim in batch_dims.values())

    def _session(self, threads: int | None, *, spin: bool = True) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if threads is not None:
            options.intra_op_num_threads = threads
        if not spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            return ort.InferenceSession(str(self.model_path), options, providers=self._providers)
        except Exception as exc:  # onnxruntime raises several private exception types
            raise ModelLoadError(self.model_path, f"onnxruntime cannot load it: {exc}") from exc

    @property
    def metadata(self) -> dict[str, str]:
        """The model's custom metadata (ultralytics stores class names and image size here)."""
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def infer(self, inputs: Tensors) -> Tensors:
        batch = {len(v) for v in inputs.values()}
        if self.static_batch and batch != {1}:
            n = batch.pop()
            parts = self.infer_each([{k: v[i : i + 1] for k, v in inputs.items()} for i in range(n)])
            return {name: np.concatenate([p[name] for p in parts]) for name in self.output_names}
        # The wide session needs every spare thread: fewer would be counted busy and left unused.
        with self._borrowing(self.spare_threads, all_or_none=True) as extra:
            return self._run(self._wide_session() if extra else self.session, inputs)

    def infer_each(self, inputs: Sequence[Tensors]) -> list[Tensors]:
        """Run independent inputs (each a batch of its own); outputs in the same order. Idle cores run
        some of them at the same time: those idle at the start, and those that fall idle while the
        inputs are being run (another call ended)."""
        if len(inputs) <= 1:
            return [self.infer(one) for one in inputs]
        out: list[Tensors | None] = [None] * len(inputs)
        # Largest first, taken by whichever thread is free: the work spreads evenly over the threads.
        order = sorted(range(len(inputs)), key=lambda i: -sum(v.size for v in inputs[i].values()))
        waiting = collections.deque(order)
        lock = threading.Lock()

        def take() -> int | None:
            with lock:
                return waiting.popleft() if waiting else None

        def work() -> None:
            while (i := take()) is not None:
                out[i] = self._run(self.session, inputs[i])

        def lent() -> None:
            try:
                work()
            finally:
                with self._lock:
                    self._busy -= 1

        helpers: list[Future[None]] = []

        def lend() -> None:
            """A helper for each spare thread free now, while at least two inputs wait (one is the caller's)."""
            while len(helpers) < self.spare_threads and len(waiting) > 1:
                with self._lock:
                    if self._busy >= 1 + self.spare_threads:
                        return
                    self._busy += 1
                helpers.append(self._helper_pool().submit(lent))

        with self._borrowing(0):
            try:
                lend()
                while (i := take()) is not None:
                    out[i] = self._run(self.session, inputs[i])
                    lend()
            finally:
                for helper in helpers:
                    helper.result()
        return cast(list[Tensors], out)  # every slot filled: a failed run raised above

    def close(self) -> None:
        if self._helpers is not None:
            self._helpers.shutdown(wait=False, cancel_futures=True)
            self._helpers = None

    def _run(self, session: ort.InferenceSession, inputs: Tensors) -> Tensors:
        try:
            results = session.run(self.output_names, inputs)
        except Exception as exc:
            raise InferenceError(f"onnxruntime failed on {self.model_path}: {exc}") from exc
        return dict(zip(self.output_names, results, strict=True))

    @contextlib.contextmanager
    def _borrowing(self, wanted: int, *, all_or_none: bool = False) -> Iterator[int]:
        """This call counted as busy, with up to ``wanted`` idle threads lent to it (how many is yielded;
        ``all_or_none``: ``wanted`` or 0)."""
        with self._lock:
            self._busy += 1
            extra = max(0, min(wanted, 1 + self.spare_threads - self._busy))
            if all_or_none and extra < wanted:
                extra = 0
            self._busy += extra
        try:
            yield extra
        finally:
            with self._lock:
                self._busy -= 1 + extra

    def _wide_session(self) -> ort.InferenceSession:
        if self._wide is None:
            with self._lock:
                if self._wide is None:
                    assert self._threads is not None
                    # Its threads sleep between operators instead of spinning: a spinning thread that another
                    # process preempts stalls every operator (measured with the other core busy: 51 fps
                    # spinning, 70 not; idle: about the same).
                    self._wide = self._session(self._threads + self.spare_threads, spin=False)
        return self._wide

    def _helper_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._helpers is None:
                self._helpers = ThreadPoolExecutor(self.spare_threads, thread_name_prefix="onnx-spare")
            return self._helpers

