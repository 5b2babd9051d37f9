"""Rating over HTTP through the whole pipeline; bad ratings refused; best-of ordering; the admin retrain endpoint."""

import pytest

from schemas.ratings import RateLogo
from tests.support import drain_queue, publish_commands, record_dataset_manifest, record_generated_job

pytestmark = pytest.mark.asyncio

SMALL = {"prompt": "a logo of a heron", "num_images": 2, "height": 64, "width": 64, "num_steps": 1}


def rated(image_id: str):
    return lambda event: event.routing_key == "rating.recorded" and event.body["image_id"] == image_id


async def test_a_rating_reaches_the_history_and_the_best_list(generator, ratings_service, alice, bob, events):
    generated = (await alice.post("/generate", json=SMALL)).json()
    job_id = generated["job_id"]
    first, second = f"{job_id}-0", f"{job_id}-1"

    response = await alice.post(f"/images/{first}/rating", json={"score": 4, "comment": "clean lines"})
    assert response.status_code == 202, response.text
    assert response.json()["user_id"] == "alice" and response.json()["score"] == 4
    assert (await bob.post(f"/images/{first}/rating", json={"score": 2})).status_code == 202
    await events.wait_count(rated(first), 2, what="LogoRated for both ratings")

    history = (await alice.get("/users/alice/history")).json()
    [item] = history["items"]
    assert item["job_id"] == job_id and item["prompt"] == SMALL["prompt"] and item["params"]["num_steps"] == 1
    images = {image["image_id"]: image for image in item["images"]}
    assert images[first]["rating"]["count"] == 2 and images[first]["rating"]["mean"] == 3.0
    assert images[first]["user_score"] == 4
    assert images[second]["rating"] is None and images[second]["user_score"] is None
    assert (await alice.get(images[first]["url"])).content.startswith(b"\x89PNG")

    best = (await bob.get("/images/best", params={"limit": 5})).json()
    assert [image["image_id"] for image in best] == [first]
    assert best[0]["prompt"] == SMALL["prompt"] and best[0]["user_id"] == "alice"


async def test_bad_ratings_are_refused_with_a_clear_status_and_nothing_is_published(alice, db, rabbit_url):
    [image_id] = await record_generated_job(db, "alice")
    [failed_image] = await record_generated_job(db, "alice", failed=True)

    for score in (0, 6, "five"):
        response = await alice.post(f"/images/{image_id}/rating", json={"score": score})
        assert response.status_code == 422 and "score" in response.text
    unknown = await alice.post("/images/nope-0/rating", json={"score": 3})
    assert unknown.status_code == 404 and "no image nope-0" in unknown.json()["detail"]
    failed = await alice.post(f"/images/{failed_image}/rating", json={"score": 3})
    assert failed.status_code == 409 and "failed job" in failed.json()["detail"]
    assert await drain_queue(rabbit_url, "ratings") == []


async def test_best_ranks_by_confidence_not_by_mean(ratings_service, alice, bob, db, rabbit_url, events):
    one_five, many_good, two_fives = [(await record_generated_job(db, "alice", f"logo {n}"))[0] for n in range(3)]
    [bobs] = await record_generated_job(db, "bob", "bob's logo")
    scores = {one_five: [5], many_good: [5] * 40 + [4] * 10, two_fives: [5, 5], bobs: [4, 4, 4]}
    commands = [
        RateLogo(correlation_id=image_id.rsplit("-", 1)[0], image_id=image_id, user_id=f"rater-{n}", score=score)
        for image_id, values in scores.items()
        for n, score in enumerate(values)
    ]
    await publish_commands(rabbit_url, commands)
    await events.wait_count(lambda e: e.routing_key == "rating.recorded", len(commands), what="LogoRated events")

    best = (await alice.get("/images/best", params={"limit": 10})).json()
    # By mean the order would be one_five, two_fives, many_good, bobs.
    assert [image["image_id"] for image in best] == [many_good, two_fives, bobs, one_five]
    assert best[0]["rating"]["count"] == 50 and best[0]["rating"]["mean"] == 4.8
    assert [image["rating"]["score"] for image in best] == sorted((i["rating"]["score"] for i in best), reverse=True)
    top_two = (await alice.get("/images/best", params={"limit": 2})).json()
    assert [image["image_id"] for image in top_two] == [many_good, two_fives]
    only_bob = (await bob.get("/images/best", params={"user_id": "bob"})).json()
    assert [image["image_id"] for image in only_bob] == [bobs]


async def test_admin_retrain_over_http(ratings_service, alice, admin, db, rabbit_url, events):
    assert (await alice.post("/admin/retrain")).status_code == 403
    nothing = await admin.post("/admin/retrain")
    assert nothing.status_code == 409 and "nothing to train" in nothing.json()["detail"]
    assert nothing.json()["code"] == "nothing-to-train" and "values" not in nothing.json()

    image_ids = [(await record_generated_job(db, "alice"))[0] for _ in range(2)]
    for image_id in image_ids:
        assert (await alice.post(f"/images/{image_id}/rating", json={"score": 5})).status_code == 202
    await events.wait_count(lambda e: e.routing_key == "rating.recorded", 2, what="LogoRated events")
    assert await drain_queue(rabbit_url, "train") == []  # 2 qualifying images: under the automatic threshold

    unknown = await admin.post("/admin/retrain", json={"datasets": ["brand-kit"]})
    assert unknown.status_code == 422
    [error] = unknown.json()["detail"]
    assert error["loc"] == ["body", "datasets"] and "unknown dataset(s) 'brand-kit'" in error["msg"]
    await record_dataset_manifest(db, "brand-kit")
    started = await admin.post("/admin/retrain", json={"datasets": ["brand-kit"]})
    assert started.status_code == 202, started.text
    run = started.json()
    assert sorted(run["image_ids"]) == sorted(image_ids) and run["reason"] == "manual"
    [command] = await drain_queue(rabbit_url, "train")
    assert command.body["run_id"] == run["run_id"] and command.body["datasets"] == ["brand-kit"]
