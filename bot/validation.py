"""Field validation for participant profiles, shared by `/signup`, `/participants import` and the
offline matcher.

Every parser takes the text a person typed (or a spreadsheet cell) and returns the canonical value
the rest of the bot stores, or raises `ValidationError` with a message that can be shown to that
person as it is: ``timezone "Europe/Londn": did you mean Europe/London?``.

Pure: no discord.py, no database. Country and language data come from pycountry, time zones from the
IANA database shipped by tzdata.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import pycountry

__all__ = [
    "DEFAULT_CAREER_STAGES",
    "DEFAULT_SECTORS",
    "MATCH_PREFERENCES",
    "FieldOptions",
    "ValidationError",
    "country_in_sentence",
    "country_name",
    "escape_csv_cell",
    "language_name",
    "parse_career_stage",
    "parse_country",
    "parse_discord_id",
    "parse_goals",
    "parse_interests",
    "parse_languages",
    "parse_match_preference",
    "parse_member_ids",
    "parse_name",
    "parse_sector",
    "parse_timezone",
    "split_list",
]

DEFAULT_SECTORS: tuple[str, ...] = ("academic", "public", "school", "special", "government", "other")
DEFAULT_CAREER_STAGES: tuple[str, ...] = ("student", "early", "mid", "senior")
MATCH_PREFERENCES: tuple[str, ...] = ("interests", "career_stage", "open")

MAX_NAME_LENGTH = 80
MAX_GOALS_LENGTH = 500
MAX_LANGUAGES = 10
MAX_INTERESTS = 10
MAX_INTEREST_LENGTH = 40


class ValidationError(ValueError):
    """A field that cannot be accepted, with a message written for the person who typed it."""

    def __init__(self, field: str, message: str, value: str | None = None) -> None:
        self.field = field
        self.message = message
        self.value = value
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.field}: {self.message}"
        return f'{self.field} "{_clip(self.value)}": {self.message}'


@dataclass(frozen=True, slots=True)
class FieldOptions:
    """The programme's choices that a profile is checked against (from the programme settings)."""

    sectors: tuple[str, ...] = DEFAULT_SECTORS
    career_stages: tuple[str, ...] = DEFAULT_CAREER_STAGES
    interests: tuple[str, ...] = ()
    max_interests: int = MAX_INTERESTS


# --------------------------------------------------------------------------------------------------
# helpers


def _clip(value: str, limit: int = 60) -> str:
    value = value.replace("\n", " ").replace("\r", " ")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive key: "Côte d'Ivoire" -> "cote divoire"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("&", " and ")
    text = re.sub(r"['’`.]", "", text)
    text = re.sub(r"[\s,()\-_/]+", " ", text)
    return text.strip()


def _closest(key: str, candidates: Iterable[str], cutoff: float = 0.75) -> str | None:
    found = difflib.get_close_matches(key, list(candidates), n=1, cutoff=cutoff)
    return found[0] if found else None


def _has_control_chars(text: str, allow_newlines: bool = False) -> bool:
    for ch in text:
        if allow_newlines and ch in "\n\r\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\u200d":
            return True
    return False


def split_list(value: str | Iterable[str]) -> list[str]:
    """Split a `;`-separated cell (commas are accepted too) into stripped, non-empty items."""
    if isinstance(value, str):
        items: Iterable[str] = re.split(r"[;,]", value)
    else:
        items = value
    return [item.strip() for item in items if item and item.strip()]


# --------------------------------------------------------------------------------------------------
# countries

_COUNTRY_ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "us": "US",
    "america": "US",
    "united states of america": "US",
    "russia": "RU",
    "turkey": "TR",
    "ivory coast": "CI",
    "cote divoire": "CI",
    "palestine": "PS",
    "macedonia": "MK",
    "cape verde": "CV",
    "swaziland": "SZ",
    "dr congo": "CD",
    "drc": "CD",
    "democratic republic of the congo": "CD",
    "congo kinshasa": "CD",
    "republic of the congo": "CG",
    "congo brazzaville": "CG",
    "brunei": "BN",
    "micronesia": "FM",
    "burma": "MM",
    "east timor": "TL",
    "holland": "NL",
    "the netherlands": "NL",
    "vatican": "VA",
    "vatican city": "VA",
    "north korea": "KP",
    "korea": "KR",
    "the gambia": "GM",
    "the bahamas": "BS",
    "uae": "AE",
    "kosovo": "XK",
    "czech republic": "CZ",
    "st lucia": "LC",
    "st kitts and nevis": "KN",
    "st vincent and the grenadines": "VC",
    "sao tome and principe": "ST",
}
# Kosovo has no ISO 3166-1 code; XK is the user-assigned code in common use.
_EXTRA_COUNTRY_NAMES = {
    "XK": "Kosovo",
    "RU": "Russia",
    "CD": "DR Congo",
    "FM": "Micronesia",
    "PS": "Palestine",
    "VA": "Vatican City",
    "VG": "British Virgin Islands",
    "VI": "US Virgin Islands",
    "FK": "Falkland Islands",
    "MF": "Saint Martin",
    "SX": "Sint Maarten",
    "CC": "Cocos Islands",
    "SH": "Saint Helena",
    "BQ": "Caribbean Netherlands",
}
# Names that take "the" in a sentence: "no one outside the Philippines".
_COUNTRIES_WITH_ARTICLE = {
    "BS",
    "GM",
    "PH",
    "NL",
    "GB",
    "US",
    "AE",
    "DO",
    "CF",
    "KM",
    "MV",
    "MH",
    "SB",
    "SC",
    "CD",
    "CG",
    "VG",
    "VI",
    "FK",
    "CC",
    "KY",
    "TC",
    "CK",
    "FO",
    "BQ",
}


@cache
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                index[_fold(value)] = country.alpha_2
    index.update(_COUNTRY_ALIASES)
    return index


@cache
def _country_codes() -> dict[str, str]:
    codes = {}
    for country in pycountry.countries:
        codes[country.alpha_2.casefold()] = country.alpha_2
        codes[country.alpha_3.casefold()] = country.alpha_2
    codes["xk"] = "XK"
    return codes


def country_name(code: str) -> str:
    """The everyday English name of an ISO 3166 alpha-2 code ("BO" -> "Bolivia")."""
    if code in _EXTRA_COUNTRY_NAMES:
        return _EXTRA_COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


def country_in_sentence(code: str) -> str:
    """The name as it reads inside a sentence: "the Philippines", "Chile"."""
    name = country_name(code)
    if code == "CG":
        return "the Republic of the Congo"
    return f"the {name}" if code in _COUNTRIES_WITH_ARTICLE else name


def parse_country(text: str) -> str:
    """A country name or ISO 3166 alpha-2/alpha-3 code, any case, to its alpha-2 code."""
    raw = (text or "").strip()
    if not raw:
        raise ValidationError("country", "is required (a country name or a two-letter code such as CL)")
    code = _country_codes().get(raw.casefold())
    if code:
        return code
    key = _fold(raw)
    if key.startswith("st "):
        key = "saint " + key[3:]
    index = _country_index()
    if key in index:
        return index[key]
    if key.startswith("the ") and key[4:] in index:
        return index[key[4:]]
    suggestion = _closest(key, index)
    if suggestion:
        raise ValidationError("country", f"did you mean {country_name(index[suggestion])}?", raw)
    raise ValidationError("country", "not a country name or ISO 3166 code (such as Chile or CL)", raw)


# --------------------------------------------------------------------------------------------------
# time zones

_NOT_ZONES = {"Factory", "localtime", "posixrules"}


@cache
def _zones() -> dict[str, str]:
    return {name.casefold(): name for name in zoneinfo.available_timezones() if name not in _NOT_ZONES}


@cache
def _zone_cities() -> dict[str, str]:
    cities: dict[str, str] = {}
    for name in sorted(_zones().values()):
        if "/" in name and not name.startswith("Etc/"):
            city = name.rsplit("/", 1)[1].replace("_", " ").casefold()
            cities.setdefault(city, name)
    return cities


def parse_timezone(text: str) -> str:
    """An IANA time zone name (any case, spaces for underscores) to its canonical spelling."""
    raw = (text or "").strip()
    if not raw:
        raise ValidationError("timezone", "is required (an IANA time zone such as Europe/London)")
    zones = _zones()
    name = zones.get(re.sub(r"\s+", "_", raw).casefold())
    if name:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # pragma: no cover - broken tzdata
            pass
        else:
            return name
    key = re.sub(r"\s+", "_", raw).casefold()
    suggestion = None
    if "/" not in key:
        city = key.replace("_", " ")
        cities = _zone_cities()
        suggestion = cities.get(city) or (
            cities[found] if (found := _closest(city, cities, cutoff=0.8)) else None
        )
    if suggestion is None:
        found = _closest(key, zones, cutoff=0.8)
        suggestion = zones[found] if found else None
    if suggestion:
        raise ValidationError("timezone", f"did you mean {suggestion}?", raw)
    raise ValidationError("timezone", "not an IANA time zone name (such as Europe/London)", raw)


# --------------------------------------------------------------------------------------------------
# languages

_LANGUAGE_ALIASES = {
    "mandarin": "zh",
    "mandarin chinese": "zh",
    "chinese mandarin": "zh",
    "putonghua": "zh",
    "cantonese": "yue",
    "farsi": "fa",
    "greek": "el",
    "modern greek": "el",
    "swahili": "sw",
    "kiswahili": "sw",
    "malay": "ms",
    "bahasa malaysia": "ms",
    "bahasa melayu": "ms",
    "bahasa indonesia": "id",
    "nepali": "ne",
    "punjabi": "pa",
    "pashto": "ps",
    "kyrgyz": "ky",
    "flemish": "nl",
    "slovene": "sl",
    "tongan": "to",
    "moldovan": "ro",
    "castilian": "es",
    "filipino": "fil",
    "haitian creole": "ht",
    "odia": "or",
    "oriya": "or",
    "occitan": "oc",
    "auslan": "asf",
    "asl": "ase",
    "american sign language": "ase",
    "bsl": "bfi",
    "british sign language": "bfi",
    "nzsl": "nzs",
    "new zealand sign language": "nzs",
    "scottish gaelic": "gd",
    "irish gaelic": "ga",
    "bokmal": "nb",
    "nynorsk": "nn",
    "te reo maori": "mi",
    "te reo": "mi",
    "sesotho": "st",
    "setswana": "tn",
    "isixhosa": "xh",
    "isizulu": "zu",
    "kinyarwanda": "rw",
    "dhivehi": "dv",
    "uyghur": "ug",
    "sinhalese": "si",
}
# Individual languages that people usually mean by the macrolanguage with a two-letter code.
_MACRO = {
    "cmn": "zh",
    "arb": "ar",
    "zsm": "ms",
    "swh": "sw",
    "pes": "fa",
    "npi": "ne",
    "ekk": "et",
    "lvs": "lv",
    "khk": "mn",
    "uzn": "uz",
    "azj": "az",
    "plt": "mg",
    "ory": "or",
    "gaz": "om",
}
_LANGUAGE_NAMES = {
    "el": "Greek",
    "ms": "Malay",
    "ne": "Nepali",
    "sw": "Swahili",
    "or": "Odia",
    "oc": "Occitan",
    "to": "Tongan",
    "ia": "Interlingua",
    "pa": "Punjabi",
    "ps": "Pashto",
    "ky": "Kyrgyz",
    "yue": "Cantonese",
    "fil": "Filipino",
    "asf": "Auslan",
    "ase": "American Sign Language",
    "bfi": "British Sign Language",
    "nzs": "New Zealand Sign Language",
}


def _plain_language_name(name: str) -> str:
    return re.sub(r"\s*\(.*?\)", "", name.split(";")[0]).strip()


@cache
def _language_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for language in pycountry.languages:
        code = getattr(language, "alpha_2", None)
        if not code:
            continue
        for part in language.name.split(";"):
            index.setdefault(_fold(part), code)
            index.setdefault(_fold(_plain_language_name(part)), code)
    for code, name in _LANGUAGE_NAMES.items():
        index.setdefault(_fold(name), code)
    index.update(_LANGUAGE_ALIASES)
    return index


def language_name(code: str) -> str:
    """English name of a stored language code ("es" -> "Spanish", "el" -> "Greek")."""
    if code in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[code]
    language = (
        pycountry.languages.get(alpha_2=code) if len(code) == 2 else pycountry.languages.get(alpha_3=code)
    )
    return _plain_language_name(language.name) if language else code


def _language_code(item: str) -> str | None:
    key = item.strip().casefold()
    if re.fullmatch(r"[a-z]{2}", key):
        language = pycountry.languages.get(alpha_2=key)
        return language.alpha_2 if language else None
    if re.fullmatch(r"[a-z]{3}", key) and key not in _language_index():
        if key in _MACRO:
            return _MACRO[key]
        language = pycountry.languages.get(alpha_3=key) or pycountry.languages.get(bibliographic=key)
        if language is None:
            return None
        return getattr(language, "alpha_2", None) or language.alpha_3
    folded = _fold(item)
    code = _language_index().get(folded)
    if code:
        return code
    try:  # exact English names of languages without a two-letter code ("Yue Chinese")
        language = pycountry.languages.lookup(item.strip())
    except LookupError:
        return None
    return getattr(language, "alpha_2", None) or _MACRO.get(language.alpha_3, language.alpha_3)


def parse_languages(value: str | Iterable[str]) -> frozenset[str]:
    """One or more languages (ISO 639-1 codes or English names) to a set of ISO 639 codes."""
    items = split_list(value)
    if not items:
        raise ValidationError("languages", "at least one language is required (such as English or en)")
    if len(items) > MAX_LANGUAGES:
        raise ValidationError("languages", f"at most {MAX_LANGUAGES} languages, please")
    codes = set()
    for item in items:
        code = _language_code(item)
        if code is None:
            index = _language_index()
            suggestion = _closest(_fold(item), index, cutoff=0.75)
            if suggestion:
                raise ValidationError("languages", f"did you mean {language_name(index[suggestion])}?", item)
            raise ValidationError(
                "languages", "not a language name or ISO 639-1 code (such as Spanish or es)", item
            )
        codes.add(code)
    return frozenset(codes)


# --------------------------------------------------------------------------------------------------
# choices: sector, career stage, match preference


def _choice_key(text: str) -> str:
    return _fold(text).replace(" ", "_")


def _parse_choice(field: str, text: str, allowed: tuple[str, ...], aliases: dict[str, str]) -> str:
    raw = (text or "").strip()
    choices = ", ".join(allowed)
    if not raw:
        raise ValidationError(field, f"is required (one of {choices})")
    key = _choice_key(raw)
    by_key = {_choice_key(choice): choice for choice in allowed}
    if key in by_key:
        return by_key[key]
    alias = aliases.get(key)
    if alias in allowed:
        return alias
    suggestion = _closest(key, by_key, cutoff=0.6)
    if suggestion:
        raise ValidationError(field, f"did you mean {by_key[suggestion]}? (one of {choices})", raw)
    raise ValidationError(field, f"must be one of {choices}", raw)


def parse_sector(text: str, allowed: tuple[str, ...] = DEFAULT_SECTORS) -> str:
    aliases = {f"{choice}_library": choice for choice in allowed}
    aliases |= {f"{choice}_libraries": choice for choice in allowed}
    aliases |= {"university": "academic", "higher_education": "academic", "schools": "school"}
    return _parse_choice("sector", text, allowed, aliases)


def parse_career_stage(text: str, allowed: tuple[str, ...] = DEFAULT_CAREER_STAGES) -> str:
    aliases = {f"{choice}_career": choice for choice in allowed}
    aliases |= {f"{choice}_career_stage": choice for choice in allowed}
    aliases |= {
        "students": "student",
        "new": "early",
        "new_professional": "early",
        "middle": "mid",
        "experienced": "senior",
    }
    return _parse_choice("career_stage", text, allowed, aliases)


def parse_match_preference(text: str) -> str:
    """`interests` (also when empty), `career_stage` or `open`."""
    if not (text or "").strip():
        return "interests"
    aliases = {
        "interest": "interests",
        "by_interests": "interests",
        "career": "career_stage",
        "stage": "career_stage",
        "by_career_stage": "career_stage",
        "any": "open",
        "none": "open",
        "no_preference": "open",
        "anyone": "open",
        "either": "open",
    }
    return _parse_choice("match_preference", text, MATCH_PREFERENCES, aliases)


# --------------------------------------------------------------------------------------------------
# interests


def _normalise_interest(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def parse_interests(
    value: str | Iterable[str],
    programme_interests: Iterable[str] = (),
    max_count: int = MAX_INTERESTS,
    max_length: int = MAX_INTEREST_LENGTH,
) -> frozenset[str]:
    """Interests from the programme's list (matched case-insensitively, kept in the list's spelling)
    plus free words (lower-cased). A near miss of a listed interest is refused with a suggestion,
    so that "open acess" does not silently fail to match "open access"."""
    listed = {_normalise_interest(item).casefold(): _normalise_interest(item) for item in programme_interests}
    result: list[str] = []
    for raw_item in split_list(value):
        item = _normalise_interest(raw_item)
        if _has_control_chars(item):
            raise ValidationError("interests", "contains characters that cannot be shown", item)
        if len(item) > max_length:
            raise ValidationError("interests", f"each interest can be at most {max_length} characters", item)
        key = item.casefold()
        if key in listed:
            canonical = listed[key]
        else:
            near = _closest(key, listed, cutoff=0.85)
            if near:
                raise ValidationError("interests", f"did you mean {listed[near]}?", item)
            canonical = key
        if canonical not in result:
            result.append(canonical)
    if len(result) > max_count:
        raise ValidationError("interests", f"at most {max_count} interests, please (got {len(result)})")
    return frozenset(result)


# --------------------------------------------------------------------------------------------------
# free text, names and ids


def parse_goals(text: str | None) -> str:
    goals = (text or "").strip()
    if len(goals) > MAX_GOALS_LENGTH:
        raise ValidationError("goals", f"must be at most {MAX_GOALS_LENGTH} characters (got {len(goals)})")
    if _has_control_chars(goals, allow_newlines=True):
        raise ValidationError("goals", "contains characters that cannot be shown")
    return goals


def parse_name(text: str | None, field: str = "name", max_length: int = MAX_NAME_LENGTH) -> str:
    name = re.sub(r"\s+", " ", text or "").strip()
    if not name:
        raise ValidationError(field, "is required")
    if len(name) > max_length:
        raise ValidationError(field, f"must be at most {max_length} characters (got {len(name)})", name)
    if _has_control_chars(name):
        raise ValidationError(field, "contains characters that cannot be shown", name)
    return name


_SNOWFLAKE = re.compile(r"\d{17,20}")


def parse_discord_id(text: str | int, field: str = "discord_id") -> int:
    """A Discord user id (a snowflake: 17 to 20 digits)."""
    raw = str(text).strip()
    if not raw:
        raise ValidationError(field, "is required (a Discord user id, 17 to 20 digits)")
    mention = re.fullmatch(r"<@!?(\d+)>", raw)
    digits = mention.group(1) if mention else raw
    if _SNOWFLAKE.fullmatch(digits) and 0 < int(digits) < 2**64:
        return int(digits)
    if re.fullmatch(r"\d(\.\d+)?[eE]\+\d+", raw):
        raise ValidationError(
            field,
            "the spreadsheet turned this id into a rounded number; format the column as text "
            "and paste the ids again",
            raw,
        )
    raise ValidationError(field, "not a Discord user id (17 to 20 digits)", raw)


def parse_member_ids(value: str | Iterable[str], field: str = "do_not_match") -> frozenset[int]:
    """A `;`-separated list of Discord user ids (may be empty)."""
    return frozenset(parse_discord_id(item, field) for item in split_list(value))


# --------------------------------------------------------------------------------------------------
# CSV output


def escape_csv_cell(value: object) -> str:
    """Neutralise spreadsheet formulas: a cell starting with =, +, -, @, tab or CR gets a leading '."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text
