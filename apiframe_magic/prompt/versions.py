"""Model versions and the rules that depend on them.

A version rule answers, for one model: None (fine), or (verdict, reason) where verdict is "no"
(Midjourney rejects it) or "maybe" (unverified: worth a warning, never an error). The parser makes
a "no" an error only when the prompt or the caller names the version; for an assumed or unknown
default it is a warning.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .problems import PromptError, PromptProblem
from .table import QUALITY_VALUES_ANY, STYLE_NIJI5, STYLE_RAW, STYLE_V4
from .values import VERSION_LABEL_RE, range_text

# Midjourney's default model for new jobs, per docs.midjourney.com's Version page: V6.1 from
# 2024-07-30, V7 from 2025-06-17, V8.1 from 2026-06-10, V8.2 from 2026-07-24. An account can set
# its own default, so this is what the CLI and the magic *assume* (their rules then only warn)
# unless the user names a version. Update it when Midjourney changes its default.
CURRENT_DEFAULT_VERSION = "8.2"

# When neither the prompt nor the caller names a version, version rules are checked against the
# models an account default has plausibly been set to lately, and only ever warn.
PLAUSIBLE_DEFAULT_VERSIONS = ("6.1", "7", "8.1", "8.2")

KNOWN_VERSIONS = frozenset({"1", "2", "3", "4", "5", "5.1", "5.2", "6", "6.1", "7", "8.1", "8.2"})
KNOWN_NIJI_VERSIONS = frozenset({"4", "5", "6", "7"})


@dataclass(frozen=True)
class Version:
    """An effective model: family "v" or "niji", number (None for a bare `--niji`)."""

    family: str
    number: float | None
    label: str

    @property
    def flag(self) -> str:
        """How Midjourney names it in its own errors: "--version 7", "--niji 6"."""
        if self.family == "niji":
            return "--niji" if self.number is None else f"--niji {self.label.split()[-1]}"
        return f"--version {self.label}"


def normalise_version_number(major: str, minor: str | None) -> str:
    """"6.0" -> "6", "06.10" -> "6.1": one spelling per version so round trips are exact."""
    major = major.lstrip("0") or "0"
    minor = (minor or "").rstrip("0")
    return f"{major}.{minor}" if minor else major


def _version_from_label(label: str) -> Version:
    """Read a caller-supplied label: "7", "v6.1", "--v 6", "niji 6", "niji"."""
    match = VERSION_LABEL_RE.match(label) if isinstance(label, str) else None
    family = (match.group(1) or "v").lower() if match else ""
    number = match.group(2) if match else None
    if not match or (family != "niji" and number is None) or (number and len(number) > 12):
        raise PromptError([PromptProblem(
            f"version {label!r} is not a Midjourney version",
            hint='use e.g. "7", "6.1" or "niji 6"')])
    family = "niji" if family == "niji" else "v"
    if number is None:
        return Version("niji", None, "niji")
    major, _, minor = number.partition(".")
    text = normalise_version_number(major, minor or None)
    return Version(family, float(text), f"niji {text}" if family == "niji" else text)


_VERSION_CACHE: dict[str, Version] = {}


def cached_version(label) -> Version:
    """`_version_from_label` for the few labels a session sees, without re-running the regex."""
    if isinstance(label, str) and label in _VERSION_CACHE:
        return _VERSION_CACHE[label]
    version = _version_from_label(label)
    if len(_VERSION_CACHE) < 256:
        _VERSION_CACHE[label] = version
    return version


PLAUSIBLE_DEFAULTS = tuple(_version_from_label(label) for label in PLAUSIBLE_DEFAULT_VERSIONS)


def _no(version: Version) -> tuple[str, str]:
    return ("no", f"is not compatible with {version.flag}")


def _maybe(version: Version) -> tuple[str, str]:
    return ("maybe", f"may not be compatible with {version.flag}")




def rule_cref(version: Version):
    ok = (6 <= version.number < 7) if version.family == "v" else version.number == 6
    if version.family == "niji" and version.number is None:
        return ("maybe", f"may not be compatible with {version.flag}")
    return None if ok else ("no", f"is not compatible with {version.flag}")


def rule_oref(version: Version):
    ok = version.family == "v" and 7 <= version.number < 8
    return None if ok else ("no", f"is not compatible with {version.flag}")


def rule_v7_plus(version: Version):
    if version.family == "v":
        return None if version.number >= 7 else ("no", f"is not compatible with {version.flag}")
    if version.number is None or version.number >= 7:
        return ("maybe", f"may not be compatible with {version.flag}")
    return ("no", f"is not compatible with {version.flag}")


def rule_v6_plus(version: Version):
    if version.number is None:
        return None
    return None if version.number >= 6 else ("no", f"is not compatible with {version.flag}")


def rule_v8_plus(version: Version):
    ok = version.family == "v" and version.number >= 8
    return None if ok else ("no", f"is not compatible with {version.flag}")


def rule_multi_prompt(version: Version):
    if version.family == "v":
        if version.number < 7:
            return None
        return ("no", f"multi-prompts (::) are not supported by {version.flag}")
    if version.number is None or version.number >= 7:
        return ("maybe", f"multi-prompts (::) may not be supported by {version.flag}")
    return None


def quality_values(version: Version | None) -> tuple[float, ...]:
    """The `--q` values a version knows; Midjourney rounds any other value to the closest [Q]."""
    number = None if version is None else version.number
    if version is None or number is None:
        return QUALITY_VALUES_ANY
    if version.family == "niji":
        return (0.25, 0.5, 1.0) if number in (5, 6) else QUALITY_VALUES_ANY
    if number < 5 or number >= 8:
        return QUALITY_VALUES_ANY
    if number < 6.1:
        return (0.25, 0.5, 1.0)
    if number < 7:
        return (0.25, 0.5, 1.0, 2.0)
    return (1.0, 2.0, 4.0)


def rule_range(value: float, bounds: Callable[[Version], tuple[float, float, str] | None]):
    """A numeric range that depends on the version; `bounds` gives (low, high, verdict)."""
    def rule(version: Version):
        found = bounds(version)
        if found is None or found[0] <= value <= found[1]:
            return None
        low, high, verdict = found
        return (verdict, f"is out of range {range_text(low, high)} for {version.flag}")
    return rule


def iw_bounds(version: Version):
    number = version.number
    if version.family == "niji":
        return (0, 2, "no") if number == 7 else (0, 2, "maybe")
    return (0, 2, "no") if 5 <= number < 6 else (0, 2, "maybe") if number < 5 else (0, 3, "no")


def sv_bounds(version: Version):
    number = version.number
    if version.family == "niji":
        if number == 6:
            return (1, 4, "no")
        return (1, 4, "maybe") if number is None or number > 6 else None
    if number < 6:
        return None
    return (1, 4, "no") if number < 7 else (1, 6, "no") if number < 8 else (1, 7, "no")



def stylize_bounds(version: Version | None) -> tuple[int, int]:
    """`--s` range: 0–1000 on every model since V4; V3 (and the V1–V2 it replaced) took
    625–60000 [STY][MJ V3 docs]."""
    if version is not None and version.family == "v" and version.number < 4:
        return 625, 60000
    return 0, 1000


def rule_stop(version: Version):
    """`--stop` is a legacy parameter: V1–V6.1 and Niji up to 6 [LEG][PL-old]."""
    if version.family == "v":
        return None if version.number < 7 else _no(version)
    return None if version.number is not None and version.number < 7 else _maybe(version)


def rule_tile(version: Version):
    """`--tile`: every V model except V4; not listed for Niji [TILE]."""
    if version.family == "v":
        return _no(version) if 4 <= version.number < 5 else None
    return _maybe(version)


def rule_weird(version: Version):
    """`--weird` arrived with V5 (and Niji 5) [WEIRD]."""
    if version.number is None:
        return None
    return None if version.number >= 5 else _no(version)


def rule_hd(version: Version):
    """`--hd` was an early model (V1–V3) and is 2048px output from V8.1 on [LEG][PL]."""
    if version.family == "v" and (version.number < 4 or version.number >= 8.1):
        return None
    return _no(version)


def rule_style(value: str):
    """Built-in `--style` values exist on some models only; Style Tuner codes are left alone
    (they draw their own "legacy" warning)."""
    def rule(version: Version):
        number, niji = version.number, version.family == "niji"
        if value == STYLE_RAW:
            if niji:
                return None if number is None or number >= 6 else _maybe(version)
            return None if number >= 5.1 else _no(version)
        if value in STYLE_NIJI5:
            if niji and number is None:
                return _maybe(version)
            return None if niji and number == 5 else _no(version)
        if value in STYLE_V4:
            return None if not niji and 4 <= number < 5 else _no(version)
        return None
    return rule
