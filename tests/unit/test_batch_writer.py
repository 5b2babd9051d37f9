"""Group commit: what arrives during a write goes into the next one, and each submitter gets its own result."""

import asyncio

import pytest

from services.ratings.batching import BatchWriter

pytestmark = pytest.mark.asyncio


async def test_items_submitted_during_a_write_share_the_next_write_and_get_their_own_results():
    batches: list[list[int]] = []
    first_write_started, release_first_write = asyncio.Event(), asyncio.Event()

    async def flush(items: list[int]) -> list[int | Exception]:
        batches.append(items)
        if len(batches) == 1:
            first_write_started.set()
            await release_first_write.wait()
        return [ValueError(f"odd {item}") if item % 2 else item * 10 for item in items]

    writer: BatchWriter[int, int] = BatchWriter(flush, max_size=3)
    first = asyncio.create_task(writer.submit(0))
    await first_write_started.wait()
    later = [asyncio.create_task(writer.submit(n)) for n in range(1, 6)]
    release_first_write.set()  # the five submitters were scheduled first: they queue before the write resumes
    results = await asyncio.gather(first, *later, return_exceptions=True)

    assert batches == [[0], [1, 2, 3], [4, 5]]
    assert results[0] == 0 and results[2] == 20 and results[4] == 40
    assert [str(results[n]) for n in (1, 3, 5)] == ["odd 1", "odd 3", "odd 5"]
    await writer.close()


async def test_a_failed_write_fails_every_item_in_it():
    async def flush(items: list[int]) -> list[int]:
        raise ConnectionError("store down")

    writer: BatchWriter[int, int] = BatchWriter(flush, max_size=10)
    results = await asyncio.gather(*(writer.submit(n) for n in range(3)), return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    await writer.close()
