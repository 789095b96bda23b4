"""Supervision: crashed or returned tasks are logged and restarted; stop() cancels all."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from edgeward.gateway.runtime.supervisor import Supervisor

WAIT = 5.0  # seconds a condition may take before the test fails


def supervisor() -> Supervisor:
    return Supervisor(backoff_initial=0.01, backoff_max=0.05)


async def forever() -> None:
    await asyncio.Event().wait()


def test_a_crashing_task_is_logged_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="edgeward.gateway.runtime.supervisor")
    calls = 0

    async def main() -> tuple[int, int]:
        ran_again = asyncio.Event()

        async def flaky() -> None:
            nonlocal calls
            calls += 1
            if calls < 3:
                raise RuntimeError(f"boom {calls}")
            ran_again.set()
            await forever()

        tasks = supervisor()
        tasks.start("flaky", flaky)
        try:
            await asyncio.wait_for(ran_again.wait(), WAIT)
            return tasks.restarts["flaky"], calls
        finally:
            await tasks.stop()

    restarts, ran = asyncio.run(main())
    assert (restarts, ran) == (2, 3)

    crashes = [r for r in caplog.records if r.getMessage() == "task flaky crashed"]
    assert len(crashes) == 2
    for number, record in enumerate(crashes, start=1):
        assert record.levelno == logging.ERROR
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], RuntimeError)
        assert str(record.exc_info[1]) == f"boom {number}"
    restarts_logged = [r.getMessage() for r in caplog.records if "restart" in r.getMessage()]
    assert len(restarts_logged) == 2
    assert restarts_logged[0].startswith("task flaky crashed; restart 1 in ")
    assert restarts_logged[1].startswith("task flaky crashed; restart 2 in ")


def test_a_task_that_returns_is_restarted_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="edgeward.gateway.runtime.supervisor")

    async def main() -> tuple[int, int]:
        calls = 0
        fourth_run = asyncio.Event()

        async def quitter() -> None:
            nonlocal calls
            calls += 1
            if calls == 4:
                fourth_run.set()
                await forever()

        tasks = supervisor()
        tasks.start("quitter", quitter)
        try:
            await asyncio.wait_for(fourth_run.wait(), WAIT)
            return tasks.restarts["quitter"], calls
        finally:
            await tasks.stop()

    assert asyncio.run(main()) == (3, 4)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("task quitter returned unexpectedly; restart" in m for m in messages) == 3
    assert not any("crashed" in m for m in messages)


def test_one_crashing_task_does_not_disturb_another() -> None:
    async def main() -> tuple[int, int, int]:
        steady_runs = 0
        crashes = 0
        crashed_thrice = asyncio.Event()

        async def steady() -> None:
            nonlocal steady_runs
            steady_runs += 1
            await forever()

        async def crasher() -> None:
            nonlocal crashes
            crashes += 1
            if crashes >= 3:
                crashed_thrice.set()
            raise ValueError("again")

        tasks = supervisor()
        tasks.start("steady", steady)
        tasks.start("crasher", crasher)
        try:
            await asyncio.wait_for(crashed_thrice.wait(), WAIT)
            return steady_runs, tasks.restarts["steady"], tasks.restarts["crasher"]
        finally:
            await tasks.stop()

    steady_runs, steady_restarts, crasher_restarts = asyncio.run(main())
    assert (steady_runs, steady_restarts) == (1, 0)
    assert crasher_restarts >= 2


def test_stop_cancels_every_task() -> None:
    async def main() -> None:
        started = {"a": asyncio.Event(), "b": asyncio.Event()}
        cancelled: list[str] = []
        crashes = 0
        crashed = asyncio.Event()

        def waiter(name: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                started[name].set()
                try:
                    await forever()
                except asyncio.CancelledError:
                    cancelled.append(name)
                    raise

            return run

        async def crasher() -> None:
            # Spends its life in the restart backoff, which stop() must cancel too.
            nonlocal crashes
            crashes += 1
            crashed.set()
            raise RuntimeError("down")

        tasks = supervisor()
        tasks.start("a", waiter("a"))
        tasks.start("b", waiter("b"))
        tasks.start("c", crasher)
        await asyncio.wait_for(
            asyncio.gather(started["a"].wait(), started["b"].wait(), crashed.wait()), WAIT
        )
        supervised = [t for t in asyncio.all_tasks() if t.get_name() in ("a", "b", "c")]
        assert len(supervised) == 3

        await asyncio.wait_for(tasks.stop(), WAIT)

        assert sorted(cancelled) == ["a", "b"]
        assert all(task.done() and task.cancelled() for task in supervised)
        assert asyncio.all_tasks() == {asyncio.current_task()}
        crashes_at_stop = crashes
        # Nothing restarts afterwards: a fresh task under the same name is allowed again
        # and is the only thing that runs.
        ran = asyncio.Event()

        async def fresh() -> None:
            ran.set()
            await forever()

        tasks.start("c", fresh)
        await asyncio.wait_for(ran.wait(), WAIT)
        await tasks.stop()
        assert crashes == crashes_at_stop

    asyncio.run(main())


def test_stop_with_nothing_running_is_fine() -> None:
    async def main() -> None:
        tasks = supervisor()
        await tasks.stop()
        await tasks.stop()

    asyncio.run(main())


def test_the_same_name_cannot_be_supervised_twice() -> None:
    async def main() -> None:
        tasks = supervisor()
        tasks.start("uplink", forever)
        try:
            with pytest.raises(ValueError, match="uplink"):
                tasks.start("uplink", forever)
        finally:
            await tasks.stop()

    asyncio.run(main())


def test_stop_ends_a_task_that_swallows_one_cancellation() -> None:
    """Regression: a clean stop hung when a library swallowed the cancellation
    (asyncio.wait_for on Python 3.11, cpython gh-86296); stop cancels again."""

    async def main() -> tuple[int, bool]:
        swallowed = 0
        waiting = asyncio.Event()

        async def stubborn() -> None:
            nonlocal swallowed
            while True:
                waiting.set()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    if swallowed == 0:
                        swallowed += 1  # what a racing wait_for does once
                        continue
                    raise

        supervisor = Supervisor(backoff_initial=0.01, backoff_max=0.05)
        supervisor.start("stubborn", stubborn)
        await waiting.wait()  # it reached its await
        async with asyncio.timeout(5):
            await supervisor.stop()
        return swallowed, True

    assert asyncio.run(main()) == (1, True)
