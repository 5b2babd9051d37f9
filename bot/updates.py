"""What a handler needs from an update that Telegram may leave out: the sender, and the message under a button.

aiogram types `Message.from_user` as optional (channel posts have none) and `CallbackQuery.message` as
`Message | InaccessibleMessage | None` (a message older than 48 hours, or an inline one). A handler that
cannot act without them gets one of the bot's own user-facing errors, which the error router answers.
"""

from aiogram.types import CallbackQuery, Message

from bot.errors import NotAllowed, StaleButton


def sender_id(message: Message) -> int:
    """The Telegram id of the user who sent `message`; NotAllowed when it came from no user."""
    if message.from_user is None:
        raise NotAllowed("error-not-from-user")
    return message.from_user.id


def button_message(query: CallbackQuery) -> Message:
    """The message whose button was pressed; StaleButton when Telegram no longer gives it to the bot."""
    if not isinstance(query.message, Message):
        raise StaleButton("error-message-too-old")
    return query.message
