"""A process going away: its running replies finish within the grace, or are
ended and saved as interrupted."""

import asyncio

from chat.replies import shutdown, worker


async def registered(reply_id: str, seconds: float) -> asyncio.Task[None]:
    """A reply that streams for `seconds`; cancelled, it ends as generation does."""

    async def reply() -> None:
        run = worker.run_for(reply_id)
        assert run is not None
        run.call_upstream()
        await asyncio.sleep(seconds)

    task = asyncio.get_running_loop().create_task(reply())
    worker.register(reply_id, task)
    await asyncio.sleep(0)
    return task


async def test_replies_that_end_within_the_grace_finish_by_themselves():
    task = await registered("quick", 0.05)
    drained = await shutdown.replies_drain(5)
    assert (drained.finished, drained.interrupted) == (1, 0)
    assert not task.cancelled()


async def test_replies_still_running_after_the_grace_are_interrupted_not_stopped():
    task = await registered("slow", 60)
    run = worker.run_for("slow")
    drained = await shutdown.replies_drain(0.05)
    assert (drained.finished, drained.interrupted) == (0, 1)
    assert task.cancelled() and run is not None and run.interrupted


async def test_no_running_reply_means_no_wait():
    drained = await shutdown.replies_drain(30)
    assert drained == shutdown.Drained(finished=0, interrupted=0, seconds=drained.seconds)
