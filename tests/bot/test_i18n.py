"""The bot's catalogues: both languages hold the same messages with the same variables, plural forms are right,
and every text the bot sends comes from them (a text written into bot/ code fails here, with its place)."""

import ast
import re
from pathlib import Path

import pytest
from fluent.syntax import FluentParser
from fluent.syntax import ast as fluent
from fluent.syntax.visitor import Visitor

from bot.i18n import LANGUAGES, LOCALES_DIR, Texts, language_for, load_core

BOT_DIR = Path(__file__).resolve().parents[2] / "bot"


class References(Visitor):
    """The variables ($name) and messages a pattern refers to."""

    def __init__(self) -> None:
        super().__init__()
        self.variables: set[str] = set()
        self.messages: set[str] = set()

    def visit_VariableReference(self, node: fluent.VariableReference) -> None:
        self.variables.add(node.id.name)

    def visit_MessageReference(self, node: fluent.MessageReference) -> None:
        self.messages.add(node.id.name)
        self.generic_visit(node)


def catalogue(language: str) -> dict[str, References]:
    resource = FluentParser().parse((LOCALES_DIR / language / "bot.ftl").read_text(encoding="utf-8"))
    junk = [entry.content.strip()[:80] for entry in resource.body if isinstance(entry, fluent.Junk)]
    assert not junk, f"{language}: unparsable entries {junk}"
    messages = {}
    for entry in resource.body:
        if isinstance(entry, fluent.Message):
            references = References()
            references.visit(entry)
            messages[entry.id.name] = references
    return messages


CATALOGUES = {language: catalogue(language) for language in LANGUAGES}


def variables(messages: dict[str, References], key: str) -> set[str]:
    """A message's variables with those of the messages it refers to (they share the caller's arguments)."""
    found = set(messages[key].variables)
    for referenced in messages[key].messages:
        found |= variables(messages, referenced)
    return found


def test_both_catalogues_hold_the_same_keys_with_the_same_variables():
    english, russian = CATALOGUES["en"], CATALOGUES["ru"]
    assert sorted(set(english) - set(russian)) == [], "missing in ru"
    assert sorted(set(russian) - set(english)) == [], "missing in en"
    differing = {key for key in english if variables(english, key) != variables(russian, key)}
    assert not differing, {key: (variables(english, key), variables(russian, key)) for key in differing}
    for messages in CATALOGUES.values():
        for key, references in messages.items():
            assert references.messages <= set(messages), f"{key} refers to a message that does not exist"


@pytest.mark.parametrize(
    ("count", "english", "russian"),
    [
        (1, "1 logo", "1 логотип"),
        (2, "2 logos", "2 логотипа"),
        (5, "5 logos", "5 логотипов"),
        (11, "11 logos", "11 логотипов"),
        (21, "21 logos", "21 логотип"),
        (24, "24 logos", "24 логотипа"),
        (1000, "1,000 logos", "1\xa0000 логотипов"),
    ],
)
def test_plural_forms_and_numbers_follow_each_language(count, english, russian):
    core = load_core()
    assert Texts(core, "en")("done", count=count, seed="7") == f"✅ Done: {english}, seed 7."
    assert Texts(core, "ru")("done", count=count, seed="7") == f"✅ Готово: {russian}, сид 7."


def test_russian_plurals_of_images_jobs_and_seconds():
    ru = Texts(load_core(), "ru")
    assert [ru("done-hidden", count=n) for n in (1, 3, 5)] == [
        "1 изображение скрыто фильтром безопасности.",
        "3 изображения скрыты фильтром безопасности.",
        "5 изображений скрыто фильтром безопасности.",
    ]
    assert ru("queued-ahead", count=22) == "⏳ В очереди: впереди 22 задачи."
    assert ru("error-rate-limited", limit=1, window=1).startswith("Вы запустили 1 генерацию за последнюю 1 секунду.")
    assert ru("error-rate-limited", limit=5, window=60).startswith("Вы запустили 5 генераций за последние 60 секунд.")


def test_telegram_languages_map_to_catalogues():
    assert [language_for(code) for code in ("ru", "uk", "be", "kk", "en", "en-GB", "de", None, "")] == [
        "ru",
        "ru",
        "ru",
        "ru",
        "en",
        "en",
        "en",
        "en",
        "en",
    ]


# --- No text outside the catalogues -----------------------------------------------------------------------------

# Strings that are not texts for a person: one token (identifiers, callback values, HTTP methods and headers,
# MongoDB operators, paths) not ending like a sentence.
IDENTIFIER = re.compile(r"^[\w+.\-:/$*{}]*(?<![.!?…])$")
# Calls whose string arguments are for operators or machines: logs, the `what` of store and Telegram errors,
# regular expressions, HTTP answers to a webhook caller, settings documentation, pydantic's own wording.
# Calls whose first argument is a catalogue key: lookups, and the refusals told from the catalogue.
KEY_CALLS = {
    "t",
    "i18n",
    "UserError",
    "PromptError",
    "SettingsError",
    "RateLimited",
    "StaleButton",
    "NotAllowed",
    "ServiceUnavailable",
}
# Calls whose strings never reach a chat user (a span name is read by operators, in traces).
NOT_FOR_USERS = {
    "telegram_errors",
    "translated_errors",
    "json_response",
    "Field",
    "compile",
    "sub",
    "removeprefix",
    "start_as_current_span",
}
# Where bot/ code writes English on purpose: the words the constructor puts into the prompt (the model's own
# language), and settings descriptions, which document configuration for operators, not for chat users.
PROMPT_VOCABULARY = {("prompt.py", name) for name in ("STYLE_WORDS", "STEPS", "compose_prompt", "_subject")}


def _literal_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value for part in node.values if isinstance(part, ast.Constant))
    return None


def _constants(node: ast.AST) -> list[str]:
    """The strings an argument can be: a literal, or either branch of `a if c else b`."""
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    return []


class TextFinder(ast.NodeVisitor):
    """String literals in bot/ code that read like text for a person, with the catalogue keys the code uses."""

    def __init__(self, file: str, keys: set[str]) -> None:
        self.file = file
        self.keys = keys
        self.scope: list[str] = []
        self.texts: list[str] = []
        self.used_keys: set[str] = set()
        self.unknown_keys: list[str] = []

    def _scoped(self, node: ast.AST, name: str) -> None:
        self.scope.append(name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._skip_docstring(node)
        node.returns = None  # a return annotation is a type
        self._scoped(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._skip_docstring(node)
        self._scoped(node, node.name)

    def visit_Module(self, node: ast.Module) -> None:
        self._skip_docstring(node)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        names = [target.id for target in node.targets if isinstance(target, ast.Name)]
        self._scoped(node, names[0] if names else "")

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.scope.append(node.target.id if isinstance(node.target, ast.Name) else "")
            self.visit(node.value)
            self.scope.pop()

    def visit_arg(self, node: ast.arg) -> None:
        return None  # annotations, quoted or not, are types

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg != "error":  # a job's recorded error is for operators (bot_jobs), not sent
            self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        owner = function.value if isinstance(function, ast.Attribute) else None
        if (isinstance(owner, ast.Name) and owner.id == "logger") or name in NOT_FOR_USERS:
            return
        if node.args and (name in KEY_CALLS or isinstance(function, ast.Call)):  # `self._texts(job)("key")` too
            for key in _constants(node.args[0]):
                if key not in self.keys:
                    self.unknown_keys.append(f"bot/{self.file}:{node.lineno}: {key!r}")
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        # Exceptions that are not UserError are for operators and logs (a misconfiguration, a bug).
        exception = node.exc
        if isinstance(exception, ast.Call) and getattr(exception.func, "id", "") in (
            "ValueError",
            "RuntimeError",
            "KeyError",
            "RetryableError",
            "TypeError",
        ):
            return
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        self._check(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._check(node)
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                self.visit(value)

    def _check(self, node: ast.AST) -> None:
        text = _literal_text(node)
        if text is None:
            return
        if text in self.keys:
            self.used_keys.add(text)
            return
        if any((self.file, scope) in PROMPT_VOCABULARY for scope in self.scope):
            return
        if not any(character.isalpha() for character in text) or IDENTIFIER.match(text):
            return
        self.texts.append(f"bot/{self.file}:{node.lineno}: {text!r}")

    def _skip_docstring(self, node: ast.AST) -> None:
        body = getattr(node, "body", [])
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body[0].value.value = None  # not a text the bot sends


def scan() -> tuple[list[str], set[str], list[str]]:
    keys = set(CATALOGUES["en"])
    texts, used, unknown = [], set(), []
    for path in sorted(BOT_DIR.rglob("*.py")):
        finder = TextFinder(str(path.relative_to(BOT_DIR)), keys)
        finder.visit(ast.parse(path.read_text(encoding="utf-8")))
        texts += finder.texts
        used |= finder.used_keys
        unknown += finder.unknown_keys
    return texts, used, unknown


def test_every_text_the_bot_sends_comes_from_the_catalogues():
    texts, _, _ = scan()
    assert texts == [], "texts written in code instead of bot/locales:\n" + "\n".join(texts)


def test_every_catalogue_key_written_in_code_exists_and_every_message_is_used():
    """Keys built at run time (question-<step>, hint-<label>, setting-<name>, best-<scope>) are checked here too."""
    from bot.keyboards import ASSET_KINDS
    from bot.prompt import STEPS
    from bot.user_settings import FIELDS

    keys = set(CATALOGUES["en"])
    built = {step.question for step in STEPS} | {hint.label for step in STEPS for hint in step.hints}
    built |= {f"setting-{name}" for name in FIELDS} | {"best-all", "best-mine"}
    built |= {f"button-{kind}" for kind in ASSET_KINDS}
    built |= {f"command-{name}" for name in ("new", "settings", "history", "best", "help")}
    assert built - keys == set()
    _, used, unknown = scan()
    assert unknown == [], "keys in no catalogue:\n" + "\n".join(unknown)
    assert len(used) > 100, f"the scan found only {len(used)} catalogue keys: it is not reading the code"
    referenced = {name for references in CATALOGUES["en"].values() for name in references.messages}
    assert keys - used - built - referenced == set(), "catalogue messages nothing uses"
