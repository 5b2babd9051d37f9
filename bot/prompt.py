"""The prompt constructor's pure logic: its steps, their hints, and the prompt the answers compose.

The composed prompt follows the form of the seed's training captions
("a logo of ..., ... background, ... foreground, minimalism, modern"), so the model sees what it learnt on.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import PromptError
from schemas.generation import MAX_PROMPT_LENGTH

MAX_ANSWER_LENGTH = 100
SKIP = "skip"


@dataclass(frozen=True)
class Hint:
    """A button under a question: what it says, and what it puts in the prompt."""

    label: str
    value: str


@dataclass(frozen=True)
class Step:
    """One question of the constructor."""

    name: str
    question: str
    hints: tuple[Hint, ...] = ()
    optional: bool = False


def _hints(*pairs: tuple[str, str]) -> tuple[Hint, ...]:
    return tuple(Hint(label, value) for label, value in pairs)


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
    Step("name", "What is the brand called? Send its name."),
    Step(
        "field",
        "What does the brand do? Pick one or send your own.",
        _hints(
            ("☕ coffee", "coffee shop"),
            ("💻 tech", "tech startup"),
            ("🏋️ fitness", "fitness club"),
            ("💰 finance", "finance company"),
            ("🎓 education", "school"),
            ("🎮 games", "game studio"),
        ),
        optional=True,
    ),
    Step(
        "symbol",
        "What is the main symbol? Pick one or describe it.",
        _hints(
            ("🦊 fox", "a fox"),
            ("⛰️ mountain", "a mountain"),
            ("🍃 leaf", "a leaf"),
            ("🚀 rocket", "a rocket"),
            ("🛡️ shield", "a shield"),
            ("🔤 initial", "initial"),
        ),
    ),
    Step("style", "Which style?", _hints(*((style, style) for style in STYLE_WORDS))),
    Step(
        "palette",
        "Which colours (foreground)? Pick a palette or name your colours.",
        _hints(
            ("⚫ monochrome", "black"),
            ("🌊 ocean", "blue and teal"),
            ("🌅 sunset", "orange and pink"),
            ("🌲 forest", "green and brown"),
            ("🍬 pastel", "pastel pink and mint"),
            ("✨ gold", "gold"),
        ),
    ),
    Step(
        "background",
        "Which background?",
        _hints(("white", "white"), ("black", "black"), ("light gray", "light gray"), ("navy", "dark blue")),
    ),
    Step(
        "extras",
        "Anything else? Pick, describe, or skip.",
        _hints(
            ("flat", "flat design"),
            ("no text", "no text"),
            ("rounded", "rounded shapes"),
            ("negative space", "negative space"),
            ("⏭ skip", SKIP),
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


def clean_answer(step: Step, text: str) -> str:
    """The answer as it goes into the prompt: trimmed, one line; empty only for a skipped optional step."""
    answer = re.sub(r"\s+", " ", text).strip()
    if answer.lower() == SKIP and step.optional:
        return ""
    if not answer:
        raise PromptError(
            f"{step.name} must not be empty" + (" (send 'skip' to leave it out)" if step.optional else "")
        )
    if len(answer) > MAX_ANSWER_LENGTH:
        raise PromptError(f"{step.name} must be at most {MAX_ANSWER_LENGTH} characters, got {len(answer)}")
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
        raise PromptError(f"the constructor is missing: {', '.join(missing)}")
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
        raise PromptError("the prompt must not be empty: describe the logo you want")
    if len(prompt) > MAX_PROMPT_LENGTH:
        raise PromptError(f"the prompt must be at most {MAX_PROMPT_LENGTH} characters, got {len(prompt)}")
    return prompt
