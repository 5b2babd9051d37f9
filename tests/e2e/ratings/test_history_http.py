"""History over HTTP: pagination, privacy, deleting an item, and regenerating a job with changed fields."""

import pytest

from tests.support import record_generated_job

pytestmark = pytest.mark.asyncio

SMALL = {
    "prompt": "a logo of a kite",
    "seed": 3,
    "num_images": 1,
    "height": 64,
    "width": 64,
    "num_steps": 1,
    "guidance_scale": 6.0,
}


async def test_history_pages_newest_first_and_is_private(alice, bob, admin, db):
    for n in range(5):
        await record_generated_job(db, "alice", f"logo {n}")
    await record_generated_job(db, "bob", "not alice's")
    jobs = await db.jobs.find({"requester.user_id": "alice"}).to_list()
    expected = [job["_id"] for job in sorted(jobs, key=lambda job: (job["created_at"], job["_id"]), reverse=True)]

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"before": cursor} if cursor else {})
        page = (await alice.get("/users/alice/history", params=params)).json()
        seen += [item["job_id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and pages == 3

    assert (await bob.get("/users/alice/history")).status_code == 403
    as_admin = await admin.get("/users/alice/history", params={"limit": 1})
    assert as_admin.status_code == 200 and [item["job_id"] for item in as_admin.json()["items"]] == expected[:1]
    bad_cursor = await alice.get("/users/alice/history", params={"before": "not-a-cursor"})
    assert bad_cursor.status_code == 422 and "before" in bad_cursor.text


async def test_deleting_an_item_hides_it_but_keeps_images_and_ratings(ratings_service, alice, bob, db, events):
    [kept] = await record_generated_job(db, "alice", "kept")
    [deleted] = await record_generated_job(db, "alice", "deleted")
    for image_id in (kept, deleted):
        assert (await bob.post(f"/images/{image_id}/rating", json={"score": 5})).status_code == 202
    await events.wait_count(lambda e: e.routing_key == "rating.recorded", 2, what="LogoRated events")
    job_id = deleted.rsplit("-", 1)[0]

    assert (await bob.delete(f"/users/alice/history/{job_id}")).status_code == 403
    assert (await alice.delete("/users/alice/history/no-such-job")).status_code == 404
    assert (await alice.delete(f"/users/alice/history/{job_id}")).status_code == 204

    items = (await alice.get("/users/alice/history")).json()["items"]
    assert [item["prompt"] for item in items] == ["kept"]
    assert [image["image_id"] for image in (await alice.get("/images/best")).json()] == [kept]
    # Deleted before anyone rated it: a later rating must not bring it into the best-of list either.
    [unrated] = await record_generated_job(db, "alice", "deleted unrated")
    assert (await alice.delete(f"/users/alice/history/{unrated.rsplit('-', 1)[0]}")).status_code == 204
    assert (await bob.post(f"/images/{unrated}/rating", json={"score": 5})).status_code == 202
    await events.wait(lambda e: e.routing_key == "rating.recorded" and e.body["image_id"] == unrated)
    assert [image["image_id"] for image in (await alice.get("/images/best")).json()] == [kept]
    assert await db.images.count_documents({"_id": deleted}) == 1
    assert await db.ratings.count_documents({"image_id": deleted}) == 1
    # Still rateable and still the job's: only the history and the best-of lists leave it out.
    assert (await alice.get(f"/jobs/{job_id}")).json()["status"] == "succeeded"


async def test_regenerate_keeps_the_request_except_the_changed_fields(generator, alice, bob, events):
    original = (await alice.post("/generate", json=SMALL)).json()

    changed = await alice.post(f"/jobs/{original['job_id']}/regenerate", json={"prompt": "a logo of a swallow"})
    assert changed.status_code == 202, changed.text
    new_job = changed.json()["job_id"]
    await events.for_job(new_job, "generation.completed")
    again = (await alice.get(f"/jobs/{new_job}")).json()
    assert again["params"]["prompt"] == "a logo of a swallow"
    assert {k: v for k, v in again["params"].items() if k not in ("prompt", "seed")} == {
        k: v
        for k, v in (await alice.get(f"/jobs/{original['job_id']}")).json()["params"].items()
        if k not in ("prompt", "seed")
    }
    assert again["params"]["seed"] is None and again["seed"] != original["seed"]

    seeded = (await alice.post(f"/jobs/{original['job_id']}/regenerate", json={"seed": 11})).json()
    await events.for_job(seeded["job_id"], "generation.completed")
    assert (await alice.get(f"/jobs/{seeded['job_id']}")).json()["seed"] == 11

    invalid = await alice.post(f"/jobs/{original['job_id']}/regenerate", json={"height": 65})
    assert invalid.status_code == 422 and "height" in invalid.text
    unknown_field = await alice.post(f"/jobs/{original['job_id']}/regenerate", json={"colour": "red"})
    assert unknown_field.status_code == 422
    assert (await bob.post(f"/jobs/{original['job_id']}/regenerate", json={})).status_code == 404
