"""The prompt catalog: ``sounds/prompts.toml`` loaded into frozen dataclasses.

Rules the loader enforces, every violation reported at once with the entry it concerns:

* top-level keys are ``default_language``, ``voices`` and ``prompts``, nothing else;
* ``voices`` maps a language (the Asterisk sound folder, e.g. ``ko``, ``en``, ``en_GB``) to an
  espeak-ng voice name, or to a table ``{voice = "...", speed = 150, pitch = 50}``;
* ``default_language`` is one of those languages;
* a prompt name is lowercase letters, digits and single ``-`` (``main-menu``), because it becomes
  a file name and an Asterisk ``sound:cti/<name>`` URI;
* every prompt has a non-empty text for every language, and no key that is not a language.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from stasis_app.errors import CatalogError, SoundsError

PROMPT_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(?:_[A-Za-z0-9]{2,8})?$")
_TOP_KEYS = frozenset({"default_language", "voices", "prompts"})
_VOICE_KEYS = frozenset({"voice", "speed", "pitch"})
_SPEED_RANGE = (80, 450)  # espeak-ng -s, words per minute
_PITCH_RANGE = (0, 99)  # espeak-ng -p


@dataclass(frozen=True)
class Voice:
    """How espeak-ng speaks one language. ``None`` leaves espeak-ng's default."""

    name: str
    speed: int | None = None
    pitch: int | None = None

    def espeak_args(self) -> tuple[str, ...]:
        args = ["-v", self.name]
        if self.speed is not None:
            args += ["-s", str(self.speed)]
        if self.pitch is not None:
            args += ["-p", str(self.pitch)]
        return tuple(args)


@dataclass(frozen=True)
class Prompt:
    """One prompt: a file-safe name and its text per language."""

    name: str
    texts: Mapping[str, str]


@dataclass(frozen=True)
class Catalog:
    """Every prompt in every language. ``languages`` starts with the default language."""

    default_language: str
    voices: Mapping[str, Voice]
    prompts: tuple[Prompt, ...]

    @property
    def languages(self) -> tuple[str, ...]:
        others = sorted(lang for lang in self.voices if lang != self.default_language)
        return (self.default_language, *others)

    def prompt(self, name: str) -> Prompt:
        for prompt in self.prompts:
            if prompt.name == name:
                return prompt
        raise KeyError(name)


def load_catalog(path: Path) -> Catalog:
    """Read and validate a catalog file; raise :class:`CatalogError` listing every problem."""
    try:
        raw = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise SoundsError(f"cannot read the prompt catalog {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(str(path), (f"not UTF-8: {exc}",)) from exc
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(str(path), (f"not valid TOML: {exc}",)) from exc
    return parse_catalog(data, source=str(path))


def parse_catalog(data: Mapping[str, object], *, source: str = "<catalog>") -> Catalog:
    """Validate an already-parsed catalog document (what :func:`load_catalog` does after TOML)."""
    problems: list[str] = []
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append(f"unknown key {key!r} (expected: {', '.join(sorted(_TOP_KEYS))})")
    voices = _parse_voices(data.get("voices"), problems)
    raw_default = data.get("default_language")
    default = raw_default if isinstance(raw_default, str) else ""
    if not default:
        problems.append("default_language: required, a language listed under [voices]")
    elif voices and default not in voices:
        problems.append(f"default_language: {default!r} has no entry under [voices]")
    prompts = _parse_prompts(data.get("prompts"), tuple(sorted(voices)), problems)
    if problems:
        raise CatalogError(source, tuple(problems))
    return Catalog(default, MappingProxyType(voices), prompts)


def _parse_voices(raw: object, problems: list[str]) -> dict[str, Voice]:
    if not isinstance(raw, Mapping) or not raw:
        problems.append('voices: required, a table like [voices] ko = "ko"')
        return {}
    voices: dict[str, Voice] = {}
    for lang, spec in raw.items():
        where = f"voices.{lang}"
        if not LANGUAGE.match(lang):
            problems.append(f"{where}: invalid language {lang!r} (like ko, en or en_GB)")
            continue
        if isinstance(spec, str) and spec.strip():
            voices[lang] = Voice(spec.strip())
        elif isinstance(spec, Mapping):
            voice = _parse_voice_table(where, spec, problems)
            if voice is not None:
                voices[lang] = voice
        else:
            problems.append(f"{where}: must be an espeak-ng voice name or a table with 'voice'")
    return voices


def _parse_voice_table(where: str, spec: Mapping[str, object], problems: list[str]) -> Voice | None:
    count = len(problems)
    for key in sorted(set(spec) - _VOICE_KEYS):
        problems.append(f"{where}: unknown key {key!r} (expected: voice, speed, pitch)")
    raw_name = spec.get("voice")
    name = raw_name.strip() if isinstance(raw_name, str) else ""
    if not name:
        problems.append(f"{where}.voice: required, an espeak-ng voice name (espeak-ng --voices)")
    speed = _int_in(f"{where}.speed", spec.get("speed"), _SPEED_RANGE, problems)
    pitch = _int_in(f"{where}.pitch", spec.get("pitch"), _PITCH_RANGE, problems)
    return Voice(name, speed, pitch) if len(problems) == count else None


def _int_in(where: str, value: object, bounds: tuple[int, int], problems: list[str]) -> int | None:
    """The value, or ``None`` when absent or invalid (then a problem is recorded)."""
    if value is None:
        return None
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{where}: must be a whole number from {low} to {high}, got {value!r}")
        return None
    return value


def _parse_prompts(
    raw: object, languages: tuple[str, ...], problems: list[str]
) -> tuple[Prompt, ...]:
    if not isinstance(raw, Mapping) or not raw:
        problems.append("prompts: required, one table per prompt like [prompts.welcome]")
        return ()
    prompts: list[Prompt] = []
    for name, texts in raw.items():
        where = f"prompts.{name}"
        if not PROMPT_NAME.match(name):
            problems.append(
                f"{where}: invalid prompt name {name!r} "
                "(lowercase letters, digits and '-', like main-menu)"
            )
            continue
        if not isinstance(texts, Mapping):
            problems.append(f"{where}: must be a table of texts, one per language")
            continue
        count = len(problems)
        for key in sorted(set(texts) - set(languages)):
            problems.append(
                f"{where}: unknown key {key!r} (languages are: {', '.join(languages)}; "
                "add a language under [voices] first)"
            )
        for lang in languages:
            text = texts.get(lang)
            if text is None:
                problems.append(f"{where}: missing the {lang!r} text")
            elif not isinstance(text, str):
                problems.append(f"{where}.{lang}: must be a string, got {type(text).__name__}")
            elif not text.strip():
                problems.append(f"{where}.{lang}: empty text")
        if len(problems) == count:
            clean = {lang: " ".join(str(texts[lang]).split()) for lang in languages}
            prompts.append(Prompt(name, MappingProxyType(clean)))
    return tuple(prompts)
