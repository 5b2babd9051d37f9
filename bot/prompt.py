"""The prompt constructor's pure logic: its steps, their hints, and the prompt the answers compose.

The composed prompt follows the form of the seed's training captions
("a logo of ..., ... background, ... foreground, minimalism, modern"), so the model sees what it learnt on.
Questions and button labels are catalogue keys, shown in the user's language; what a button puts into the
prompt is English in every language.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import PromptError
from schemas.generation import MAX_PROMPT_LENGTH

MAX_ANSWER_LENGTH = 100
SKIP = "skip"
CYRILLIC_WORD = re.compile(r"[\w-]*[\u0400-\u04ff][\w-]*")


@dataclass(frozen=True)
class Hint:
    """A button under a question: the catalogue key of what it says, and the English it puts in the prompt."""

    label: str
    value: str


@dataclass(frozen=True)
class Step:
    """One question of the constructor; its text is the catalogue message `question-<name>`."""

    name: str
    hints: tuple[Hint, ...] = ()
    optional: bool = False

    @property
    def question(self) -> str:
        return f"question-{self.name}"


def _hints(*pairs: tuple[str, str]) -> tuple[Hint, ...]:
    return tuple(Hint(f"hint-{label}", value) for label, value in pairs)


# What each style adds at the end of the prompt, in the training captions' vocabulary.
STYLE_WORDS = {
    "minimalist": "minimalism, modern",
    "emblem": "emblem, badge, modern",
    "mascot": "mascot, character, modern",
    "lettermark": "lettermark, typography, minimalism, modern",
    "geometric": "geometric shapes, minimalism, modern",
    "vintage": "vintage, retro",
    "hand-drawn": "hand-drawn, sketch",
}

STEPS: tuple[Step, ...] = (
    Step("name"),
    Step(
        "field",
        _hints(
            ("coffee", "coffee shop"),
            ("tech", "tech startup"),
            ("fitness", "fitness club"),
            ("finance", "finance company"),
            ("education", "school"),
            ("games", "game studio"),
        ),
        optional=True,
    ),
    Step(
        "symbol",
        _hints(
            ("fox", "a fox"),
            ("mountain", "a mountain"),
            ("leaf", "a leaf"),
            ("rocket", "a rocket"),
            ("shield", "a shield"),
            ("initial", "initial"),
        ),
    ),
    Step("style", _hints(*((style, style) for style in STYLE_WORDS))),
    Step(
        "palette",
        _hints(
            ("monochrome", "black"),
            ("ocean", "blue and teal"),
            ("sunset", "orange and pink"),
            ("forest", "green and brown"),
            ("pastel", "pastel pink and mint"),
            ("gold", "gold"),
        ),
    ),
    Step(
        "background",
        _hints(("white", "white"), ("black", "black"), ("light-gray", "light gray"), ("navy", "dark blue")),
    ),
    Step(
        "extras",
        _hints(
            ("flat", "flat design"),
            ("no-text", "no text"),
            ("rounded", "rounded shapes"),
            ("negative-space", "negative space"),
            ("skip", SKIP),
        ),
        optional=True,
    ),
)

STEP_NAMES = tuple(step.name for step in STEPS)


def step_named(name: str) -> Step:
    for step in STEPS:
        if step.name == name:
            return step
    raise KeyError(f"no constructor step {name!r}")


def next_step(name: str) -> Step | None:
    """The step after `name`, or None after the last one."""
    index = STEP_NAMES.index(name)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


def clean_answer(step: Step, text: str, skip_word: str = SKIP) -> str:
    """The answer as it goes into the prompt: trimmed, one line; empty only for a skipped optional step
    (`skip`, or `skip_word`, the word for it in the user's language)."""
    answer = re.sub(r"\s+", " ", text).strip()
    if answer.lower() in (SKIP, skip_word.lower()) and step.optional:
        return ""
    if not answer:
        raise PromptError("error-answer-empty-optional" if step.optional else "error-answer-empty", step=step.name)
    if len(answer) > MAX_ANSWER_LENGTH:
        raise PromptError("error-answer-too-long", step=step.name, limit=MAX_ANSWER_LENGTH, length=len(answer))
    return answer


def _subject(answers: Mapping[str, str]) -> str:
    symbol = answers["symbol"]
    if symbol == "initial":
        return f"the letter {answers['name'][0].upper()}"
    return symbol


def compose_prompt(answers: Mapping[str, str]) -> str:
    """Compose the prompt from every step's answer, in the training captions' form."""
    missing = [step.name for step in STEPS if not step.optional and not answers.get(step.name)]
    if missing:
        raise PromptError("error-constructor-missing", steps=", ".join(missing))
    style = answers["style"]
    brand = f"for {answers['name']}"
    if answers.get("field"):
        brand += f", a {answers['field']}"
    parts = [f"a logo of {_subject(answers)} {brand}"]
    if style == "lettermark":
        parts.append(f'with the text "{answers["name"]}"')
    parts.append(f"{answers['background']} background")
    parts.append(f"{answers['palette']} foreground")
    if answers.get("extras"):
        parts.append(answers["extras"])
    parts.append(STYLE_WORDS.get(style.lower(), style))
    return check_prompt(", ".join(parts))


def check_prompt(text: str) -> str:
    """A prompt the generator will accept: not blank, not longer than GenerationParams allows."""
    prompt = text.strip()
    if not prompt:
        raise PromptError("error-prompt-empty")
    if len(prompt) > MAX_PROMPT_LENGTH:
        raise PromptError("error-prompt-too-long", limit=MAX_PROMPT_LENGTH, length=len(prompt))
    return prompt


def not_english(text: str) -> list[str]:
    """The words of `text` written in Cyrillic, which the model's English text encoder reads poorly."""
    return CYRILLIC_WORD.findall(text)
