"""OnnxRuntimeBackend lending idle cores to a lone call: same outputs, never more threads than allowed."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from footfall.inference import load_person_detector, resolve_model
from footfall.inference.backends.onnx import OnnxRuntimeBackend
from footfall.inference.preprocess import preprocess


@pytest.fixture(scope="module", params=["nanodet-int8", "nanodet"])
def pair(request):
    """The same model without and with a spare thread."""
    path = resolve_model(request.param).path
    return OnnxRuntimeBackend(path, threads=1), OnnxRuntimeBackend(path, threads=1, spare_threads=1)


def _inputs(backend: OnnxRuntimeBackend, frames, size=(480, 352)) -> list[dict[str, np.ndarray]]:
    model = load_person_detector(model=backend.model_path, input_size=size, warmup=False).model
    return [{backend.input_names[0]: preprocess([f], model.input, size)[0]} for f in frames]


def test_a_lone_call_and_side_by_side_windows_give_the_same_outputs(pair, pets_frames) -> None:
    plain, lending = pair
    inputs = _inputs(plain, [pets_frames[n] for n in (100, 200, 300)])
    for one in inputs:  # a lone call runs on the wide session
        for name, value in plain.infer(one).items():
            np.testing.assert_array_equal(lending.infer(one)[name], value)
    assert lending._wide is not None
    # Windows of different sizes, run on two threads: each output in its place, bit for bit.
    key, tensor = plain.input_names[0], inputs[1][plain.input_names[0]]
    nhwc = tensor.shape[-1] == 3
    windows = [
        {key: np.ascontiguousarray(tensor[:, y:y + h, x:x + w] if nhwc else tensor[:, :, y:y + h, x:x + w])}
        for x, y, w, h in ((0, 0, 128, 192), (192, 64, 256, 288), (320, 160, 160, 192), (32, 32, 64, 64))
    ]
    got = lending.infer_each(windows)
    assert len(got) == len(windows)
    for window, out in zip(windows, got, strict=True):
        for name, value in plain.infer(window).items():
            np.testing.assert_array_equal(out[name], value)
    assert plain.infer_each(windows)[2][plain.output_names[0]].shape == got[2][plain.output_names[0]].shape


def test_a_batch_on_a_static_graph_is_split_over_the_idle_cores(pair, pets_frames) -> None:
    plain, lending = pair
    inputs = _inputs(plain, [pets_frames[n] for n in (400, 500, 600)])
    key = plain.input_names[0]
    batch = {key: np.concatenate([i[key] for i in inputs])}
    expected = plain.infer(batch)
    for name, value in lending.infer(batch).items():
        np.testing.assert_array_equal(value, expected[name])
        assert len(value) == 3


def test_busy_calls_never_borrow_more_threads_than_the_cores_lent(pets_frames) -> None:
    backend = OnnxRuntimeBackend(resolve_model("nanodet-int8").path, threads=1, spare_threads=1)
    inputs = _inputs(backend, [pets_frames[n] for n in (100, 200, 300, 400)])
    peak = [0]
    run = backend._run

    def counting(session, tensors):
        with backend._lock:
            peak[0] = max(peak[0], backend._busy)
        return run(session, tensors)

    backend._run = counting  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            for _ in range(3):
                backend.infer_each(inputs)
                backend.infer(inputs[0])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # Three callers at once: each counts itself, and a lent thread was only taken while a core was idle
    # (a lone call that borrowed may still be running when the others arrive).
    assert peak[0] <= 3 + backend.spare_threads
    assert backend._busy == 0
    with backend._borrowing(1) as alone:
        assert alone == 1
        with backend._borrowing(1) as second:
            assert second == 0  # the core is taken by the first call's lent thread
    assert backend._busy == 0
    backend.close()


def test_without_a_thread_count_nothing_is_lent() -> None:
    # onnxruntime's default already uses every core for each call.
    backend = OnnxRuntimeBackend(resolve_model("nanodet-int8").path, threads=None, spare_threads=3)
    assert backend.spare_threads == 0
    with backend._borrowing(3) as extra:
        assert extra == 0


def test_the_wide_session_is_taken_only_with_every_spare_thread_free() -> None:
    backend = OnnxRuntimeBackend(resolve_model("nanodet-int8").path, threads=1, spare_threads=2)
    with backend._borrowing(1) as first:  # another call with one lent thread: one spare thread left
        assert first == 1
        with backend._borrowing(2, all_or_none=True) as wide:
            assert wide == 0  # not held for nothing: the narrow session runs
        with backend._borrowing(2) as some:
            assert some == 0  # 1 caller + 1 lent + this caller fill the 3 threads
    with backend._borrowing(2, all_or_none=True) as alone:
        assert alone == 2
    assert backend._busy == 0


def test_a_core_that_falls_idle_joins_a_call_already_running(pets_frames) -> None:
    """Windows of a call that started while another call ran go to a helper once that call ends."""
    backend = OnnxRuntimeBackend(resolve_model("nanodet-int8").path, threads=1, spare_threads=1)
    (full,) = _inputs(backend, [pets_frames[100]])
    key = backend.input_names[0]
    windows = [{key: np.ascontiguousarray(full[key][:, :192, x:x + 128])} for x in (0, 128, 256)]
    expected = [backend.infer(w) for w in windows]
    first_started, other_ended = threading.Event(), threading.Event()
    ran_on: list[str] = []
    run = backend._run

    def noting(session, tensors):
        ran_on.append(threading.current_thread().name)
        if len(ran_on) == 1:
            first_started.set()
            assert other_ended.wait(10)
        return run(session, tensors)

    backend._run = noting  # type: ignore[method-assign]
    got: list = []
    with backend._borrowing(0):  # another call runs: nothing to lend at the start
        call = threading.Thread(target=lambda: got.extend(backend.infer_each(windows)))
        call.start()
        assert first_started.wait(10)
    other_ended.set()  # that call ended while the first window runs
    call.join(10)
    assert any(name.startswith("onnx-spare") for name in ran_on)  # a window ran on the freed core
    for out, want in zip(got, expected, strict=True):
        for name, value in want.items():
            np.testing.assert_array_equal(out[name], value)
    assert backend._busy == 0
    backend.close()
