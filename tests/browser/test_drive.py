"""A person at LogoForge Drive: sign in, make a folder, drop logos with their prompts and watch them upload,
search, preview, share a link, rename, move, delete and restore, sign out. Chromium against the real API,
SecantusDB and SeaweedFS; a screenshot of each page is saved in the test's temporary folder."""

import base64
import json
from pathlib import Path

import httpx

from services.settings import DEV_ADMIN_KEY
from tests.browser.conftest import needs_chromium
from tests.e2e.drive.conftest import logo_png

pytestmark = needs_chromium

PROMPTS = {
    "fox.png": "a logo of a fox, orange foreground, minimalism",
    "owl.png": "a logo of an owl, navy foreground, emblem",
    "leaf.png": "a logo of a leaf, green foreground, flat design",
}


async def test_an_operator_manages_logos_in_the_drive(api, page, shot, tmp_path: Path):
    # Signed out, the drive sends a person to the sign-in form; a key never appears in a URL.
    await page.goto(f"{api.url}/drive/uploads")
    assert "/drive/sign-in" in page.url
    await shot("01-sign-in")
    await page.fill("input[name=key]", DEV_ADMIN_KEY)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{api.url}/drive/uploads")
    assert DEV_ADMIN_KEY not in page.url
    await page.goto(f"{api.url}/drive")
    home = page.locator("main .grid")
    await home.wait_for()
    assert [await card.locator("strong").inner_text() for card in await home.locator(".card").all()] == [
        "Generated logos",
        "Uploads",
        "Datasets",
        "Training runs",
        "Adapters",
        "Trash",
    ]
    assert "in service: the base model" in await home.inner_text()
    await shot("01-home")
    await page.goto(f"{api.url}/drive/uploads")

    await page.fill("input[name=name]", "Foxtrot")
    await page.click("text=New folder")
    await page.get_by_role("link", name="Foxtrot").wait_for()
    await page.get_by_role("link", name="Foxtrot").click()
    await page.wait_for_selector("h1:has-text('Foxtrot')")
    await page.fill("input[name=name]", "drafts")
    await page.click("text=New folder")
    await page.get_by_role("link", name="drafts").wait_for()

    # Two logos and their metadata.jsonl chosen, a third dropped onto the page: each gets its prompt.
    files = [tmp_path / name for name in ("fox.png", "owl.png")]
    for path, colour in zip(files, ("orange", "navy"), strict=True):
        path.write_bytes(logo_png(colour))
    metadata = tmp_path / "metadata.jsonl"
    metadata.write_text("".join(json.dumps({"file_name": name, "text": text}) + "\n" for name, text in PROMPTS.items()))
    await page.set_input_files("input.picker", [*map(str, files), str(metadata)])
    leaf = base64.b64encode(logo_png("green", "square")).decode()
    await page.evaluate(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "leaf.png", {type: "image/png"}));
            const drop = new DragEvent("drop", {dataTransfer: transfer, bubbles: true});
            document.querySelector(".dropzone").dispatchEvent(drop);
        }""",
        leaf,
    )
    rows = page.locator("table.uploads tbody tr")
    await rows.nth(2).wait_for()
    for index, name in enumerate(("fox.png", "owl.png", "leaf.png")):
        assert await rows.nth(index).locator(".name").inner_text() == name
        assert await rows.nth(index).locator("input.prompt").input_value() == PROMPTS[name]
    await shot("02-queued")
    await page.click("button.start")
    for index in range(3):
        await rows.nth(index).locator(".state:has-text('uploaded')").wait_for()
        assert await rows.nth(index).locator("progress").evaluate("bar => bar.value") == 100
    assert await page.locator("progress.total").evaluate("bar => bar.value") == 100
    cards = page.locator("#listing .card.file")
    await page.wait_for_function("document.querySelectorAll('#listing .card.file').length === 3")
    await shot("03-uploaded")

    # The same folder as a list: name, prompt, size, dimensions, created.
    await page.get_by_role("link", name="List", exact=True).click()
    await page.wait_for_selector("#listing table.list tr[data-name='owl.png']")
    assert "96×96" in await page.inner_text("#listing table.list tr[data-name='owl.png']")
    await shot("03-list")
    await page.get_by_role("link", name="Grid", exact=True).click()
    await page.wait_for_function("document.querySelectorAll('#listing .card.file').length === 3")

    # Search every upload by prompt from the top bar, then within the folder.
    await page.fill("form.search input[name=q]", "green foreground")
    await page.press("form.search input[name=q]", "Enter")
    await page.wait_for_url("**/drive/search?q=green+foreground")
    assert "leaf.png" in await page.inner_text("main") and "owl.png" not in await page.inner_text("main")
    await shot("03-search")
    await page.go_back()
    await page.wait_for_function("document.querySelectorAll('#listing .card.file').length === 3")

    await page.fill("#listing input[name=q]", "navy")
    await page.wait_for_function("document.querySelectorAll('#listing .card.file').length === 1")
    assert await cards.first.get_attribute("data-name") == "owl.png"

    # Preview: the image large with its prompt; a public link that works without signing in.
    await cards.first.click()
    lightbox = page.locator("#lightbox")
    await lightbox.locator(".prompt:has-text('a logo of an owl')").wait_for()
    await lightbox.locator("select[name=expires_s]").select_option("3600")
    await lightbox.get_by_role("button", name="Make a public link").click()
    link = await lightbox.locator(".link input").input_value()
    await shot("04-preview")
    async with httpx.AsyncClient() as anonymous:
        shared = await anonymous.get(link)
    assert shared.status_code == 200 and shared.content == logo_png("navy")

    # Rename, then move into drafts.
    await lightbox.locator("input[name=name]").fill("owl-final.png")
    await lightbox.get_by_role("button", name="Rename").click()
    await page.wait_for_selector("#listing .card.file[data-name='owl-final.png']")
    await page.locator("#listing .card.file[data-name='owl-final.png']").click()
    await lightbox.locator("select[name=target]").select_option(label="Uploads / Foxtrot / drafts")
    await lightbox.get_by_role("button", name="Move", exact=True).click()
    await page.wait_for_function("document.querySelectorAll('#listing .card.file').length === 2")

    # Delete to the trash and restore.
    await page.locator("#listing .card.file[data-name='fox.png']").click()
    await lightbox.get_by_role("button", name="Move to trash").click()
    await page.wait_for_function("document.querySelectorAll('#listing .card.file').length === 1")
    await page.goto(f"{api.url}/drive/trash")
    await shot("05-trash")
    row = page.locator("tr[data-name='fox.png']")
    await row.get_by_role("button", name="Restore").click()
    await page.wait_for_selector("text=The trash is empty.")
    await page.goto(f"{api.url}/drive/uploads")
    await page.get_by_role("link", name="Foxtrot").click()
    await page.wait_for_function("document.querySelectorAll('#listing .card.file').length === 2")

    # A bad file is refused by name, with its reason beside it; the others are not disturbed.
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"not a picture at all")
    await page.set_input_files("input.picker", [str(notes)])
    await page.click("button.start")
    failed = page.locator("table.uploads tbody tr.failed")
    await failed.wait_for()
    assert "notes.png: not an image" in await failed.locator(".state").inner_text()
    await page.wait_for_selector("#notice.error")
    assert await page.inner_text("#notice") == "1 file was not uploaded: see the reason beside each."
    await shot("06-refused")

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{api.url}/drive/sign-in")
    await page.goto(f"{api.url}/drive/uploads")
    assert "/drive/sign-in" in page.url

    # A session that ends while a file waits to be uploaded (signed out from another tab, the page's cookie left as
    # it was): the file says so, and nothing is stored.
    await page.fill("input[name=key]", DEV_ADMIN_KEY)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{api.url}/drive/uploads")
    token = await page.locator("[data-csrf]").first.get_attribute("data-csrf")
    cookies = {cookie["name"]: cookie["value"] for cookie in await page.context.cookies()}
    async with httpx.AsyncClient(base_url=api.url, cookies=cookies) as other_tab:
        ended = await other_tab.post("/drive/sign-out", headers={"X-CSRF-Token": token or ""})
        assert ended.status_code == 303, ended.text
    late = tmp_path / "late.png"
    late.write_bytes(logo_png("purple"))
    await page.set_input_files("input.picker", [str(late)])
    await page.click("button.start")
    expired = page.locator("table.uploads tbody tr.failed")
    await expired.wait_for()
    assert "session expired" in await expired.locator(".state").inner_text()
    await shot("07-session-expired")
    # Every asset of every page came from the API itself.
    assert all(url.startswith(api.url) for url in page.offline_requests if url.startswith("http"))
