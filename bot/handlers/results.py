"""The buttons under delivered logos: reroll, variations, edit the prompt, and each image as a file."""

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram_i18n import I18nContext

from bot.api_client import ApiClient
from bot.delivery import palette_text
from bot.errors import StaleButton
from bot.generation import VARIATION_COUNT, Generations, requester_id
from bot.handlers.constructor import start_editing
from bot.jobs import BotJobRepository
from bot.keyboards import AssetsCB, CancelCB, FileCB, JobCB, assets_keyboard
from bot.updates import button_message
from schemas.generation import GenerationParams


def delivered_image(job: dict, index: int) -> dict:
    """The stored record of image `index` of a delivered job; StaleButton when there is none."""
    for image in job.get("images", []):
        if image["index"] == index:
            return image
    raise StaleButton("error-image-not-in-job")


async def job_action(
    query: CallbackQuery,
    callback_data: JobCB,
    state: FSMContext,
    bot: Bot,
    jobs: BotJobRepository,
    generations: Generations,
    i18n: I18nContext,
) -> None:
    message = button_message(query)
    job = await jobs.owned(callback_data.job, query.from_user.id)
    params = GenerationParams(**job["params"])
    if callback_data.action == "edit":
        await query.answer()
        await start_editing(message, state, params.prompt, i18n, job["params"])
        return
    if callback_data.action == "variations":  # of the first logo shown; 🧰 offers them for each one
        shown = [image for image in job.get("images", []) if not image["nsfw"]]
        if not shown:
            raise StaleButton("error-image-not-in-job")
        await vary(message.chat.id, query.from_user.id, job, shown[0], bot, generations, i18n)
        await query.answer(i18n("variations-started"))
        return
    new_params = params.model_copy(update={"seed": None})
    await generations.submit(bot, message.chat.id, query.from_user.id, new_params, i18n)
    await query.answer(i18n("reroll-started"))


async def vary(
    chat_id: int, user_id: int, job: dict, image: dict, bot: Bot, generations: Generations, i18n: I18nContext
) -> None:
    """Image-to-image from one delivered logo: its job's parameters, VARIATION_COUNT new seeds, the default
    strength; the new job names the image it varies."""
    await generations.submit(bot, chat_id, user_id, GenerationParams(**variation_params(job, image)), i18n)


def variation_params(job: dict, image: dict) -> dict:
    """A delivered logo's job parameters as a variation of it: VARIATION_COUNT new seeds, the default strength."""
    return {
        **job["params"],
        "seed": None,
        "num_images": VARIATION_COUNT,
        "variation_of": image["image_id"],
        "strength": None,
    }


async def send_file(
    query: CallbackQuery, callback_data: FileCB, bot: Bot, jobs: BotJobRepository, api: ApiClient
) -> None:
    chat_id = button_message(query).chat.id
    job = await jobs.owned(callback_data.job, query.from_user.id)
    image = delivered_image(job, callback_data.index)
    png = await api.stored_image(requester_id(query.from_user.id), image["key"])
    await query.answer()
    await bot.send_document(
        chat_id,
        BufferedInputFile(png, filename=f"logo-{job['_id'][:8]}-{image['index'] + 1}.png"),
    )


ASSET_FILES = {  # file name endings
    "svg": ".svg",
    "transparent_svg": "-transparent.svg",
    "transparent_png": "-transparent.png",
    "kit": "-kit.zip",
}


async def image_assets(
    query: CallbackQuery,
    callback_data: AssetsCB,
    state: FSMContext,
    bot: Bot,
    jobs: BotJobRepository,
    api: ApiClient,
    generations: Generations,
    i18n: I18nContext,
) -> None:
    """🧰 under a result: the image's palette and its asset buttons; or, for one asset, the file itself."""
    chat_id = button_message(query).chat.id
    job = await jobs.owned(callback_data.job, query.from_user.id)
    image = delivered_image(job, callback_data.index)
    if callback_data.kind == "vary":  # needs no assets: it starts from the logo itself
        await vary(chat_id, query.from_user.id, job, image, bot, generations, i18n)
        await query.answer(i18n("variations-started"))
        return
    if callback_data.kind == "edit_vary":  # the prompt edited first; the redraw is the variation
        await query.answer()
        await start_editing(button_message(query), state, job["params"]["prompt"], i18n, variation_params(job, image))
        return
    user = requester_id(query.from_user.id)
    assets = await api.request("GET", f"/images/{image['image_id']}/assets", user_id=user)
    if assets.get("status") == "making":
        await query.answer(i18n("assets-making"), show_alert=True)
        return
    number = callback_data.index + 1
    if callback_data.kind == "menu":
        await query.answer()
        lines = [i18n("assets-title", number=number), palette_text(i18n, assets.get("palette"))]
        lines += [
            i18n("assets-failed", asset=i18n(f"button-{kind}"), reason=reason)
            for kind, reason in assets.get("failures", {}).items()
            if kind in ASSET_FILES
        ]
        markup = assets_keyboard(i18n, job["_id"], callback_data.index, list(assets.get("files", {})))
        await bot.send_message(chat_id, "\n".join(line for line in lines if line), reply_markup=markup)
        return
    link = assets.get("files", {}).get(callback_data.kind)
    if link is None:
        raise StaleButton("error-asset-missing")
    body = await api.image(link)
    await query.answer()
    filename = f"logo-{job['_id'][:8]}-{number}{ASSET_FILES[callback_data.kind]}"
    caption = palette_text(i18n, assets.get("palette"))[:1024] or None
    await bot.send_document(chat_id, BufferedInputFile(body, filename=filename), caption=caption)


async def cancel_job(
    query: CallbackQuery, callback_data: CancelCB, jobs: BotJobRepository, api: ApiClient, i18n: I18nContext
) -> None:
    """✖ under a status message: ask the API to cancel; the status message says so when the event arrives."""
    job = await jobs.owned(callback_data.job, query.from_user.id)
    await api.request("POST", f"/jobs/{job['_id']}/cancel", user_id=requester_id(query.from_user.id))
    await query.answer(i18n("cancelling"))


def make_router() -> Router:
    """The results feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="results")
    router.callback_query.register(job_action, JobCB.filter())
    router.callback_query.register(cancel_job, CancelCB.filter())
    router.callback_query.register(send_file, FileCB.filter())
    router.callback_query.register(image_assets, AssetsCB.filter())
    return router
