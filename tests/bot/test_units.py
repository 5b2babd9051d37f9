"""The bot's pure logic: prompt composition, settings validation, callback data, progress throttling."""

import asyncio
import io

import pytest
from PIL import Image

from bot.api_client import static_path
from bot.delivery import Delivery, progress_text
from bot.errors import PromptError, SettingsError
from bot.gallery import shrink
from bot.handlers.history import image_line, page_pictures
from bot.i18n import Texts, load_core
from bot.inflight import InFlight
from bot.keyboards import (
    SETTINGS_CHOICES,
    AssetsCB,
    HintCB,
    RateCB,
    SettingsCB,
    assets_keyboard,
    results_keyboard,
    settings_keyboard,
)
from bot.prompt import STEPS, check_prompt, clean_answer, compose_prompt, next_step, step_named
from bot.user_settings import UserSettings

CATALOGUES = load_core()
EN, RU = Texts(CATALOGUES, "en"), Texts(CATALOGUES, "ru")


def told(error: pytest.ExceptionInfo, t: Texts = EN) -> str:
    """A refusal as the user reads it."""
    return t(error.value.key, **error.value.params)


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
    with pytest.raises(PromptError) as error:
        compose_prompt({key: value for key, value in ANSWERS.items() if key not in ("symbol", "palette")})
    assert "missing: symbol, palette" in told(error)


def test_answers_are_trimmed_skippable_only_when_optional_and_bounded():
    assert clean_answer(step_named("name"), "  Fox \n trot ") == "Fox trot"
    assert clean_answer(step_named("extras"), "skip") == ""
    assert clean_answer(step_named("extras"), "Пропустить", skip_word=RU("skip-word")) == ""
    assert clean_answer(step_named("name"), "пропустить", skip_word=RU("skip-word")) == "пропустить"
    with pytest.raises(PromptError) as error:
        clean_answer(step_named("name"), "   ")
    assert told(error) == "The answer must not be empty."
    with pytest.raises(PromptError) as error:
        clean_answer(step_named("extras"), "   ", skip_word=RU("skip-word"))
    assert told(error, RU) == "Ответ не может быть пустым (пришлите «пропустить», чтобы пропустить шаг)."
    with pytest.raises(PromptError) as error:
        clean_answer(step_named("symbol"), "x" * 101)
    assert told(error) == "The answer must be at most 100 characters, got 101."


def test_steps_follow_each_other_to_the_end():
    names = [STEPS[0].name]
    while (step := next_step(names[-1])) is not None:
        names.append(step.name)
    assert names == ["name", "field", "symbol", "style", "palette", "background", "extras"]


def test_prompts_are_checked_against_the_generators_limits():
    assert check_prompt("  a fox  ") == "a fox"
    with pytest.raises(PromptError) as error:
        check_prompt(" \n ")
    assert "must not be empty" in told(error)
    with pytest.raises(PromptError) as error:
        check_prompt("x" * 1001)
    assert told(error) == "The prompt must be at most 1,000 characters, got 1,001."
    assert told(error, RU) == "Промпт может быть не длиннее 1\xa0000 символов, а в нём 1\xa0001."


def test_settings_are_validated_with_generation_params_limits():
    settings = UserSettings().with_value("size", "64").with_value("steps", "1").with_value("seed", "7")
    params = settings.to_params("a fox")
    assert (params.width, params.height, params.num_steps, params.seed) == (64, 64, 1, 7)
    assert settings.with_value("seed", "random").seed is None
    assert settings.with_value("scheduler", "DPM++_2M_Karras").to_params("a fox").scheduler == "dpm++_2m_karras"
    assert settings.with_value("language", "RU").language == "ru"
    for name, raw, english, russian in [
        ("size", "100", "size must be a multiple of 8, got 100.", "size: нужно число, кратное 8, а не 100."),
        ("size", "2048", "size must be at most 1024, got 2048.", "size: не больше 1024, а не 2048."),
        ("images", "9", "images must be at most 8, got 9.", "images: не больше 8, а не 9."),
        ("guidance", "lots", "guidance must be a number, got “lots”.", "guidance: нужно число, а не «lots»."),
        ("seed", "-1", "seed must be at least 0, got -1.", "seed: не меньше 0, а не -1."),
        ("colour", "red", "Unknown setting “colour”: choose one of images, size,", "Нет настройки «colour»"),
        (
            "scheduler",
            "fast",
            "scheduler must be one of default, dpm++_2m_karras, euler_a, ddim, unipc, got “fast”.",
            "scheduler: одно из default, dpm++_2m_karras, euler_a, ddim, unipc, а не «fast».",
        ),
        ("language", "de", "language must be one of en, ru, got “de”.", "language: одно из en, ru, а не «de»."),
    ]:
        with pytest.raises(SettingsError) as error:
            settings.with_value(name, raw)
        assert told(error).startswith(english) and told(error, RU).startswith(russian), told(error)


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
    keyboard = results_keyboard(RU, "f" * 32, list(range(8)))
    datas = [button.callback_data for row in keyboard.inline_keyboard for button in row]
    assert len(datas) == 8 * 7 + 3
    assert max(len(data.encode()) for data in datas) <= 64


def test_every_asset_made_is_a_button_in_order_whose_data_fits_and_unpacks():
    made = ["kit", "transparent_png", "transparent_svg", "svg"]  # as the API lists them, in any order
    keyboard = assets_keyboard(RU, "f" * 32, 7, made)
    files = keyboard.inline_keyboard[0]
    assert [button.text for button in files] == ["SVG", "SVG без фона", "PNG без фона", "Брендбук"]
    for button in files:
        assert len(button.callback_data.encode()) <= 64
        assert AssetsCB.unpack(button.callback_data).kind in made
    assert [button.text for button in assets_keyboard(EN, "f" * 32, 0, ["kit"]).inline_keyboard[0]] == ["Brand kit"]


@pytest.mark.parametrize("t", [EN, RU])
def test_every_settings_choice_is_a_button_whose_data_unpacks(t):
    keyboard = settings_keyboard(t, UserSettings(), t.locale)
    datas = [button.callback_data for row in keyboard.inline_keyboard for button in row]
    assert len(datas) == sum(len(values) for values in SETTINGS_CHOICES.values())
    for data in datas:
        choice = SettingsCB.unpack(data)
        UserSettings().with_value(choice.name, choice.value)  # every offered choice is a valid setting
        assert len(data.encode()) <= 64


class RecordingBot:
    """Stands in for Telegram's servers, which cannot run here: records the edits Delivery makes."""

    def __init__(self) -> None:
        self.edits: list[str] = []

    async def edit_message_text(self, text: str, chat_id: int, message_id: int, reply_markup=None) -> None:
        self.edits.append(text)


async def test_progress_edits_are_throttled_per_chat_but_final_states_are_not():
    now = [100.0]
    bot = RecordingBot()
    delivery = Delivery(bot, jobs=None, api=None, catalogues=CATALOGUES, edit_interval_s=1.0, clock=lambda: now[0])
    job = {"_id": "j", "chat_id": 1, "status_message_id": 5}
    await delivery._edit_status(job, progress_text(EN, 1, 10), force=False)
    now[0] += 0.5
    await delivery._edit_status(job, progress_text(EN, 2, 10), force=False)  # too soon: dropped
    await delivery._edit_status(job, "✅ Done", force=True)
    now[0] += 1.0
    await delivery._edit_status(job, progress_text(EN, 3, 10), force=False)
    assert bot.edits == [progress_text(EN, 1, 10), "✅ Done", progress_text(EN, 3, 10)]
    assert progress_text(EN, 5, 10) == "🎨 Drawing… 5/10 steps\n▓▓▓▓▓░░░░░"
    assert progress_text(RU, 5, 10) == "🎨 Рисую… шаг 5 из 10\n▓▓▓▓▓░░░░░"


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
    pictures = page_pictures(EN, [item] * 5, first=6)
    assert len(pictures) == 10 and pictures[0].caption == "6. #1 · unrated\na logo of an owl"
    assert page_pictures(RU, [item], first=1)[0].caption == "1. #1 · без оценок\na logo of an owl"
    assert [p.url for p in pictures[:2]] == ["u0", "u2"]  # the safety checker's pick is not shown


def test_a_history_line_names_a_scheduler_other_than_the_default():
    image = {"rating": {"mean": 4.0, "count": 1}, "user_score": None}
    item = {"prompt": "a fox", "status": "succeeded", "images": [image], "params": {"scheduler": "default"}}
    assert image_line(EN, item) == "#1 4.0★ (1)"
    assert image_line(EN, {**item, "params": {"scheduler": "euler_a"}}) == "#1 4.0★ (1) · euler_a"
    assert image_line(EN, {**item, "images": [], "status": "cancelled"}) == "cancelled"
    assert image_line(RU, {**item, "images": [], "status": "cancelled"}) == "отменено"


def test_a_history_line_tells_when_and_numbers_in_the_users_language():
    image = {"rating": {"mean": 4.5, "count": 12}, "user_score": 5}
    item = {"prompt": "a fox", "status": "succeeded", "images": [image], "created_at": "2026-12-06T21:14:03Z"}
    assert image_line(EN, item) == "Dec 6, 2026, 9:14\u202fPM UTC · #1 4.5★ (12), you 5★"
    assert image_line(RU, item) == "6 дек. 2026\u202fг., 21:14 UTC · #1 4,5★ (12), ваша 5★"
