"""The topic library: discussion topics as Markdown files a coordinator can edit by hand.

One file per topic, named for its key (`01-getting-to-know-you.md`), with a header between two
`---` lines and the text to post after it:

    ---
    title: Getting to know each other
    order: 1
    tags: introductions, practicalities
    ---
    Welcome to your partnership! …

Header keys, one `key: value` per line (blank lines and lines starting with `#` are ignored):
- `title` (required): at most 200 characters, on one line.
- `order` (required): a whole number; topics are released in this order, and no two share one.
- `tags` (optional): comma-separated words for coordinators, like `introductions, practicalities`.
- `language` (optional): the ISO 639-1 code of the language the file is written in; `en` if unset.

A translation sits beside its topic with the language code before `.md`
(`01-getting-to-know-you.es.md`). Its header needs only a `title`; it may keep the `order` and `tags`
lines of the file it was copied from, but the order must then match, and the tags of the original
topic apply.

A file that breaks any rule is skipped and reported as a TopicFileProblem, so one bad edit never
stops the bot; the others still load.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pycountry

DEFAULT_LANGUAGE = "en"
MAX_TITLE = 200
MAX_BODY = 4_000  # a Discord embed description holds 4,096; leave room for a footer line
MAX_TAG = 50
MAX_KEY = 64
MAX_ORDER_DIGITS = 6
MAX_FILE_BYTES = 64 * 1024  # far beyond any valid topic; stops a stray large file being read whole

_HEADER_LINE = "---"
_BASE_KEYS = ("title", "order", "tags", "language")
_TRANSLATION_KEYS = ("title", "order", "tags")
_FILE_NAME = re.compile(
    r"^(?P<key>[a-z0-9]+(?:-[a-z0-9]+)*)(?:\.(?P<language>[^.]*))?\.md$",
    re.ASCII,
)
_ORDER = re.compile(r"^[0-9]+$", re.ASCII)
_LANGUAGE_CODE = re.compile(r"^[a-z]{2}$", re.ASCII)
_NAME_EXAMPLE = "09-my-topic.md, or 09-my-topic.es.md for a translation"


@dataclass(frozen=True)
class TopicText:
    """A topic's title and text in one language."""

    language: str
    title: str
    body: str


@dataclass(frozen=True)
class Topic:
    """A discussion topic: its text in its own language, and any translations of it."""

    key: str
    order: int
    title: str
    body: str
    language: str = DEFAULT_LANGUAGE
    tags: tuple[str, ...] = ()
    translations: Mapping[str, TopicText] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Read-only, and a copy: a frozen Topic must not change through a dict someone kept.
        object.__setattr__(self, "translations", MappingProxyType(dict(self.translations)))

    @property
    def text(self) -> TopicText:
        """The topic as written in its own file."""
        return TopicText(self.language, self.title, self.body)

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language the topic can be posted in: its own first, then translations A–Z."""
        return (self.language, *sorted(self.translations))

    def text_in(self, language: str) -> TopicText | None:
        """The topic in `language`, or None when there is no such version."""
        code = _primary_language(language)
        if code == self.language:
            return self.text
        return self.translations.get(code)

    def text_for(self, partners: Sequence[Collection[str]]) -> TopicText:
        """The version to post into a space, given the languages each partner reads.

        Partners must all read the version posted, so only a language every partner lists counts:
        1. the topic's own language (usually English) when every partner reads it;
        2. otherwise the first translation, by language code, that every partner reads;
        3. otherwise the topic's own language, as the programme's common language.
        Codes are compared by their primary subtag, case-insensitively (`es-MX` counts as `es`).
        """
        shared = _shared_languages(partners)
        if self.language in shared:
            return self.text
        for code in sorted(self.translations):
            if code in shared:
                return self.translations[code]
        return self.text


@dataclass(frozen=True)
class TopicFileProblem:
    """Why one file of the library was skipped."""

    path: Path
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class TopicLibrary:
    """The topics that loaded, in release order, and the files that did not."""

    topics: tuple[Topic, ...]
    problems: tuple[TopicFileProblem, ...] = ()

    def __iter__(self) -> Iterator[Topic]:
        return iter(self.topics)

    def __len__(self) -> int:
        return len(self.topics)

    def get(self, key: str) -> Topic | None:
        return next((topic for topic in self.topics if topic.key == key), None)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(topic.key for topic in self.topics)


class TopicFileError(ValueError):
    """A topic file that breaks the format; the message is a sentence about the file."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class TopicFile:
    """One parsed file, checked on its own; the loader checks how files fit together."""

    key: str
    language: str
    is_translation: bool
    title: str
    order: int | None
    tags: tuple[str, ...]
    body: str


def parse_topic_file(name: str, text: str) -> TopicFile:
    """Parse one topic file from its file name and text; raise TopicFileError saying what is wrong.

    Pure: the loader reads the file and calls this, and tests call it directly.
    """
    key, translation_language = _parse_file_name(name)
    is_translation = translation_language is not None
    header, body = _split_header(text)
    allowed = _TRANSLATION_KEYS if is_translation else _BASE_KEYS
    fields = _parse_header(header, allowed, is_translation=is_translation)

    title = fields.get("title")
    if title is None:
        raise TopicFileError("header has no 'title'")
    if not title:
        raise TopicFileError("header has an empty 'title'")
    if len(title) > MAX_TITLE:
        raise TopicFileError(f"title is {len(title):,} characters long; keep it to {MAX_TITLE}")
    if any(unicodedata.category(char) == "Cc" for char in title):
        raise TopicFileError("title contains a control character")

    raw_order = fields.get("order")
    if raw_order is None and not is_translation:
        raise TopicFileError("header has no 'order'")
    order = None if raw_order is None else _parse_order(raw_order)

    tags = _parse_tags(fields.get("tags", ""))

    if translation_language is not None:
        language = translation_language
    else:
        language = fields.get("language", DEFAULT_LANGUAGE)
        _check_language_code(language, "the 'language' in the header")

    if not body:
        raise TopicFileError("has no text after the header")
    if len(body) > MAX_BODY:
        raise TopicFileError(
            f"text is {len(body):,} characters long; Discord shows at most {MAX_BODY:,} here, so shorten it"
        )
    return TopicFile(key, language, is_translation, title, order, tags, body)


def load_topic_library(folder: Path) -> TopicLibrary:
    """Read every topic file in `folder` (not README.md); skip and report the malformed ones."""
    if not folder.is_dir():
        return TopicLibrary((), (TopicFileProblem(folder, "is not a folder of topic files"),))

    parsed, problems = _read_folder(folder)
    return _assemble(parsed, problems)


def _read_folder(folder: Path) -> tuple[list[tuple[Path, TopicFile]], list[TopicFileProblem]]:
    """Each topic file, parsed on its own, in file-name order; and the files that failed."""
    problems: list[TopicFileProblem] = []
    parsed: list[tuple[Path, TopicFile]] = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not _is_topic_file_name(path.name):
            continue
        if not path.is_file():
            problems.append(TopicFileProblem(path, "is not a file"))
            continue
        try:
            parsed.append((path, parse_topic_file(path.name, _read_text(path))))
        except TopicFileError as error:
            problems.append(TopicFileProblem(path, error.problem))
    return parsed, problems


def _assemble(parsed: list[tuple[Path, TopicFile]], problems: list[TopicFileProblem]) -> TopicLibrary:
    """Topics from the parsed files, checking what single files cannot: unique orders, translations."""
    rejected = {problem.path.name for problem in problems}
    bases: dict[str, tuple[TopicFile, int]] = {}
    order_owner: dict[int, str] = {}
    for path, topic_file in parsed:
        order = topic_file.order
        if topic_file.is_translation or order is None:  # a base file always has an order
            continue
        owner = order_owner.get(order)
        if owner is not None:
            problem = f"order {order} is already used by {owner}.md; give each topic its own order"
            problems.append(TopicFileProblem(path, problem))
            rejected.add(path.name)
            continue
        order_owner[order] = topic_file.key
        bases[topic_file.key] = (topic_file, order)

    translations: dict[str, dict[str, TopicText]] = {key: {} for key in bases}
    for path, topic_file in parsed:
        if not topic_file.is_translation:
            continue
        base, _ = bases.get(topic_file.key, (None, None))
        problem = _translation_problem(topic_file, base, f"{topic_file.key}.md" in rejected)
        if problem:
            problems.append(TopicFileProblem(path, problem))
            continue
        translations[topic_file.key][topic_file.language] = TopicText(
            topic_file.language, topic_file.title, topic_file.body
        )

    topics = [
        Topic(
            key=base.key,
            order=order,
            title=base.title,
            body=base.body,
            language=base.language,
            tags=base.tags,
            translations=translations[base.key],
        )
        for base, order in bases.values()
    ]
    topics.sort(key=lambda topic: (topic.order, topic.key))
    problems.sort(key=lambda problem: problem.path.name)
    return TopicLibrary(tuple(topics), tuple(problems))


def language_name(code: str) -> str:
    """The English name of an ISO 639-1 language code, or the code itself when it is unknown."""
    language = pycountry.languages.get(alpha_2=code) if _LANGUAGE_CODE.match(code) else None
    return language.name if language is not None else code


def _translation_problem(translation: TopicFile, base: TopicFile | None, base_rejected: bool) -> str | None:
    if base is None:
        why = "which has a problem of its own" if base_rejected else "which is missing"
        return f"is a translation of {translation.key}.md, {why}"
    if translation.language == base.language:
        return (
            f"is a translation into {language_name(translation.language)}, "
            f"but {base.key}.md is already in {language_name(base.language)}"
        )
    if translation.order is not None and translation.order != base.order:
        return (
            f"has order {translation.order} but {base.key}.md has order {base.order}; "
            "remove the 'order' line from the translation"
        )
    return None


def _is_topic_file_name(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(".md") and lowered != "readme.md" and not name.startswith(".")


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise TopicFileError(f"could not be read ({error.strerror or error})") from None
    if len(data) > MAX_FILE_BYTES:
        raise TopicFileError(f"is larger than {MAX_FILE_BYTES // 1024} KiB; a topic is a few paragraphs")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TopicFileError("is not UTF-8 text; save it again with UTF-8 encoding") from None


def _parse_file_name(name: str) -> tuple[str, str | None]:
    match = _FILE_NAME.match(name)
    if match is None or len(match["key"]) > MAX_KEY:
        raise TopicFileError(
            f"file name must be lowercase letters, digits and hyphens (at most {MAX_KEY}) "
            f"ending in .md, like {_NAME_EXAMPLE}"
        )
    language = match["language"]
    if language is not None:
        _check_language_code(language, f"'{language}' in the file name")
    return match["key"], language


def _check_language_code(code: str, where: str) -> None:
    if not _LANGUAGE_CODE.match(code) or pycountry.languages.get(alpha_2=code) is None:
        raise TopicFileError(
            f"{where} is not a language code: use a two-letter ISO 639-1 code such as es, fr or pt"
        )


def _split_header(text: str) -> tuple[list[str], str]:
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[0].rstrip() != _HEADER_LINE:
        raise TopicFileError(
            "does not start with a header: the first line must be --- followed by title: and order: lines"
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip() == _HEADER_LINE:
            return lines[1:index], "\n".join(lines[index + 1 :]).strip()
    raise TopicFileError("header is not closed: add a line --- after the last header line")


def _parse_header(lines: list[str], allowed: Sequence[str], *, is_translation: bool) -> dict[str, str]:
    fields: dict[str, str] = {}
    for number, line in enumerate(lines, start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, colon, value = stripped.partition(":")
        if not colon:
            raise TopicFileError(f"header line {number} is not 'key: value': {_shorten(stripped)!r}")
        key = name.strip().lower()
        if key not in allowed:
            if is_translation and key in _BASE_KEYS:
                raise TopicFileError(
                    f"header sets '{key}', but a translation takes it from its file name; remove that line"
                )
            raise TopicFileError(
                f"header has an unknown key {_shorten(key)!r} on line {number} "
                f"(known keys: {', '.join(allowed)})"
            )
        if key in fields:
            raise TopicFileError(f"header sets '{key}' twice")
        fields[key] = value.strip()
    return fields


def _parse_order(raw: str) -> int:
    if not _ORDER.match(raw) or len(raw.lstrip("0")) > MAX_ORDER_DIGITS:
        raise TopicFileError(f"order must be a whole number like 3, not {_shorten(raw)!r}")
    return int(raw)


def _parse_tags(raw: str) -> tuple[str, ...]:
    tags: list[str] = []
    for tag in (part.strip() for part in raw.split(",")):
        if not tag or tag in tags:
            continue
        if len(tag) > MAX_TAG:
            raise TopicFileError(f"tag {_shorten(tag)!r} is longer than {MAX_TAG} characters")
        tags.append(tag)
    return tuple(tags)


def _shared_languages(partners: Sequence[Collection[str]]) -> set[str]:
    if not partners:
        return set()
    each = [{_primary_language(code) for code in languages} for languages in partners]
    return set.intersection(*each)


def _primary_language(code: str) -> str:
    return code.strip().lower().replace("_", "-").split("-")[0]


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
