"""`build` with the real espeak-ng and sox: every prompt, playable by Asterisk, and incremental.

The shipped catalog is built once per module (about a second); tests that change things work on a
copy of that build.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
import tomllib
import wave
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stasis_app.settings import REPO_ROOT
from stasis_app.sounds import (
    BuildReport,
    Catalog,
    Progress,
    SoundsError,
    app,
    build,
    install,
    load_catalog,
)
from stasis_app.sounds.catalog import parse_catalog

# No skip when the tools are missing: the README's commands install them, so their absence is a
# broken set-up that must fail loudly, not a silently skipped check.

CATALOG = REPO_ROOT / "sounds" / "prompts.toml"
FORMATS = ("wav", "ulaw")
MIN_SECONDS, MAX_SECONDS = 0.4, 30.0  # the Korean main menu, the longest prompt, is ~17 s
MIN_RMS = 1000  # of 32767; speech normalised to -3 dBFS peak sits around 3000-6000
COLD_BUILD_BUDGET = 60.0


@dataclass(frozen=True)
class Built:
    catalog: Catalog
    out: Path
    report: BuildReport
    seconds: float
    steps: tuple[Progress, ...]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A cold build of the shipped catalog."""
    catalog = load_catalog(CATALOG)
    out = tmp_path_factory.mktemp("sounds")
    steps: list[Progress] = []
    started = time.monotonic()
    report = build(catalog, out, progress=steps.append)
    return Built(catalog, out, report, time.monotonic() - started, tuple(steps))


@pytest.fixture
def copy(built: Built, tmp_path: Path) -> Path:
    """A private copy of the module's build, for tests that change it."""
    return Path(shutil.copytree(built.out, tmp_path / "sounds"))


def samples_of(path: Path) -> array[int]:
    with wave.open(str(path), "rb") as wav:
        pcm = array("h", wav.readframes(wav.getnframes()))
    if sys.byteorder == "big":
        pcm.byteswap()  # WAV is little-endian
    return pcm


def ulaw_to_linear(byte: int) -> int:
    """G.711 mu-law decoding (the inverse of what sox -t ul wrote)."""
    byte = ~byte & 0xFF
    magnitude = (((byte & 0x0F) << 3) + 0x84) << ((byte >> 4) & 0x07)
    return 0x84 - magnitude if byte & 0x80 else magnitude - 0x84


def rms(samples: array[int] | list[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def load_catalog_doc() -> dict[str, Any]:
    """The shipped catalog as a mutable document, for variations of it."""
    return tomllib.loads(CATALOG.read_text(encoding="utf-8"))


def every_output(catalog: Catalog) -> Iterator[tuple[str, str, str]]:
    for lang in catalog.languages:
        for prompt in catalog.prompts:
            for ext in FORMATS:
                yield lang, prompt.name, ext


def test_cold_build_makes_every_prompt_in_every_language_and_format(built: Built) -> None:
    expected = {f"{lang}/{name}.{ext}" for lang, name, ext in every_output(built.catalog)}
    on_disk = {p.relative_to(built.out).as_posix() for p in built.out.rglob("*") if p.is_file()}
    assert on_disk == expected | {".manifest.json"}
    assert set(built.report.built) == expected
    assert built.report.skipped == ()


def test_cold_build_is_quick(built: Built) -> None:
    """The whole catalog is cheap enough to build on every start-up."""
    assert built.seconds < COLD_BUILD_BUDGET


def test_progress_counts_every_output_once(built: Built) -> None:
    total = len(built.report.built)
    assert [s.done for s in built.steps] == list(range(1, total + 1))
    assert {s.total for s in built.steps} == {total}
    assert sorted(s.path for s in built.steps) == sorted(built.report.built)


def test_wav_is_8khz_mono_16bit(built: Built) -> None:
    """What Asterisk plays on a slin channel without transcoding."""
    for lang in built.catalog.languages:
        for prompt in built.catalog.prompts:
            with wave.open(str(built.out / lang / f"{prompt.name}.wav"), "rb") as wav:
                assert wav.getframerate() == 8000, prompt.name
                assert wav.getnchannels() == 1, prompt.name
                assert wav.getsampwidth() == 2, prompt.name
                assert wav.getcomptype() == "NONE", prompt.name


def test_ulaw_has_one_byte_per_wav_sample(built: Built) -> None:
    """Raw mu-law at the same 8 kHz: one byte for each 16-bit sample of the .wav."""
    for lang in built.catalog.languages:
        for prompt in built.catalog.prompts:
            with wave.open(str(built.out / lang / f"{prompt.name}.wav"), "rb") as wav:
                frames = wav.getnframes()
            ulaw = (built.out / lang / f"{prompt.name}.ulaw").stat().st_size
            assert ulaw == frames, f"{lang}/{prompt.name}"


def test_prompts_are_not_silent(built: Built) -> None:
    """Both encodings carry speech at a similar level (mu-law decoded by hand)."""
    for lang in built.catalog.languages:
        for prompt in built.catalog.prompts:
            where = f"{lang}/{prompt.name}"
            wav_rms = rms(samples_of(built.out / lang / f"{prompt.name}.wav"))
            raw = (built.out / lang / f"{prompt.name}.ulaw").read_bytes()
            ulaw_rms = rms([ulaw_to_linear(b) for b in raw])
            assert wav_rms > MIN_RMS, where
            assert ulaw_rms == pytest.approx(wav_rms, rel=0.1), where


def test_prompts_have_a_plausible_length(built: Built) -> None:
    for lang in built.catalog.languages:
        for prompt in built.catalog.prompts:
            with wave.open(str(built.out / lang / f"{prompt.name}.wav"), "rb") as wav:
                seconds = wav.getnframes() / wav.getframerate()
            assert MIN_SECONDS < seconds < MAX_SECONDS, f"{lang}/{prompt.name}: {seconds:.2f} s"


def test_longer_text_gives_longer_audio(built: Built) -> None:
    """The main menu takes clearly longer to say than goodbye, in every language."""
    for lang in built.catalog.languages:
        menu = (built.out / lang / "main-menu.ulaw").stat().st_size
        goodbye = (built.out / lang / "goodbye.ulaw").stat().st_size
        assert menu > 2 * goodbye, lang


def test_no_temporary_files_are_left(built: Built) -> None:
    assert not [p for p in built.out.rglob(".*") if p.name != ".manifest.json"]


def test_second_build_regenerates_nothing(built: Built, copy: Path) -> None:
    report = build(built.catalog, copy)
    assert report.built == ()
    assert len(report.skipped) == len(built.report.built)


def test_changed_text_rebuilds_exactly_that_prompt(built: Built, copy: Path) -> None:
    data = load_catalog_doc()
    data["prompts"]["busy"]["en"] = "Every line at that extension is busy right now."
    changed = parse_catalog(data)
    before = (copy / "en/busy.wav").read_bytes()
    report = build(changed, copy)
    assert sorted(report.built) == ["en/busy.ulaw", "en/busy.wav"]
    assert (copy / "en/busy.wav").read_bytes() != before
    assert build(changed, copy).built == ()


def test_deleted_file_is_rebuilt_alone(built: Built, copy: Path) -> None:
    (copy / "ko/welcome.ulaw").unlink()
    report = build(built.catalog, copy)
    assert report.built == ("ko/welcome.ulaw",)
    assert (copy / "ko/welcome.ulaw").read_bytes() == (built.out / "ko/welcome.ulaw").read_bytes()


def test_build_is_reproducible(built: Built, copy: Path) -> None:
    """Same inputs, same bytes: a rebuild after the manifest is lost changes no file."""
    (copy / ".manifest.json").unlink()
    report = build(built.catalog, copy, languages=["en"])
    assert len(report.built) == len(built.catalog.prompts) * len(FORMATS)
    for path in report.built:
        assert (copy / path).read_bytes() == (built.out / path).read_bytes(), path


@pytest.mark.parametrize("missing", ["espeak-ng", "sox"])
def test_missing_tool_is_named_with_the_fix(
    missing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in {"espeak-ng", "sox"} - {missing}:
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(SoundsError) as caught:
        build(load_catalog(CATALOG), tmp_path / "out")
    assert str(caught.value) == f"{missing} not found: install it with `apt-get install {missing}`"


def test_failing_tool_names_prompt_language_and_stderr(tmp_path: Path) -> None:
    data = load_catalog_doc()
    data["voices"]["en"] = "qqq"  # not a prefix of a real voice: "no-x" would mean Norwegian
    with pytest.raises(SoundsError) as caught:
        build(parse_catalog(data), tmp_path / "out", languages=["en"])
    message = str(caught.value)
    assert message.startswith("espeak-ng failed for prompt '")
    assert "(en)" in message
    assert "voice does not exist" in message
    assert not list((tmp_path / "out").rglob("*.part"))


def test_text_starting_with_a_dash_is_spoken_not_parsed(tmp_path: Path) -> None:
    """The text is one argv element after '--', so espeak-ng cannot mistake it for an option."""
    data = load_catalog_doc()
    data["prompts"] = {"dash": {"ko": "-v 하나", "en": "-v one"}}
    report = build(parse_catalog(data), tmp_path / "out")
    assert len(report.built) == 4
    assert rms(samples_of(tmp_path / "out/en/dash.wav")) > MIN_RMS


def test_install_puts_prompts_in_lang_cti(built: Built, tmp_path: Path) -> None:
    target = tmp_path / "asterisk-sounds"
    written = install(built.out, target)
    assert len(written) == len(built.report.built)
    assert (target / "ko/cti/welcome.ulaw").read_bytes() == (
        built.out / "ko/welcome.ulaw"
    ).read_bytes()
    assert (target / "en/cti/main-menu.wav").is_file()
    assert install(built.out, target) == []


def test_cli_build_prints_progress_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["build", "--only-lang", "en", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    outputs = 2 * len(load_catalog(CATALOG).prompts)  # a .wav and a .ulaw per prompt
    assert len([line for line in lines if line.startswith("[")]) == outputs
    assert any(line.endswith("en/welcome.wav built") for line in lines)
    assert lines[-1].startswith(f"sounds: {outputs} built, 0 up to date")
    assert not (out / "ko").exists()
