"""The prompt catalog's validation and the pure rebuild decision (no espeak-ng, no sox)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stasis_app.settings import REPO_ROOT
from stasis_app.sounds import CatalogError, SoundsError, load_catalog, plan_build
from stasis_app.sounds.builder import all_outputs, output_digest, read_manifest
from stasis_app.sounds.catalog import Catalog, Voice, parse_catalog

SHIPPED = REPO_ROOT / "sounds" / "prompts.toml"
PROMPT_NAMES = {
    "welcome",
    "main-menu",
    "invalid",
    "timeout",
    "goodbye",
    "transferring",
    "unavailable",
    "busy",
    "no-answer",
    "unknown-extension",
    "service-unavailable",
    "echo-test",
    "closed",
    "queue-hold",
    "queue-timeout",
    "queue-full",
    *(f"queue-position-{n}" for n in (*range(1, 10), "many")),
    *(f"queue-wait-{n}" for n in (*range(1, 11), "long")),
}


def doc(**overrides: Any) -> dict[str, Any]:
    """A small valid catalog document; keyword arguments replace top-level keys."""
    base: dict[str, Any] = {
        "default_language": "ko",
        "voices": {"ko": "ko", "en": {"voice": "en-us", "speed": 160}},
        "prompts": {
            "welcome": {"ko": "환영합니다.", "en": "Welcome."},
            "goodbye": {"ko": "안녕히 계십시오.", "en": "Goodbye."},
        },
    }
    base.update(overrides)
    return base


def problems_of(data: Mapping[str, Any]) -> tuple[str, ...]:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data, source="test.toml")
    return caught.value.problems


def small() -> Catalog:
    return parse_catalog(doc())


# --- the shipped catalog ------------------------------------------------------------------------


def test_shipped_catalog_has_every_prompt_the_ivr_uses() -> None:
    """sounds/prompts.toml defines exactly the prompt names the IVR and call logic refer to."""
    catalog = load_catalog(SHIPPED)
    assert {p.name for p in catalog.prompts} == PROMPT_NAMES


def test_shipped_catalog_is_korean_first_with_english() -> None:
    """Korean is the default language and English the other one."""
    catalog = load_catalog(SHIPPED)
    assert catalog.languages == ("ko", "en")


def test_shipped_korean_texts_are_korean() -> None:
    """Every Korean text is mostly Hangul, so no English text was pasted into the ko column."""
    catalog = load_catalog(SHIPPED)
    for prompt in catalog.prompts:
        text = prompt.texts["ko"]
        hangul = sum("\uac00" <= ch <= "\ud7a3" for ch in text)
        letters = sum(ch.isalpha() for ch in text)
        assert hangul / letters > 0.9, prompt.name


def test_multiline_texts_are_joined_into_one_line() -> None:
    """A TOML multi-line string is spoken as one text: newlines and runs of spaces collapse."""
    catalog = parse_catalog(
        doc(prompts={"menu": {"ko": "\n가.\n  나.\n", "en": "One.\nTwo."}}), source="t"
    )
    assert dict(catalog.prompt("menu").texts) == {"ko": "가. 나.", "en": "One. Two."}


# --- validation ---------------------------------------------------------------------------------


def test_prompt_missing_a_language_is_named() -> None:
    """A prompt without a text for one language names the prompt and the language."""
    data = doc(prompts={"welcome": {"ko": "환영합니다."}})
    assert problems_of(data) == ("prompts.welcome: missing the 'en' text",)


def test_unknown_key_in_a_prompt_is_named() -> None:
    """A text for a language without a voice is reported, listing the known languages."""
    data = doc(prompts={"welcome": {"ko": "환영합니다.", "en": "Welcome.", "fr": "Bienvenue."}})
    (problem,) = problems_of(data)
    assert problem.startswith("prompts.welcome: unknown key 'fr' (languages are: en, ko")


@pytest.mark.parametrize("name", ["Welcome", "main_menu", "main menu", "-x", "x-", "a--b", "é"])
def test_invalid_prompt_name_is_named(name: str) -> None:
    """Prompt names become file names and sound URIs: lowercase letters, digits and '-'."""
    data = doc(prompts={name: {"ko": "가", "en": "a"}})
    (problem,) = problems_of(data)
    assert problem.startswith(f"prompts.{name}: invalid prompt name {name!r}")


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_is_named(text: str) -> None:
    """An empty or blank text names the prompt and language."""
    data = doc(prompts={"welcome": {"ko": text, "en": "Welcome."}})
    assert problems_of(data) == ("prompts.welcome.ko: empty text",)


def test_non_string_text_is_named() -> None:
    data = doc(prompts={"welcome": {"ko": 3, "en": "Welcome."}})
    assert problems_of(data) == ("prompts.welcome.ko: must be a string, got int",)


def test_unknown_top_level_key_is_named() -> None:
    data = doc(prompt={"welcome": {}})
    (problem,) = problems_of(data)
    assert problem.startswith("unknown key 'prompt'")


def test_default_language_must_have_a_voice() -> None:
    data = doc(default_language="ja")
    assert problems_of(data) == ("default_language: 'ja' has no entry under [voices]",)


def test_missing_sections_are_named() -> None:
    """An empty document lists every required part instead of stopping at the first."""
    problems = problems_of({})
    assert [p.split(":")[0] for p in problems] == ["voices", "default_language", "prompts"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"voice": "ko", "speed": 20}, "voices.ko.speed: must be a whole number from 80 to 450"),
        ({"voice": "ko", "pitch": 100}, "voices.ko.pitch: must be a whole number from 0 to 99"),
        ({"voice": "ko", "speed": True}, "voices.ko.speed: must be a whole number"),
        ({"voice": "ko", "rate": 8000}, "voices.ko: unknown key 'rate'"),
        ({"speed": 150}, "voices.ko.voice: required"),
        (7, "voices.ko: must be an espeak-ng voice name or a table"),
    ],
)
def test_bad_voice_is_named(spec: object, expected: str) -> None:
    data = doc(voices={"ko": spec, "en": "en-us"})
    assert any(p.startswith(expected) for p in problems_of(data))


def test_every_problem_is_reported_at_once() -> None:
    """Fixing a catalog takes one run, not one per mistake."""
    data = doc(
        prompts={
            "Bad_Name": {"ko": "가", "en": "a"},
            "welcome": {"ko": ""},
            "goodbye": {"ko": "가", "en": "a", "de": "x"},
        }
    )
    problems = problems_of(data)
    assert len(problems) == 4
    assert all(
        p.startswith(("prompts.Bad_Name", "prompts.welcome", "prompts.goodbye")) for p in problems
    )


def test_error_message_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "prompts.toml"
    path.write_text('default_language = "ko"\n[voices]\nko = "ko"\n[prompts.x]\nko = ""\n')
    with pytest.raises(
        CatalogError, match=r"prompts\.toml: 1 problem\(s\)\n  prompts\.x\.ko: empty"
    ):
        load_catalog(path)


def test_invalid_toml_is_a_catalog_error(tmp_path: Path) -> None:
    path = tmp_path / "prompts.toml"
    path.write_text("[prompts.welcome\n")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(path)


def test_missing_catalog_file_is_a_sounds_error(tmp_path: Path) -> None:
    with pytest.raises(SoundsError, match="cannot read the prompt catalog"):
        load_catalog(tmp_path / "nope.toml")


def test_voice_settings_become_espeak_arguments() -> None:
    assert Voice("en-us", speed=160, pitch=40).espeak_args() == (
        "-v",
        "en-us",
        "-s",
        "160",
        "-p",
        "40",
    )
    assert Voice("ko").espeak_args() == ("-v", "ko")


# --- what a build regenerates -------------------------------------------------------------------


def up_to_date(catalog: Catalog) -> tuple[dict[str, str], set[str]]:
    """The manifest and file set left behind by a complete build of ``catalog``."""
    outputs = all_outputs(catalog)
    return {o.path: o.digest for o in outputs}, {o.path for o in outputs}


def test_first_build_regenerates_everything() -> None:
    """With no manifest every output is stale; each prompt+language is one espeak-ng run."""
    plan = plan_build(small(), manifest={}, existing=set())
    assert plan.fresh == ()
    assert len(plan.jobs) == 4
    assert all([o.ext for o in job.outputs] == ["wav", "ulaw"] for job in plan.jobs)
    assert plan.total == 8


def test_complete_build_regenerates_nothing() -> None:
    manifest, existing = up_to_date(small())
    plan = plan_build(small(), manifest, existing)
    assert plan.jobs == ()
    assert len(plan.fresh) == plan.total == 8


def test_changed_text_regenerates_only_that_prompt_and_language() -> None:
    manifest, existing = up_to_date(small())
    changed = parse_catalog(
        doc(
            prompts={
                "welcome": {"ko": "어서 오십시오.", "en": "Welcome."},
                "goodbye": {"ko": "안녕히 계십시오.", "en": "Goodbye."},
            }
        )
    )
    plan = plan_build(changed, manifest, existing)
    assert [o.path for o in plan.stale] == ["ko/welcome.wav", "ko/welcome.ulaw"]


def test_changed_voice_regenerates_that_language_only() -> None:
    manifest, existing = up_to_date(small())
    slower = parse_catalog(
        doc(voices={"ko": {"voice": "ko", "speed": 120}, "en": {"voice": "en-us", "speed": 160}})
    )
    plan = plan_build(slower, manifest, existing)
    assert {o.language for o in plan.stale} == {"ko"}
    assert len(plan.stale) == 4


def test_missing_file_regenerates_only_that_file() -> None:
    """A deleted .ulaw is rebuilt alone (one espeak-ng run, one conversion), the .wav is kept."""
    manifest, existing = up_to_date(small())
    existing.discard("en/goodbye.ulaw")
    plan = plan_build(small(), manifest, existing)
    assert [(job.language, job.prompt) for job in plan.jobs] == [("en", "goodbye")]
    assert [o.path for o in plan.stale] == ["en/goodbye.ulaw"]


def test_file_without_manifest_entry_is_regenerated() -> None:
    """A file the manifest does not vouch for (left by someone else) is not trusted."""
    manifest, existing = up_to_date(small())
    del manifest["ko/goodbye.wav"]
    plan = plan_build(small(), manifest, existing)
    assert [o.path for o in plan.stale] == ["ko/goodbye.wav"]


def test_language_filter_limits_the_plan() -> None:
    plan = plan_build(small(), manifest={}, existing=set(), languages=["en"])
    assert {o.language for o in plan.stale} == {"en"}


def test_unknown_language_filter_is_an_error() -> None:
    with pytest.raises(SoundsError, match=r"unknown language 'fr' \(the catalog has: ko, en\)"):
        plan_build(small(), manifest={}, existing=set(), languages=["fr"])


def test_digest_covers_text_voice_and_format() -> None:
    base = output_digest("Hello.", Voice("en-us"), "wav")
    assert base == output_digest("Hello.", Voice("en-us"), "wav")
    assert base != output_digest("Hello!", Voice("en-us"), "wav")
    assert base != output_digest("Hello.", Voice("en-us", speed=150), "wav")
    assert base != output_digest("Hello.", Voice("en-gb"), "wav")
    assert base != output_digest("Hello.", Voice("en-us"), "ulaw")


@given(
    stale_manifest=st.sets(st.integers(0, 7)),
    missing_files=st.sets(st.integers(0, 7)),
)
def test_every_output_is_either_fresh_or_stale(
    stale_manifest: set[int], missing_files: set[int]
) -> None:
    """Whatever the manifest and the disk say, each output is planned exactly once, and it is
    fresh exactly when its recorded digest matches and its file exists."""
    catalog = small()
    outputs = all_outputs(catalog)
    manifest = {o.path: ("old" if i in stale_manifest else o.digest) for i, o in enumerate(outputs)}
    existing = {o.path for i, o in enumerate(outputs) if i not in missing_files}
    plan = plan_build(catalog, manifest, existing)
    assert sorted(o.path for o in (*plan.fresh, *plan.stale)) == sorted(o.path for o in outputs)
    expected_stale = {outputs[i].path for i in stale_manifest | missing_files}
    assert {o.path for o in plan.stale} == expected_stale


def test_unreadable_manifest_means_rebuild(tmp_path: Path) -> None:
    (tmp_path / ".manifest.json").write_text("{not json")
    assert read_manifest(tmp_path) == {}
    (tmp_path / ".manifest.json").write_text('{"outputs": {"ko/x.wav": 3, "ko/y.wav": "abc"}}')
    assert read_manifest(tmp_path) == {"ko/y.wav": "abc"}
