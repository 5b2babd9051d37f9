"""The LogoForge Telegram bot: aiogram 3 routers, dialog state in MongoDB, delivery by broker events."""
