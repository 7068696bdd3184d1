from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import DEFAULT_PROMPTS_DIR
from bot.topics.library import (
    MAX_BODY,
    Topic,
    TopicFileError,
    TopicFileProblem,
    TopicText,
    load_topic_library,
    parse_topic_file,
)

SHIPPED = DEFAULT_PROMPTS_DIR / "topics"
DISCORD_EMBED_DESCRIPTION = 4096
DISCORD_EMBED_TITLE = 256


def topic_file(
    title: str = "A topic", order: str | None = "1", body: str = "Some text.", **extra: str
) -> str:
    lines = ["---", f"title: {title}"]
    if order is not None:
        lines.append(f"order: {order}")
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join([*lines, "---", body, ""])


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# The shipped library


def test_shipped_library_loads_without_problems() -> None:
    library = load_topic_library(SHIPPED)
    assert library.problems == ()
    assert len(library) >= 8
    orders = [topic.order for topic in library]
    assert orders == sorted(orders)
    assert len(set(orders)) == len(orders)
    assert library.topics[0].key == "01-getting-to-know-you"
    assert library.topics[7].key == "08-what-now"


def test_shipped_translations() -> None:
    library = load_topic_library(SHIPPED)
    first, last = library.get("01-getting-to-know-you"), library.get("08-what-now")
    assert first is not None
    assert last is not None
    for topic in (first, last):
        assert set(topic.translations) >= {"es", "fr"}
        assert topic.languages[0] == "en"
    assert first.text_in("es") == TopicText("es", "Para conocernos", first.translations["es"].body)
    assert first.translations["fr"].title == "Faire connaissance"
    assert last.translations["es"].title == "¿Y ahora qué?"
    assert last.translations["fr"].title == "Et maintenant\u00a0?"


def test_shipped_topics_fit_discord_and_follow_the_house_style() -> None:
    for topic in load_topic_library(SHIPPED):
        for text in (topic.text, *topic.translations.values()):
            assert len(text.title) <= DISCORD_EMBED_TITLE
            assert len(text.body) < 1_500, f"{topic.key}.{text.language} is long"
            assert "<" not in text.body, "no HTML in Discord text"
            questions = re.findall(r"^\d\. ", text.body, flags=re.MULTILINE)
            assert 3 <= len(questions) <= 5, f"{topic.key}.{text.language} has {len(questions)} questions"
        assert topic.tags


def test_first_topic_asks_partners_to_agree_how_to_keep_in_touch() -> None:
    first = load_topic_library(SHIPPED).topics[0]
    assert "within a week" in first.body
    assert "time zone" in first.body


# Loading a folder


def test_topics_sort_by_order_then_key_and_readme_and_other_files_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, "b-second.md", topic_file("Second", "20"))
    write(tmp_path, "a-third.md", topic_file("Third", "30"))
    write(tmp_path, "z-first.md", topic_file("First", "10", tags="one, two, one,, three"))
    write(tmp_path, "README.md", "# Not a topic")
    write(tmp_path, "notes.txt", "not a topic either")
    write(tmp_path, ".hidden.md", "editor backup")
    library = load_topic_library(tmp_path)
    assert library.problems == ()
    assert library.keys == ("z-first", "b-second", "a-third")
    assert library.topics[0].tags == ("one", "two", "three")
    assert library.get("nope") is None


def test_header_tolerates_comments_blank_lines_crlf_and_a_byte_order_mark(tmp_path: Path) -> None:
    text = (
        "\ufeff---\r\n# a comment\r\n\r\nTitle:  Spaced out  \r\norder:3\r\n---  \r\n\r\nBody line.\r\n\r\n"
    )
    write(tmp_path, "x.md", text)
    library = load_topic_library(tmp_path)
    assert library.problems == ()
    assert library.topics[0] == Topic(key="x", order=3, title="Spaced out", body="Body line.")


def test_a_topic_may_be_written_in_another_language(tmp_path: Path) -> None:
    write(tmp_path, "x.md", topic_file("Hola", language="es"))
    write(tmp_path, "x.en.md", topic_file("Hello", order=None))
    topic = load_topic_library(tmp_path).topics[0]
    assert topic.language == "es"
    assert topic.languages == ("es", "en")
    assert topic.text_for([{"es"}, {"es", "en"}]).title == "Hola"
    assert topic.text_for([{"en"}, {"es", "en"}]).title == "Hello"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("03-x.md", "title: X\norder: 3\n\nBody", "does not start with a header"),
        ("03-x.md", "---\ntitle: X\norder: 3\nBody", "header is not closed"),
        ("03-x.md", topic_file(order=None), "header has no 'order'"),
        ("03-x.md", "---\norder: 3\n---\nBody", "header has no 'title'"),
        ("03-x.md", topic_file(title=""), "header has an empty 'title'"),
        ("03-x.md", topic_file(title="x" * 201), "title is 201 characters long; keep it to 200"),
        ("03-x.md", topic_file(order="three"), "order must be a whole number like 3, not 'three'"),
        ("03-x.md", topic_file(order="1.5"), "order must be a whole number"),
        ("03-x.md", topic_file(order="-1"), "order must be a whole number"),
        ("03-x.md", topic_file(order="9" * 20), "order must be a whole number"),
        ("03-x.md", topic_file(body=""), "has no text after the header"),
        ("03-x.md", topic_file(body="  \n\n  "), "has no text after the header"),
        ("03-x.md", topic_file(body="x" * (MAX_BODY + 1)), "text is 4,001 characters long"),
        ("03-x.md", topic_file(colour="blue"), "header has an unknown key 'colour' on line 4"),
        ("03-x.md", "---\ntitle: X\ntitle: Y\norder: 3\n---\nBody", "header sets 'title' twice"),
        ("03-x.md", "---\ntitle: X\norder 3\n---\nBody", "header line 3 is not 'key: value'"),
        ("03-x.md", topic_file(tags="x" * 51), "is longer than 50 characters"),
        ("03-x.md", topic_file(language="english"), "the 'language' in the header is not a language code"),
        ("03-x.md", topic_file(language="xx"), "is not a language code"),
        ("03-x.md", topic_file(title="Tab\tin title"), "title contains a control character"),
        ("03 My Topic.md", topic_file(), "file name must be lowercase letters, digits and hyphens"),
        ("03_x.md", topic_file(), "file name must be lowercase letters"),
        ("03-X.md", topic_file(), "file name must be lowercase letters"),
        ("03-x.MD", topic_file(), "file name must be lowercase letters"),
        ("03-x.es.fr.md", topic_file(), "file name must be lowercase letters"),
        ("03-x.pt-br.md", topic_file(order=None), "'pt-br' in the file name is not a language code"),
        ("03-x.ES.md", topic_file(order=None), "'ES' in the file name is not a language code"),
        ("03-x.xx.md", topic_file(order=None), "'xx' in the file name is not a language code"),
        ("03-x.spa.md", topic_file(order=None), "'spa' in the file name is not a language code"),
        ("03-x..md", topic_file(order=None), "'' in the file name is not a language code"),
    ],
)
def test_malformed_file_is_skipped_with_a_clear_problem(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    write(tmp_path, "01-good.md", topic_file("Good", "1"))
    bad = write(tmp_path, name, content)
    library = load_topic_library(tmp_path)
    assert library.keys == ("01-good",)
    assert len(library.problems) == 1
    reported = library.problems[0]
    assert reported.path == bad
    assert problem in reported.problem
    assert str(reported) == f"{bad}: {reported.problem}"
    assert reported.problem[0].islower() or reported.problem.startswith("'")  # reads on after the path


def test_problem_reads_as_a_sentence_after_the_path(tmp_path: Path) -> None:
    write(tmp_path, "03-x.md", topic_file(order=None))
    assert [str(p) for p in load_topic_library(tmp_path).problems] == [
        f"{tmp_path}/03-x.md: header has no 'order'"
    ]


def test_non_utf8_file(tmp_path: Path) -> None:
    (tmp_path / "03-x.md").write_bytes(topic_file().encode("utf-16"))
    (problem,) = load_topic_library(tmp_path).problems
    assert problem.problem == "is not UTF-8 text; save it again with UTF-8 encoding"


def test_oversized_file_is_not_read_whole(tmp_path: Path) -> None:
    write(tmp_path, "03-x.md", topic_file(body="x" * 100_000))
    (problem,) = load_topic_library(tmp_path).problems
    assert "is larger than 64 KiB" in problem.problem


def test_a_folder_named_like_a_topic(tmp_path: Path) -> None:
    (tmp_path / "03-x.md").mkdir()
    (problem,) = load_topic_library(tmp_path).problems
    assert problem.problem == "is not a file"


def test_missing_folder(tmp_path: Path) -> None:
    library = load_topic_library(tmp_path / "nowhere")
    assert library.topics == ()
    assert library.problems == (TopicFileProblem(tmp_path / "nowhere", "is not a folder of topic files"),)


def test_duplicate_order_keeps_the_first_file_by_name(tmp_path: Path) -> None:
    write(tmp_path, "a.md", topic_file("A", "5"))
    write(tmp_path, "b.md", topic_file("B", "5"))
    write(tmp_path, "b.es.md", topic_file("B es", order=None))
    library = load_topic_library(tmp_path)
    assert library.keys == ("a",)
    assert [(p.path.name, p.problem) for p in library.problems] == [
        ("b.es.md", "is a translation of b.md, which has a problem of its own"),
        ("b.md", "order 5 is already used by a.md; give each topic its own order"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("02-y.es.md", topic_file(order=None), "is a translation of 02-y.md, which is missing"),
        (
            "01-x.en.md",
            topic_file(order=None),
            "is a translation into English, but 01-x.md is already in English",
        ),
        ("01-x.es.md", topic_file(order="2"), "has order 2 but 01-x.md has order 1"),
        ("01-x.es.md", topic_file(order=None, language="es"), "header sets 'language', but a translation"),
        ("01-x.es.md", topic_file(title="", order=None), "header has an empty 'title'"),
    ],
)
def test_malformed_translation_is_skipped(tmp_path: Path, name: str, content: str, problem: str) -> None:
    write(tmp_path, "01-x.md", topic_file("X", "1"))
    write(tmp_path, "01-x.fr.md", topic_file("X fr", order=None))
    write(tmp_path, name, content)
    library = load_topic_library(tmp_path)
    (topic,) = library.topics
    assert set(topic.translations) == {"fr"}
    (reported,) = library.problems
    assert reported.path.name == name
    assert problem in reported.problem


def test_translation_of_a_broken_topic(tmp_path: Path) -> None:
    write(tmp_path, "01-x.md", topic_file(order="one"))
    write(tmp_path, "01-x.es.md", topic_file(order=None))
    problems = {p.path.name: p.problem for p in load_topic_library(tmp_path).problems}
    assert problems["01-x.es.md"] == "is a translation of 01-x.md, which has a problem of its own"


def test_translation_may_keep_order_and_tags_of_the_original(tmp_path: Path) -> None:
    write(tmp_path, "01-x.md", topic_file("X", "1", tags="a"))
    write(tmp_path, "01-x.es.md", topic_file("X es", "1", tags="b"))
    (topic,) = load_topic_library(tmp_path).topics
    assert topic.tags == ("a",)
    assert topic.translations["es"] == TopicText("es", "X es", "Some text.")


def test_topic_is_immutable() -> None:
    translations = {"es": TopicText("es", "T", "B")}
    topic = Topic("k", 1, "T", "B", translations=translations)
    translations["fr"] = TopicText("fr", "T", "B")
    assert set(topic.translations) == {"es"}
    with pytest.raises(TypeError):
        topic.translations["de"] = TopicText("de", "T", "B")  # type: ignore[index]
    assert hash(topic) == hash(Topic("k", 1, "T", "B"))


# Choosing the version for a space

TRANSLATED = Topic(
    key="k",
    order=1,
    title="English",
    body="…",
    translations={"es": TopicText("es", "Español", "…"), "fr": TopicText("fr", "Français", "…")},
)


@pytest.mark.parametrize(
    ("partners", "language"),
    [
        ([{"en"}, {"en"}], "en"),
        ([{"es"}, {"es"}], "es"),
        ([{"es", "en"}, {"es", "en"}], "en"),  # everyone reads English: the original
        ([{"es", "en"}, {"es"}], "es"),  # not everyone reads English, everyone reads Spanish
        ([{"fr", "es"}, {"es", "fr"}], "es"),  # two shared translations: the first by code
        ([{"fr"}, {"fr", "en"}, {"fr", "es"}], "fr"),  # a trio
        ([{"fr"}, {"fr", "en"}, {"es"}], "en"),  # nothing shared: the original
        ([{"es"}, {"fr"}], "en"),
        ([{"de"}, {"de"}], "en"),  # shared, but no translation in it
        ([{"ES-mx"}, {"es_AR"}], "es"),  # regional variants count as the language
        ([{" Fr "}, {"fr"}], "fr"),
        ([set(), {"es"}], "en"),  # a partner with no languages listed
        ([], "en"),
        ([{"es"}], "es"),
    ],
)
def test_text_for(partners: Sequence[Collection[str]], language: str) -> None:
    assert TRANSLATED.text_for(partners).language == language


def test_text_for_accepts_any_collection() -> None:
    assert TRANSLATED.text_for((("es", "fr"), ["fr"], frozenset({"fr", "en"}))).language == "fr"


def test_text_in() -> None:
    assert TRANSLATED.text_in("en") == TopicText("en", "English", "…")
    assert TRANSLATED.text_in("fr-CA") == TopicText("fr", "Français", "…")
    assert TRANSLATED.text_in("de") is None


# Fuzzing the parser


@given(name=st.text(max_size=30), text=st.text(max_size=300))
def test_parse_never_raises_anything_else(name: str, text: str) -> None:
    try:
        parsed = parse_topic_file(name, text)
    except TopicFileError as error:
        assert error.problem
    else:
        assert parsed.title
        assert parsed.body
        assert len(parsed.body) <= MAX_BODY


_HEADER_VALUE = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=60
).map(str.strip)


@given(
    title=_HEADER_VALUE,
    order=st.integers(0, 999_999),
    tags=st.lists(st.from_regex(r"[a-z][a-z ]{0,10}[a-z]", fullmatch=True), max_size=4),
    body=st.text(min_size=1, max_size=500),
    key=st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}", fullmatch=True),
)
def test_valid_files_parse_to_what_was_written(
    title: str, order: int, tags: list[str], body: str, key: str
) -> None:
    text = topic_file(title, str(order), body, tags=", ".join(tags))
    try:
        parsed = parse_topic_file(f"{key}.md", text)
    except TopicFileError as error:
        assert not title or not body.strip(), error.problem  # the only reasons to refuse these
        return
    assert parsed.key == key
    assert parsed.title == title
    assert parsed.order == order
    assert parsed.tags == tuple(dict.fromkeys(tags))
    assert parsed.body == body.replace("\r\n", "\n").replace("\r", "\n").strip()
    assert parsed.language == "en"
    assert not parsed.is_translation
