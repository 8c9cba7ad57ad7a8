"""The parser: one pass over one prompt (one job), collecting every problem before raising.

The policy in one line: reject what Midjourney certainly rejects (plus what the spec asks us to
reject as policy), warn where the outcome depends on a model version we cannot see, and never reject
a prompt Midjourney would accept. It runs on every keystroke in the panel, so the common path
avoids anything heavier than a string method and whole-text screens gate the rarer checks.
"""
from __future__ import annotations

import difflib
import re

from ..settings import is_http_url
from .converters import CONVERTERS, INVALID, quoted_value, split_phrases
from .model import Prompt, render_parts
from .permutations import brace_tree
from .problems import PromptError, PromptProblem, clip, problem_order
from .table import (
    ALIASES, CONFUSIONS, DEPRECATED, FLAG, KNOWN_NAMES, LIST_KINDS, MERGED_KINDS,
    NAMES_LONGEST_FIRST, SPEED_FLAGS, SUGGESTABLE, VIDEO_ONLY, WORDS, IMAGE_EXTENSIONS,
    MAX_PROMPT_CHARS, Spec,
)
from .tokens import (
    SINGLE_DASH_SCREEN_RE, SMART_QUOTE_SCREEN_RE, Head, is_flag, read_heads, take_values,
    token_offsets, tokenize,
)
from .values import (
    CONTROL_RE, MOODBOARD_RE, QUOTES, SIGNED_RE, closest, format_number, format_plain,
    reduce_ratio,
)
from .versions import (
    PLAUSIBLE_DEFAULTS, Version, cached_version, iw_bounds, quality_values, rule_cref,
    rule_hd, rule_multi_prompt, rule_oref, rule_range, rule_stop, rule_style, rule_tile,
    rule_v6_plus, rule_v7_plus, rule_v8_plus, rule_weird, stylize_bounds, sv_bounds,
)

class _Parser:
    """One pass over one prompt: split it, read each parameter, then check the rules that
    span parameters. Problems are collected, never raised early."""

    def __init__(self, text: str, version: str | None, default_version: str | None):
        self.source = text
        self.errors: list[PromptProblem] = []
        self.warnings: list[PromptProblem] = []
        self.params: dict = {}
        self.where: dict[str, tuple[Head, list]] = {}    # canonical name -> (head, values)
        self.caller_version = cached_version(version) if version is not None else None
        self.default_version = (
            cached_version(default_version) if default_version is not None else None)
        self.tokens = tokenize(text)
        self.heads = read_heads(self.tokens)
        self.offsets: list[int] | None = None
        # one scan for the characters that only unusual prompts have
        self.rare = _RARE_SCREEN_RE.search(text) is not None
        self.quotes = self.rare and _QUOTE_SCREEN_RE.search(text) is not None
        self.deprecated: list[tuple[Head, str]] = []
        self.flagged: set[str] = set()      # parameters that already have their error line

    # -- positions and reporting ------------------------------------------------------------
    def pos(self, index: int) -> int:
        if self.offsets is None:
            self.offsets = token_offsets(self.source, self.tokens)
        return self.offsets[index] if index < len(self.offsets) else len(self.source)

    def at(self, where) -> int:
        return self.pos(where[0]) + where[1] if isinstance(where, tuple) else self.pos(where)

    def place(self, name: str) -> tuple[str, int]:
        """(token as written, position) of a parameter already read."""
        head, values = self.where[name]
        return " ".join([head.raw] + [text for text, _ in values]), self.pos(head.index)

    def error(self, message: str, token: str, position: int | None, hint: str = "") -> None:
        self.errors.append(PromptProblem(message, token, position, hint))

    def warn(self, message: str, token: str, position: int | None, hint: str = "") -> None:
        self.warnings.append(PromptProblem(message, token, position, hint))

    # -- the pass -----------------------------------------------------------------------
    def run(self) -> Prompt:
        if self.rare:
            if "{" in self.source or "}" in self.source:
                self.check_braces()    # a brace problem is reported alone: the rest follows from it
            if CONTROL_RE.search(self.source):
                self.check_control_characters()
        heads, tokens = self.heads, self.tokens
        first_head = next((i for i, head in enumerate(heads) if head), len(tokens))
        start = self.discord_command(first_head) if tokens and tokens[0][0] == "/" else 0
        image_end = self.leading_images(start, first_head)
        self.text_start, self.text_end = image_end, first_head
        self.images = tuple(tokens[start:image_end])
        self.text = " ".join(tokens[image_end:first_head])
        self.read_parameters(first_head)
        if self.deprecated:
            self.check_deprecated()
        self.check_text()
        if self.images:
            self.check_images()
        if self.where:
            self.check_combinations()
            self.check_versions()
        elif "::" in self.text:
            self.check_versions()
        canonical = render_parts(self.images, self.text, self.params)
        self.check_length(canonical)
        if self.errors:
            raise PromptError(sorted(self.errors, key=problem_order))
        warnings = (tuple(str(w) for w in sorted(self.warnings, key=problem_order))
                    if self.warnings else ())
        prompt = Prompt(self.text, self.images, self.params, warnings,
                        self.effective_version_label())
        object.__setattr__(prompt, "_canonical", canonical)
        return prompt

    def check_braces(self) -> None:
        """Raise the brace problems alone: every other line would be a consequence of them."""
        try:
            _tree, problems = brace_tree(self.source)
        except PromptError as too_deep:
            problems = too_deep.problems
        if not problems:
            problems = [PromptProblem(
                "{…} permutations make several jobs, not one prompt", "{",
                self.source.index("{") if "{" in self.source else None,
                "expand them first with validate() or expand_permutations()")]
        raise PromptError(problems)

    def check_control_characters(self) -> None:
        match = CONTROL_RE.search(self.source)
        if "\ud800" <= match.group() <= "\udfff":
            self.error(f"a lone surrogate U+{ord(match.group()):04X} in the prompt: half of a "
                       "character, which cannot be sent", "", match.start(),
                       "remove it, or copy the text again from where it came")
            return
        self.error(f"control character U+{ord(match.group()):04X} in the prompt", "",
                   match.start(), "remove it (it is never part of a prompt)")

    def discord_command(self, stop: int) -> int:
        """A leading "/imagine" (and "prompt:") is Discord syntax: report it and read past it."""
        tokens, index = self.tokens, 0
        if tokens[0].lower().rstrip(":") != "/imagine":
            return 0
        index = 1
        if index < stop and tokens[index].lower() == "prompt:":
            index += 1
        written = " ".join(tokens[:index])
        self.error(f"{written} is Discord's command, not part of the prompt", written,
                   self.pos(0), f"remove {written}")
        return index

    def leading_images(self, start: int, stop: int) -> int:
        index = start
        while index < stop and is_http_url(self.tokens[index]):
            index += 1
        return index

    # -- parameters -----------------------------------------------------------------------
    def read_parameters(self, index: int) -> None:
        previous: Head | None = None
        while index < len(self.tokens):
            head = self.heads[index]
            if head is None:
                index = self.leftover_words(index, previous)
                continue
            values, index = self.take_values(head)
            self.add_parameter(head, values)
            previous = head

    def take_values(self, head: Head) -> tuple[list, int]:
        return take_values(self.tokens, self.heads, head)

    def leftover_words(self, index: int, previous: Head | None) -> int:
        """Words after a parameter's value: Midjourney calls them unrecognized parameters."""
        end = index
        while end < len(self.tokens) and self.heads[end] is None:
            end += 1
        words = " ".join(self.tokens[index:end])
        hint = "move these words before the first --"
        if previous is not None and previous.name == "oref":
            hint = "--oref takes exactly one image; remove the others"
        elif previous is not None and is_flag(previous.name):
            hint = f"--{previous.name} takes no value; " + hint
        self.error("words after the parameters", words, self.pos(index), hint)
        return end

    def add_parameter(self, head: Head, values: list) -> None:
        """Read one parameter; whatever is wrong with it makes one line (the first problem)."""
        reported = len(self.errors)
        self.read_parameter(head, values)
        if len(self.errors) > reported:
            del self.errors[reported + 1:]
            spec = ALIASES.get(head.name)
            self.flagged.add(spec.name if spec else head.name)

    def read_parameter(self, head: Head, values: list) -> None:
        token = " ".join([head.raw] + [text for text, _ in values]) if values else head.raw
        if head.dash or head.glued or not head.raw.islower():
            self.check_head_spelling(head)
        if head.name in DEPRECATED:
            self.deprecated.append((head, token))
            return
        spec = ALIASES.get(head.name)
        if spec is None and not head.name:
            self.error("-- without a parameter name", token, self.pos(head.index),
                       "remove it, or write the name right after the dashes, e.g. --ar")
            return
        if spec is None:
            self.error(f"unknown parameter --{head.name}", token, self.pos(head.index),
                       _suggest(head.name))
            return
        if spec.name in self.where and spec.kind not in MERGED_KINDS:
            self.duplicate(spec, token, head, values)
            return
        if values and self.quotes and spec.kind != WORDS:
            quoted = quoted_value(values)
            if quoted is not None:
                self.unquote(head, values, quoted)
                return
        value = CONVERTERS[spec.kind](self, spec, head, values, token)
        if spec.name in self.where:          # "--sref 1 --sref 2": one list, in order
            if value is not INVALID and spec.name in self.params:
                self.merge(spec, head, self.params[spec.name] + value, token)
            return
        self.where[spec.name] = (head, values)
        if value is not INVALID:
            self.params[spec.name] = value

    def merge(self, spec: Spec, head: Head, merged: list, token: str) -> None:
        if spec.high is not None and len(merged) > spec.high:
            self.error(f"--{spec.name} takes at most {int(spec.high)} images", token,
                       self.pos(head.index), "remove some")
            return
        self.params[spec.name] = merged

    def unquote(self, head: Head, values: list, quoted) -> None:
        raw, where = quoted
        bare = " ".join(text.strip(QUOTES) for text, _ in values)
        self.error("quotes around a parameter value", raw, self.at(where),
                   f"write --{head.name} {bare}".rstrip())

    def check_head_spelling(self, head: Head) -> None:
        name, position = head.name, self.pos(head.index)
        if head.dash == "endash":
            self.error("an en-dash or minus sign is not a parameter dash", head.raw,
                       position, f"use --{name}")
        elif head.dash == "spaced":
            self.error("space after --", head.raw, position, f"write --{name}")
        elif head.dash == "triple":
            self.error("three dashes before a parameter name", head.raw, position,
                       f"write --{name}")
        elif head.glued and name in ALIASES and not is_flag(name):
            value = head.glued.lstrip("=:-")
            self.error(f"no space between --{name} and its value", head.raw + head.glued,
                       position, f"write --{name} {value}".rstrip())
        letters = head.raw.lstrip("-—–− ")
        if letters != letters.lower() and name in KNOWN_NAMES:
            self.warn("parameter names are lower-case", head.raw, position, f"read as --{name}")

    def check_deprecated(self) -> None:
        """`--w 1080 --h 1920` is the old width/height habit: name the `--ar` that matches."""
        sizes = {}
        for head, token in self.deprecated:
            if head.name in ("w", "width", "h", "height"):
                value = token.split(" ", 1)[1] if " " in token else ""
                sizes[head.name[0]] = int(value) if value.isdigit() and len(value) < 7 else None
        width = sizes.get("w") or self.old_width()
        height = sizes.get("h")
        ratio = (f"use --ar {reduce_ratio(width, height)} for {width}×{height}"
                 if width and height else "")
        for head, token in self.deprecated:
            hint = ratio or DEPRECATED[head.name]
            self.error(f"--{head.name} is deprecated and no longer accepted", token,
                       self.pos(head.index), hint)
        if ratio and "weird" in self.where and self.where["weird"][0].name == "w":
            token, position = self.place("weird")
            self.error("--w now means --weird, not width", token, position, ratio)
            self.params.pop("weird", None)

    def old_width(self) -> int | None:
        """The pixel width of a `--w N` written next to a deprecated height, if any."""
        if "weird" in self.where and self.where["weird"][0].name == "w":
            value = self.params.get("weird")
            return value or None
        return None

    def duplicate(self, spec: Spec, token: str, head: Head, values) -> None:
        first_token, first_position = self.place(spec.name)
        hint = f"keep one (the first is {clip(first_token, 40)} at character {first_position})"
        if spec.name == "no":
            merged = ", ".join(self.params.get("no", []) + split_phrases(values))
            hint = f"use --no {merged}"
        elif spec.kind in LIST_KINDS:
            hint = f"list every item after a single --{spec.name}"
        self.error(f"--{spec.name} given twice", token, self.pos(head.index), hint)

    # -- text, images and cross-parameter rules ---------------------------------------------
    def check_text(self) -> None:
        if self.text:
            if SMART_QUOTE_SCREEN_RE.search(self.text):
                self.check_smart_quotes()
            if "::" in self.text:
                self.check_multi_prompt_weights()
            if SINGLE_DASH_SCREEN_RE.search(self.text):
                self.check_single_dash_lookalikes()
            return
        token = self.tokens[0] if self.tokens else ""
        position = self.pos(0) if self.tokens else 0
        if not self.images:
            self.error("the prompt has no text", token, position,
                       "write what you want to see before the parameters")
        elif len(self.images) == 1:
            self.error("a single image prompt needs text or a second image", token, position,
                       "add a description after the image URL")
        for name in ("sref", "cref", "oref"):
            if name in self.where:
                self.error(f"--{name} needs prompt text", *self.place(name),
                           "add a description of the image")

    def text_tokens(self):
        for index in range(self.text_start, self.text_end):
            yield index, self.tokens[index]

    def text_position(self, needle: str) -> int | None:
        for index, token in self.text_tokens():
            found = token.find(needle)
            if found >= 0:
                return self.pos(index) + found
        return None

    def check_smart_quotes(self) -> None:
        for index, token in self.text_tokens():
            if not is_http_url(token) and SMART_QUOTE_SCREEN_RE.search(token):
                self.warn("curly quotes do not mark text in the image", token, self.pos(index),
                          'use straight double quotes: "like this"')
                return

    def check_multi_prompt_weights(self) -> None:
        total = sum(_multi_prompt_weights(self.text))
        if not total > 0:
            self.error(f"multi-prompt weights add up to {format_plain(total)}", "::",
                       self.text_position("::"), "the sum of all weights must be positive")

    def check_single_dash_lookalikes(self) -> None:
        """Near-misses that stay text: "-ar 16:9" and a spaced "— no"."""
        tokens = self.tokens
        for index, token in self.text_tokens():
            if (len(token) > 2 and token[0] == "-" and token[1] != "-"
                    and token[1:].lower() in ALIASES):
                self.warn("this is read as text", token, self.pos(index),
                          f"did you mean --{token[1:].lower()}?")
            elif token == "—" and index + 1 < self.text_end:
                following = tokens[index + 1].lower()
                if following in ALIASES and ALIASES[following].kind != FLAG:
                    self.warn("read as text", f"— {following}", self.pos(index),
                              f"for a parameter write —{following} or --{following}")

    def check_images(self) -> None:
        for index, token in enumerate(self.images):
            path = token.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
            extension = path.rsplit(".", 1)[-1].lower() if "." in path else ""
            if extension and extension not in IMAGE_EXTENSIONS and "/" in token[8:]:
                self.warn("this image URL does not end in .png .gif .jpg .jpeg or .webp",
                          token, self.pos(index), "check that it links to an image")

    def check_combinations(self) -> None:
        where, params, place = self.where, self.params, self.place
        if "version" in where and "niji" in where:
            self.error("--v and --niji cannot be used together", *place("niji"),
                       "pick one of them")
        speeds = [name for name in SPEED_FLAGS if name in where]
        if len(speeds) > 1:
            self.error("more than one speed: " + ", ".join("--" + s for s in speeds),
                       *place(speeds[1]), "keep one of --relax, --fast, --turbo")
        for weight, reference in (("sw", "sref"), ("sv", "sref"), ("cw", "cref"), ("ow", "oref")):
            if weight in where and reference not in where:
                self.warn(f"--{weight} has no effect without --{reference}", *place(weight),
                          f"add --{reference} or remove --{weight}")
        if "iw" in where and not self.images:
            self.warn("--iw has no effect without an image prompt", *place("iw"),
                      "put image URLs first or remove --iw")
        if "oref" in where:
            if params.get("quality") == 4:
                self.error("--oref is not compatible with --q 4", *place("quality"),
                           "use --q 1 or 2")
            if "draft" in where:
                self.error("--oref is not compatible with --draft", *place("draft"),
                           "remove --draft")
        if "repeat" in where and "relax" in where:
            self.warn("--repeat runs in Fast or Turbo mode only", *place("repeat"),
                      "remove --relax or --repeat")
        if "p" in params and any(MOODBOARD_RE.match(code) for code in params["p"]):
            for name in ("sw", "sv"):
                if name in where:
                    self.warn(f"--{name} is not compatible with a moodboard --p", *place(name),
                              f"remove --{name}")
        if "video" not in where:
            for name in VIDEO_ONLY:
                if name in where:
                    self.warn(f"--{name} is for video jobs; a still image ignores it",
                              *place(name), f"remove --{name}, or add --video for a video")
        if "weird" in params and where["weird"][0].name == "w" and not self.deprecated:
            if params["weird"] in _PIXEL_SIZES:
                self.warn(f"--w means --weird now (weirdness {params['weird']}), not width",
                          *place("weird"), "for a size use --ar W:H, e.g. --ar 16:9")

    # -- versions ---------------------------------------------------------------------------
    def effective_version(self) -> tuple[Version | None, str]:
        """(version, certainty): "named" when the prompt or caller names it, "assumed" for a
        configured default, "unknown" otherwise."""
        if "version" in self.params:
            return cached_version(self.params["version"]), "named"
        if "niji" in self.params:
            niji = self.params["niji"]
            return cached_version("niji" if niji is True else f"niji {niji}"), "named"
        if "version" in self.where or "niji" in self.where:
            return None, "unknown"
        if self.caller_version is not None:
            return self.caller_version, "named"
        if self.default_version is not None:
            return self.default_version, "assumed"
        return None, "unknown"

    def effective_version_label(self) -> str | None:
        version = self.caller_version or self.default_version
        return version.label if version else None

    def check_versions(self) -> None:
        version, certainty = self.effective_version()
        where, params = self.where, self.params
        for name, rule, hint in _GATES:
            if name in where:
                self.apply_rule(rule, f"--{name}", name, hint, version, certainty)
        if "style" in params:
            self.apply_rule(rule_style(params["style"]), f"--style {params['style']}", "style",
                            _STYLE_HINT, version, certainty)
        if "stylize" in params and "stylize" not in self.flagged:
            self.check_stylize(version if certainty == "named" else None)
        if "quality" in params:
            self.check_quality_rounding(version)
        if "iw" in params:
            self.apply_rule(rule_range(params["iw"], iw_bounds), "--iw", "iw",
                            "lower --iw", version, certainty)
        if "sv" in params:
            self.apply_rule(rule_range(params["sv"], sv_bounds), "--sv", "sv",
                            "V6 and Niji 6 take --sv 1–4, V7 4 or 6", version, certainty)
        if "::" in self.text:
            self.apply_rule(rule_multi_prompt, "", "::",
                            "remove the :: weights (--no still works) or add --v 6.1",
                            version, certainty)

    def locate(self, name: str) -> tuple[str, int | None]:
        """(token, position) of a parameter, or of the first `::` for multi-prompts."""
        return ("::", self.text_position("::")) if name == "::" else self.place(name)

    def apply_rule(self, rule, subject, name, hint, version, certainty) -> None:
        """Errors when the version is named; warnings when it is assumed, unknown or the rule
        itself is unverified."""
        if name in self.flagged:
            return
        if certainty == "unknown":
            failures = [found[1] for found in map(rule, PLAUSIBLE_DEFAULTS)
                        if found and found[0] == "no"]
            if failures:
                more = len(failures) - 1
                also = f" (and {more} more recent model{'s' * (more > 1)})" if more else ""
                message = f"{subject} {failures[0]}{also}".lstrip()
                self.warn(f"{message}; the account's default model is unknown here",
                          *self.locate(name), hint)
            return
        found = rule(version)
        if found is None:
            return
        verdict, reason = found
        reason = f"{subject} {reason}".lstrip()
        if verdict == "no" and certainty == "named":
            self.error(reason, *self.locate(name), hint)
        else:
            self.warn(reason, *self.locate(name), hint)

    def check_quality_rounding(self, version: Version | None) -> None:
        """Midjourney rounds `--q` to the closest value the model has [Q]: say which it uses."""
        value = self.params["quality"]
        allowed = quality_values(version)
        if value in allowed:
            return
        rounded = closest(value, allowed)
        model = f" on {version.flag}" if version is not None else ""
        self.warn(f"Midjourney rounds --q {format_plain(value)} to {format_plain(rounded)}"
                  f"{model}", *self.place("quality"), f"write --q {format_number(rounded)}")

    def check_stylize(self, named: Version | None) -> None:
        """0–1000 on every model an account can default to; 625–60000 only on a named V3."""
        low, high = stylize_bounds(named)
        value = self.params["stylize"]
        if low <= value <= high:
            return
        token, position = self.place("stylize")
        where = f" for {named.flag}" if named is not None and low else ""
        self.error(f"out of range {low}–{high}{where}", token, position,
                   f"use a value between {low} and {high}")
        del self.params["stylize"]

    # -- length ---------------------------------------------------------------------------
    def check_length(self, canonical: str) -> None:
        """The limit applies to what is sent, i.e. the canonical prompt (or, when parameters
        could not be read, the prompt with its whitespace collapsed)."""
        length = len(canonical) if not self.errors else len(" ".join(self.tokens))
        if length > MAX_PROMPT_CHARS:
            position = min(MAX_PROMPT_CHARS, len(self.source))
            self.error(f"the prompt is {length} characters; the limit is {MAX_PROMPT_CHARS}",
                       "", position, "shorten it")


_GATES = (
    ("cref", rule_cref, "on V7 use --oref; otherwise add --v 6.1"),
    ("oref", rule_oref, "--oref needs --v 7 (on V8 use --edit)"),
    ("exp", rule_v7_plus, "--exp needs V7 or later: add --v 7"),
    ("draft", rule_v7_plus, "--draft needs V7 or later: add --v 7"),
    ("sref", rule_v6_plus, "style references need V6 or later"),
    ("p", rule_v6_plus, "personalization needs V6 or later"),
    ("edit", rule_v8_plus, "--edit needs V8: add --v 8.1"),
    ("preview", rule_v8_plus, "--preview needs V8: add --v 8.1"),
    ("stop", rule_stop, "--stop is legacy: it works up to V6.1 (add --v 6.1)"),
    ("tile", rule_tile, "--tile works on V5 and later"),
    ("weird", rule_weird, "--weird needs V5 or later"),
    ("hd", rule_hd, "--hd needs V8.1 or later: add --v 8.1"),
)
_QUOTE_SCREEN_RE = re.compile(f"[{QUOTES}]")
_RARE_SCREEN_RE = re.compile(f"[{{}}{QUOTES}\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_STYLE_HINT = "--style raw needs V5.1+; cute, expressive, original, scenic need --niji 5"
# Pixel widths people used to write as `--w`: a `--w` with one of these is probably not weirdness.
_PIXEL_SIZES = frozenset({256, 320, 384, 448, 480, 512, 576, 640, 704, 720, 768, 800, 832, 896,
                          960, 1024, 1080, 1152, 1200, 1280, 1344, 1440, 1536, 1600, 1920, 2048})


def _suggest(name: str) -> str:
    """A fix for an unknown parameter: a known confusion, a missing space, else the closest known
    name; when nothing is close, no guess."""
    if name in CONFUSIONS:
        return f"did you mean --{CONFUSIONS[name]}?"
    for known in NAMES_LONGEST_FIRST:
        if name.startswith(known) and not name[len(known)].isalpha():
            return f"add a space: --{known} {name[len(known):].lstrip('=:-')}"
    close = difflib.get_close_matches(name, SUGGESTABLE, n=1, cutoff=0.75)
    if close:
        return f"did you mean --{ALIASES[close[0]].name}?"
    return "remove it (Midjourney has no such parameter)"


def _multi_prompt_weights(text: str) -> list[float]:
    """One weight per `::` segment: a signed number right after `::` weighs the segment before
    it; segments without one weigh 1."""
    parts = text.split("::")
    weights = []
    for index in range(1, len(parts)):
        match = SIGNED_RE.match(parts[index])
        weights.append(float(match.group()) if match else 1.0)
        if match:
            parts[index] = parts[index][match.end():]
    if parts[-1].strip():
        weights.append(1.0)
    return weights



def parse_prompt(text: str, *, version: str | None = None,
                 default_version: str | None = None) -> Prompt:
    """Parse and validate one prompt (one job; expand `{…}` first, or use `validate`).

    `version` is the model the caller knows the job will use ("7", "6.1", "niji 6"):
    version-dependent rules are then errors, as they are when the prompt has `--v`/`--niji`.
    `default_version` is a configured guess of the account default (e.g.
    `CURRENT_DEFAULT_VERSION`): its rules only warn. With neither, rules are checked against
    recent default models and only warn.

    Raises PromptError (and nothing else) listing every problem found.
    """
    if not isinstance(text, str):
        raise PromptError(f"prompt must be a string, not {type(text).__name__}")
    return _Parser(text, version, default_version).run()
