"""The bot's pure logic: prompt composition, settings validation, callback data, progress throttling."""

import asyncio
import io

import pytest
from PIL import Image

from bot.api_client import static_path
from bot.delivery import Delivery, progress_text
from bot.errors import PromptError, SettingsError
from bot.gallery import shrink
from bot.handlers.history import page_pictures
from bot.inflight import InFlight
from bot.keyboards import HintCB, RateCB, SettingsCB, results_keyboard
from bot.prompt import STEPS, check_prompt, clean_answer, compose_prompt, next_step, step_named
from bot.user_settings import UserSettings

ANSWERS = {
    "name": "Foxtrot",
    "field": "coffee shop",
    "symbol": "a fox",
    "style": "minimalist",
    "palette": "orange",
    "background": "white",
    "extras": "",
}


def test_the_prompt_takes_the_training_captions_form():
    assert compose_prompt(ANSWERS) == (
        "a logo of a fox for Foxtrot, a coffee shop, white background, orange foreground, minimalism, modern"
    )


def test_a_lettermark_uses_the_initial_and_the_name_as_text():
    prompt = compose_prompt({**ANSWERS, "symbol": "initial", "style": "lettermark", "extras": "flat design"})
    assert prompt.startswith('a logo of the letter F for Foxtrot, a coffee shop, with the text "Foxtrot"')
    assert prompt.endswith("flat design, lettermark, typography, minimalism, modern")


def test_a_free_text_style_is_kept_as_written():
    assert compose_prompt({**ANSWERS, "style": "art deco"}).endswith("orange foreground, art deco")


def test_missing_answers_are_named():
    with pytest.raises(PromptError, match="missing: symbol, palette"):
        compose_prompt({key: value for key, value in ANSWERS.items() if key not in ("symbol", "palette")})


def test_answers_are_trimmed_skippable_only_when_optional_and_bounded():
    assert clean_answer(step_named("name"), "  Fox \n trot ") == "Fox trot"
    assert clean_answer(step_named("extras"), "skip") == ""
    with pytest.raises(PromptError, match="name must not be empty"):
        clean_answer(step_named("name"), "   ")
    with pytest.raises(PromptError, match="symbol must be at most 100 characters, got 101"):
        clean_answer(step_named("symbol"), "x" * 101)


def test_steps_follow_each_other_to_the_end():
    names = [STEPS[0].name]
    while (step := next_step(names[-1])) is not None:
        names.append(step.name)
    assert names == ["name", "field", "symbol", "style", "palette", "background", "extras"]


def test_prompts_are_checked_against_the_generators_limits():
    assert check_prompt("  a fox  ") == "a fox"
    with pytest.raises(PromptError, match="must not be empty"):
        check_prompt(" \n ")
    with pytest.raises(PromptError, match="at most 1000 characters, got 1001"):
        check_prompt("x" * 1001)


def test_settings_are_validated_with_generation_params_limits():
    settings = UserSettings().with_value("size", "64").with_value("steps", "1").with_value("seed", "7")
    params = settings.to_params("a fox")
    assert (params.width, params.height, params.num_steps, params.seed) == (64, 64, 1, 7)
    assert settings.with_value("seed", "random").seed is None
    assert settings.with_value("scheduler", "DPM++_2M_Karras").to_params("a fox").scheduler == "dpm++_2m_karras"
    for name, raw, message in [
        ("size", "100", "size must be a multiple of 8, got 100"),
        ("size", "2048", "size: input should be less than or equal to 1024, got 2048"),
        ("images", "9", "images: input should be less than or equal to 8, got 9"),
        ("guidance", "lots", "guidance must be a number, got 'lots'"),
        ("seed", "-1", "seed: input should be greater than or equal to 0, got -1"),
        ("colour", "red", "unknown setting 'colour'"),
        ("scheduler", "fast", r"scheduler: input should be 'default', 'dpm\+\+_2m_karras', 'euler_a', 'ddim'"),
    ]:
        with pytest.raises(SettingsError, match=message):
            settings.with_value(name, raw)


@pytest.mark.parametrize(
    ("factory", "data"),
    [
        (RateCB, "rate:0123456789abcdef0123456789abcdef:0:6"),  # score out of range
        (RateCB, "rate:not-a-job-id:0:5"),
        (RateCB, "rate:0123456789abcdef0123456789abcdef:8:5"),  # no ninth image
        (HintCB, "hint:style:99"),
        (SettingsCB, "set:colour:red"),
    ],
)
def test_forged_callback_data_does_not_unpack(factory, data):
    with pytest.raises(ValueError):
        factory.unpack(data)


def test_every_results_button_fits_telegrams_64_bytes():
    keyboard = results_keyboard("f" * 32, list(range(8)))
    datas = [button.callback_data for row in keyboard.inline_keyboard for button in row]
    assert len(datas) == 8 * 6 + 3
    assert max(len(data.encode()) for data in datas) <= 64


class RecordingBot:
    """Stands in for Telegram's servers, which cannot run here: records the edits Delivery makes."""

    def __init__(self) -> None:
        self.edits: list[str] = []

    async def edit_message_text(self, text: str, chat_id: int, message_id: int, reply_markup=None) -> None:
        self.edits.append(text)


async def test_progress_edits_are_throttled_per_chat_but_final_states_are_not():
    now = [100.0]
    bot = RecordingBot()
    delivery = Delivery(bot, jobs=None, api=None, edit_interval_s=1.0, clock=lambda: now[0])
    job = {"_id": "j", "chat_id": 1, "status_message_id": 5}
    await delivery._edit_status(job, progress_text(1, 10), force=False)
    now[0] += 0.5
    await delivery._edit_status(job, progress_text(2, 10), force=False)  # too soon: dropped
    await delivery._edit_status(job, "✅ Done", force=True)
    now[0] += 1.0
    await delivery._edit_status(job, progress_text(3, 10), force=False)
    assert bot.edits == [progress_text(1, 10), "✅ Done", progress_text(3, 10)]
    assert progress_text(5, 10).endswith("▓▓▓▓▓░░░░░")


async def test_a_stopping_bot_waits_for_the_updates_it_is_handling():
    in_flight = InFlight()
    entered, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def handler(event, data):
        entered.set()
        await release.wait()
        order.append("handled")

    async def stop() -> None:
        await in_flight.drain(timeout_s=30)
        order.append("drained")

    handling = asyncio.create_task(in_flight(handler, None, {}))
    await entered.wait()
    # The drain gets the loop first: if it did not wait for the handler, it would finish first.
    draining = asyncio.create_task(stop())
    release.set()
    await asyncio.wait_for(asyncio.gather(handling, draining), 5)
    assert order == ["handled", "drained"]
    await asyncio.wait_for(in_flight.drain(timeout_s=30), 1)  # nothing in flight: returns at once


def test_signed_links_are_fetched_through_the_bots_own_api_url():
    link = "https://logos.example.org/api/static/images/j1/0.png?expires=99&sig=ab"
    assert static_path(link) == "/static/images/j1/0.png?expires=99&sig=ab"
    with pytest.raises(ValueError, match="url: not a signed image link"):
        static_path("https://logos.example.org/images/j1/0.png")


def test_thumbnails_are_at_most_256_px_and_small_images_are_kept():
    def png(size: int) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (size, size), "orange").save(out, format="PNG")
        return out.getvalue()

    with Image.open(io.BytesIO(shrink(png(512)))) as image:
        assert image.size == (256, 256)
    small = png(64)
    assert shrink(small) == small


def test_a_history_page_fits_one_album():
    images = [{"url": f"u{n}", "nsfw": n == 1, "rating": None} for n in range(4)]
    item = {"prompt": "a logo of an owl", "images": images}
    pictures = page_pictures([item] * 5, first=6)
    assert len(pictures) == 10 and pictures[0].caption == "6. #1 · unrated\na logo of an owl"
    assert [p.url for p in pictures[:2]] == ["u0", "u2"]  # the safety checker's pick is not shown


def test_a_history_line_names_a_scheduler_other_than_the_default():
    from bot.handlers.history import image_line

    image = {"rating": {"mean": 4.0, "count": 1}, "user_score": None}
    item = {"prompt": "a fox", "status": "succeeded", "images": [image], "params": {"scheduler": "default"}}
    assert image_line(item) == "#1 4.0★ (1)"
    assert image_line({**item, "params": {"scheduler": "euler_a"}}) == "#1 4.0★ (1) · euler_a"
    assert image_line({**item, "images": [], "status": "cancelled"}) == "cancelled"
