"""bot/updates.py: a handler that needs the sender or the button's message gets the bot's own error without them."""

import datetime

import pytest
from aiogram.types import CallbackQuery, Chat, InaccessibleMessage, Message, User

from bot.errors import NotAllowed, StaleButton
from bot.updates import button_message, sender_id

CHAT = Chat(id=7, type="private")
USER = User(id=42, is_bot=False, first_name="Ada")
NOW = datetime.datetime.now(datetime.UTC)


def test_sender_id_is_the_senders_telegram_id():
    assert sender_id(Message(message_id=1, date=NOW, chat=CHAT, from_user=USER, text="hi")) == 42


def test_a_message_from_no_user_is_refused_with_not_allowed():
    with pytest.raises(NotAllowed):
        sender_id(Message(message_id=1, date=NOW, chat=CHAT, text="hi"))


def test_button_message_is_the_message_under_the_button():
    message = Message(message_id=3, date=NOW, chat=CHAT, text="logos")
    query = CallbackQuery(id="q", from_user=USER, chat_instance="c", message=message, data="x")
    assert button_message(query) is message


@pytest.mark.parametrize("message", [InaccessibleMessage(chat=CHAT, message_id=3), None])
def test_a_button_whose_message_telegram_withholds_is_stale(message):
    query = CallbackQuery(id="q", from_user=USER, chat_instance="c", message=message, data="x")
    with pytest.raises(StaleButton):
        button_message(query)
