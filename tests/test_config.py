"""The thread budget API in ``zarr_fast.config``.

The default and the environment variable are read at import, so those cases run in a fresh
interpreter (``subprocess``); everything else runs here and restores the global budget.
"""
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import zarr_fast
from zarr_fast import config

BAD_BUDGETS = [0, -1, 1.5, "2", None, True, False, 2.0]


@pytest.fixture(autouse=True)
def restore_budget():
    saved = config.get_threads()
    yield
    config.set_threads(saved)


def _budget_in_child(env_value=None, affinity=None):
    env = {k: v for k, v in os.environ.items() if k != config.ENV_THREADS}
    if env_value is not None:
        env[config.ENV_THREADS] = env_value
    preexec = (lambda: os.sched_setaffinity(0, affinity)) if affinity is not None else None
    # run beside the zarr_fast under test: `python -c` puts the working directory first on
    # sys.path, and a checkout's uncompiled source tree must not shadow the installed package
    beside_package = os.path.dirname(os.path.dirname(zarr_fast.__file__))
    return subprocess.run(
        [sys.executable, "-c", "import zarr_fast.config as c; print(c.get_threads())"],
        env=env, capture_output=True, text=True, timeout=60, preexec_fn=preexec, cwd=beside_package,
    )


def test_default_is_the_cpus_this_process_may_use():
    result = _budget_in_child()
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(os.sched_getaffinity(0))


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs sched_setaffinity")
def test_default_follows_affinity_not_cpu_count():
    one_cpu = {min(os.sched_getaffinity(0))}
    result = _budget_in_child(affinity=one_cpu)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == 1


@pytest.mark.parametrize("value, expected", [("3", 3), ("1", 1), (" 17 ", 17), ("", None), ("  ", None)])
def test_environment_sets_the_budget(value, expected):
    result = _budget_in_child(value)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == (expected or len(os.sched_getaffinity(0)))


@pytest.mark.parametrize("value", ["0", "-2", "abc", "2.5", "4 threads"])
def test_environment_refuses_bad_values(value):
    result = _budget_in_child(value)
    assert result.returncode != 0
    assert "ValueError" in result.stderr
    assert config.ENV_THREADS in result.stderr
    assert repr(value) in result.stderr


def test_set_threads():
    config.set_threads(5)
    assert config.get_threads() == 5
    config.set_threads(1)
    assert config.get_threads() == 1


@pytest.mark.parametrize("bad", BAD_BUDGETS)
def test_bad_budgets_are_refused_and_change_nothing(bad):
    config.set_threads(3)
    with pytest.raises(ValueError, match="positive integer"):
        config.set_threads(bad)
    with pytest.raises(ValueError, match="positive integer"):
        with config.threads(bad):
            pass  # pragma: no cover - never entered
    assert config.get_threads() == 3


def test_threads_block_restores_on_exit_and_on_error():
    config.set_threads(4)
    with config.threads(2) as n:
        assert n == 2
        assert config.get_threads() == 2
        with config.threads(7):
            assert config.get_threads() == 7
        assert config.get_threads() == 2
    assert config.get_threads() == 4
    with pytest.raises(RuntimeError):
        with config.threads(3):
            raise RuntimeError("boom")
    assert config.get_threads() == 4


def test_threads_block_wins_over_set_threads_inside_it():
    config.set_threads(4)
    with config.threads(2):
        config.set_threads(6)
        assert config.get_threads() == 2
    assert config.get_threads() == 6


def test_threads_block_is_per_thread():
    config.set_threads(4)
    seen = {}
    entered, release = threading.Event(), threading.Event()

    def other():
        seen["before"] = config.get_threads()
        with config.threads(9):
            entered.set()
            release.wait(10)
            seen["inside"] = config.get_threads()
        seen["after"] = config.get_threads()

    with config.threads(2):
        worker = threading.Thread(target=other)
        worker.start()
        assert entered.wait(10)
        # the other thread's block does not reach this thread, nor ours that one
        assert config.get_threads() == 2
        release.set()
        worker.join(10)
    assert seen == {"before": 4, "inside": 9, "after": 4}
    assert config.get_threads() == 4


def test_pool_is_shared_grown_and_named():
    pool = config.get_pool(2)
    assert isinstance(pool, ThreadPoolExecutor)
    assert config.get_pool(1) is pool
    assert config.get_pool(2) is pool
    bigger = config.get_pool(3)
    assert config.get_pool(3) is bigger
    assert config.get_pool(2) is bigger  # never shrinks
    names = set(bigger.map(lambda _: threading.current_thread().name, range(6)))
    assert all(name.startswith("zarr_fast") for name in names)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_child_after_fork_gets_a_fresh_working_pool():
    import multiprocessing

    parent_pool = config.get_pool(2)
    assert parent_pool.submit(lambda: 1).result(timeout=10) == 1
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()

    def child(q):
        pool = config.get_pool(2)
        q.put((pool is parent_pool, pool.submit(lambda: 41 + 1).result(timeout=10)))

    process = ctx.Process(target=child, args=(queue,))
    process.start()
    try:
        is_same, value = queue.get(timeout=30)
    finally:
        process.join(30)
    assert process.exitcode == 0
    assert (is_same, value) == (False, 42)
