"""The replies running in this process: a Stop honoured in each phase of a reply."""

import asyncio

from chat.replies import worker


async def running(reply_id: str) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """A registered reply that waits until told to end."""
    release = asyncio.Event()

    async def reply() -> None:
        await release.wait()

    task = asyncio.get_running_loop().create_task(reply())
    worker.register(reply_id, task)
    return release, task


async def test_a_stop_while_the_request_is_prepared_is_kept_for_the_upstream_call() -> None:
    release, task = await running("r1")
    assert worker.cancel("r1") is True
    assert not task.cancelled()
    run = worker.run_for("r1")
    assert run is not None and run.stop_requested
    try:
        run.call_upstream()
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("the upstream call started after a Stop")
    release.set()
    await task


async def test_a_stop_while_streaming_cancels_the_reply() -> None:
    _, task = await running("r2")
    run = worker.run_for("r2")
    assert run is not None
    run.call_upstream()
    assert worker.cancel("r2") is True
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


async def test_a_stop_while_finishing_leaves_the_final_save_alone() -> None:
    release, task = await running("r3")
    run = worker.run_for("r3")
    assert run is not None
    run.call_upstream()
    run.finishing()
    assert worker.cancel("r3") is False
    release.set()
    await task
    assert not task.cancelled()


async def test_a_reply_leaves_the_registry_when_it_ends() -> None:
    release, task = await running("r4")
    assert worker.running() >= 1 and task in worker.running_tasks()
    release.set()
    await task
    await asyncio.sleep(0)  # the done callback runs on the next turn of the loop
    assert worker.run_for("r4") is None
    assert worker.cancel("r4") is False
