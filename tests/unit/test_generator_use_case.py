"""The generator's handling of one GenerateLogo, on fakes: claim, draw, store, record, announce."""

import pytest

from schemas.generation import GenerateLogo, GenerationFailed, GenerationParams, GenerationStarted, LogoGenerated
from services.errors import InvalidInput
from services.storage.jobs import JobStatus, JobWithdrawn
from tests.fakes import FakeJobRepository, FakeModel, FakeObjectStore, FakePublisher, flat_png
from workers.generator.service import Generator, seed_for

pytestmark = pytest.mark.asyncio


def command(job_id: str = "job-1", **params) -> GenerateLogo:
    fields = {"prompt": "a fox", "num_images": 2, "num_steps": 3, "height": 64, "width": 64, **params}
    return GenerateLogo(correlation_id=job_id, params=GenerationParams(**fields))


@pytest.fixture
def jobs() -> FakeJobRepository:
    return FakeJobRepository()


@pytest.fixture
def store() -> FakeObjectStore:
    return FakeObjectStore()


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def published() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def generator(jobs, store, model, published) -> Generator:
    # An interval far longer than a test: no progress event comes between started and done.
    return Generator(model, jobs, store, published, progress_interval_s=60)  # type: ignore[arg-type]


async def test_one_command_is_claimed_drawn_stored_recorded_and_announced(generator, jobs, store, model, published):
    job = command(seed=7)

    event = await generator.handle(job)

    assert [(params.prompt, seed) for params, seed, _ in model.drawn] == [("a fox", 7)]
    assert sorted(store.objects) == ["images/job-1/0.png", "images/job-1/1.png"]
    assert store.objects["images/job-1/1.png"].body == flat_png(7, 1, 64, 64)
    assert {stored.content_type for stored in store.objects.values()} == {"image/png"}
    record = jobs.jobs["job-1"]
    assert record.status == JobStatus.SUCCEEDED
    assert (record.seed, record.model, record.progress.step) == (7, "fake-model", 3)
    assert [image.key for image in record.images] == ["images/job-1/0.png", "images/job-1/1.png"]
    assert published.types() == ["GenerationStarted", "LogoGenerated"]
    started = published.of_type(GenerationStarted)[0]
    assert (started.correlation_id, started.seed, started.total_steps) == ("job-1", 7, 3)
    assert published.messages[-1] == event
    assert event.routing_key == LogoGenerated.routing_key
    assert [(image.image_id, image.key) for image in event.images] == [
        ("job-1-0", "images/job-1/0.png"),
        ("job-1-1", "images/job-1/1.png"),
    ]
    assert (event.seed, event.model, event.adapter) == (7, "fake-model", None)


async def test_without_a_seed_the_job_id_decides_it(generator, model):
    job = command("job-without-seed")

    event = await generator.handle(job)

    assert event.seed == seed_for(job) == model.drawn[0][1]
    assert seed_for(command("another-job")) != event.seed


@pytest.mark.parametrize("first_delivery", [True, False])
async def test_a_done_job_delivered_again_draws_nothing_and_is_announced_again(
    generator, store, model, published, first_delivery
):
    first = await generator.handle(command())
    stored = dict(store.objects)
    model.drawn.clear()
    published.messages.clear()

    again = await generator.handle(command(), first_delivery=first_delivery)

    await model.settled()
    assert model.drawn == []  # a first delivery may start drawing, but the failed claim stops it before it runs
    assert store.objects == stored
    assert published.types() == ["LogoGenerated"]
    assert (again.images, again.seed, again.model) == (first.images, first.seed, first.model)


async def test_an_adapter_requested_from_a_generator_without_adapters_is_invalid(generator, jobs, model, published):
    with pytest.raises(InvalidInput, match="params.adapter"):
        await generator.handle(command(adapter="v1"))

    assert model.drawn == []
    assert jobs.jobs == {}
    assert published.messages == []


async def test_a_withdrawn_job_is_refused_and_not_drawn(generator, jobs, store, model, published):
    await jobs.record_accepting(command())
    await jobs.withdraw("job-1")

    with pytest.raises(JobWithdrawn):
        await generator.handle(command())

    await model.settled()
    assert model.drawn == []
    assert store.objects == {}
    assert published.messages == []


async def test_a_failure_is_recorded_and_announced(generator, jobs, published):
    job = command()
    await jobs.mark_running(job, 1, "fake-model", None)

    await generator.fail("job-1", "params.adapter: unknown", "invalid", job)

    assert jobs.jobs["job-1"].status == JobStatus.FAILED
    assert jobs.jobs["job-1"].error == "params.adapter: unknown"
    [failed] = published.of_type(GenerationFailed)
    assert (failed.correlation_id, failed.kind, failed.reason) == ("job-1", "invalid", "params.adapter: unknown")
    assert failed.requester == job.requester
