"""Seeded synthetic cohorts that look like an international librarians' round.

- a long tail of ~130 countries (Zipf-like: a handful of countries bring most applicants, dozens
  bring one or two), each person in one of their country's IANA zones (from tzdata's zone.tab);
- English for most, plus the country's languages; some people speak only their local language;
- skewed interest popularity (a few topics everyone picks, a long tail of rare ones, and some free
  words), sectors, career stages and match preferences in plausible proportions;
- some match history (returning participants with past partners) and a few do-not-match entries.

Used by the benchmark and usable from tests: `generate_cohort(n, seed)`.
"""

from __future__ import annotations

import importlib.resources
import random
from dataclasses import dataclass, field

from bot.matching import Applicant, MatchRequest

# (country, languages spoken there besides English, share of people who also speak English)
COUNTRIES: list[tuple[str, tuple[str, ...], float]] = [
    ("AU", (), 1.0),
    ("US", ("es",), 1.0),
    ("GB", (), 1.0),
    ("CA", ("fr",), 1.0),
    ("NZ", ("mi",), 1.0),
    ("IN", ("hi", "ta", "bn"), 0.95),
    ("PH", ("tl",), 0.95),
    ("NG", ("yo", "ha"), 0.98),
    ("ZA", ("af", "zu"), 0.98),
    ("KE", ("sw",), 0.95),
    ("IE", ("ga",), 1.0),
    ("MY", ("ms", "zh"), 0.9),
    ("PK", ("ur",), 0.85),
    ("SG", ("zh", "ms"), 1.0),
    ("GH", (), 1.0),
    ("UG", ("sw",), 0.95),
    ("ES", ("es", "ca"), 0.6),
    ("MX", ("es",), 0.55),
    ("BR", ("pt",), 0.6),
    ("DE", ("de",), 0.85),
    ("FR", ("fr",), 0.7),
    ("IT", ("it",), 0.7),
    ("NL", ("nl",), 0.95),
    ("CO", ("es",), 0.5),
    ("AR", ("es",), 0.55),
    ("CL", ("es",), 0.5),
    ("PE", ("es",), 0.5),
    ("JP", ("ja",), 0.6),
    ("CN", ("zh",), 0.6),
    ("KR", ("ko",), 0.7),
    ("ID", ("id",), 0.7),
    ("VN", ("vi",), 0.65),
    ("TH", ("th",), 0.65),
    ("BD", ("bn",), 0.85),
    ("LK", ("si", "ta"), 0.85),
    ("NP", ("ne",), 0.8),
    ("TZ", ("sw",), 0.8),
    ("ZW", ("sn",), 0.98),
    ("ZM", (), 1.0),
    ("ET", ("am",), 0.8),
    ("EG", ("ar",), 0.7),
    ("MA", ("ar", "fr"), 0.5),
    ("TN", ("ar", "fr"), 0.5),
    ("DZ", ("ar", "fr"), 0.4),
    ("SA", ("ar",), 0.75),
    ("AE", ("ar",), 0.9),
    ("JO", ("ar",), 0.75),
    ("LB", ("ar", "fr"), 0.7),
    ("IR", ("fa",), 0.6),
    ("TR", ("tr",), 0.65),
    ("IL", ("he",), 0.9),
    ("GR", ("el",), 0.8),
    ("PT", ("pt",), 0.8),
    ("SE", ("sv",), 0.98),
    ("NO", ("no",), 0.98),
    ("DK", ("da",), 0.98),
    ("FI", ("fi", "sv"), 0.95),
    ("PL", ("pl",), 0.8),
    ("CZ", ("cs",), 0.8),
    ("HU", ("hu",), 0.75),
    ("RO", ("ro",), 0.8),
    ("UA", ("uk", "ru"), 0.7),
    ("RU", ("ru",), 0.5),
    ("HR", ("hr",), 0.85),
    ("RS", ("sr",), 0.8),
    ("BG", ("bg",), 0.75),
    ("SK", ("sk",), 0.8),
    ("SI", ("sl",), 0.9),
    ("EE", ("et",), 0.9),
    ("LV", ("lv",), 0.85),
    ("LT", ("lt",), 0.85),
    ("IS", ("is",), 0.98),
    ("BE", ("nl", "fr"), 0.9),
    ("CH", ("de", "fr", "it"), 0.9),
    ("AT", ("de",), 0.9),
    ("SN", ("fr", "wo"), 0.4),
    ("CI", ("fr",), 0.4),
    ("CM", ("fr",), 0.7),
    ("CD", ("fr", "sw"), 0.4),
    ("RW", ("rw", "fr"), 0.8),
    ("MG", ("mg", "fr"), 0.4),
    ("BJ", ("fr",), 0.4),
    ("ML", ("fr",), 0.3),
    ("MZ", ("pt",), 0.5),
    ("AO", ("pt",), 0.5),
    ("NA", ("af",), 1.0),
    ("BW", ("tn",), 1.0),
    ("MW", ("ny",), 0.98),
    ("SL", (), 1.0),
    ("LR", (), 1.0),
    ("GM", (), 1.0),
    ("SD", ("ar",), 0.6),
    ("JM", (), 1.0),
    ("TT", (), 1.0),
    ("BB", (), 1.0),
    ("BS", (), 1.0),
    ("GY", (), 1.0),
    ("CU", ("es",), 0.4),
    ("DO", ("es",), 0.5),
    ("HT", ("fr", "ht"), 0.4),
    ("PR", ("es",), 0.8),
    ("EC", ("es",), 0.5),
    ("BO", ("es",), 0.45),
    ("PY", ("es",), 0.45),
    ("UY", ("es",), 0.6),
    ("VE", ("es",), 0.5),
    ("CR", ("es",), 0.7),
    ("GT", ("es",), 0.45),
    ("SV", ("es",), 0.45),
    ("HN", ("es",), 0.45),
    ("NI", ("es",), 0.45),
    ("PA", ("es",), 0.6),
    ("FJ", ("fj",), 1.0),
    ("PG", ("tpi",), 1.0),
    ("WS", ("sm",), 1.0),
    ("TO", ("to",), 1.0),
    ("HK", ("zh",), 0.95),
    ("TW", ("zh",), 0.75),
    ("MN", ("mn",), 0.6),
    ("KZ", ("kk", "ru"), 0.6),
    ("UZ", ("uz", "ru"), 0.5),
    ("GE", ("ka",), 0.7),
    ("AM", ("hy", "ru"), 0.7),
    ("AZ", ("az",), 0.6),
    ("KH", ("km",), 0.7),
    ("MM", ("my",), 0.7),
    ("LA", ("lo",), 0.6),
    ("AF", ("fa", "ps"), 0.6),
    ("IQ", ("ar",), 0.6),
    ("QA", ("ar",), 0.9),
    ("KW", ("ar",), 0.85),
    ("OM", ("ar",), 0.85),
    ("CY", ("el", "tr"), 0.95),
    ("MT", ("mt",), 1.0),
    ("LU", ("fr", "de"), 0.95),
    ("MU", ("fr",), 0.95),
    ("BT", ("dz",), 0.9),
    ("MV", ("dv",), 0.9),
]

INTERESTS = [
    "information literacy",
    "open access",
    "digital preservation",
    "cataloguing",
    "metadata",
    "research data management",
    "children's services",
    "community engagement",
    "outreach",
    "scholarly communication",
    "library marketing",
    "special collections",
    "archives",
    "copyright",
    "digital humanities",
    "user experience",
    "library leadership",
    "advocacy",
    "reading promotion",
    "collection development",
    "e-resources",
    "open science",
    "repositories",
    "bibliometrics",
    "teaching",
    "accessibility",
    "diversity and inclusion",
    "library design",
    "makerspaces",
    "data literacy",
    "ai in libraries",
    "systematic reviews",
    "health librarianship",
    "law librarianship",
    "indigenous knowledge",
    "early literacy",
    "teen services",
    "rare books",
    "oral history",
    "local history",
    "genealogy",
    "government information",
    "technical services",
    "library systems",
    "web archiving",
    "social media",
    "volunteer management",
    "mobile libraries",
    "rural libraries",
    "refugee services",
    "music libraries",
    "art libraries",
    "map collections",
    "knowledge management",
    "records management",
    "misinformation",
    "sustainability",
    "library assessment",
    "professional development",
    "interlibrary loan",
]
FREE_WORDS = [
    "seed libraries",
    "zines",
    "comics",
    "board games",
    "prison libraries",
    "hospital libraries",
    "braille",
    "podcasting",
    "wikipedia",
    "citizen science",
    "sign language",
    "poetry",
    "chess",
    "manuscripts",
    "photography",
    "film archives",
    "beekeeping",
    "linked data",
    "open educational resources",
    "library history",
    "storytelling",
    "puppetry",
    "coding clubs",
    "esports",
    "tool libraries",
]
SECTORS = (
    ("academic", 40),
    ("public", 22),
    ("special", 13),
    ("school", 10),
    ("government", 10),
    ("other", 5),
)
STAGES = (("student", 10), ("early", 35), ("mid", 35), ("senior", 20))
PREFERENCES = (("interests", 60), ("career_stage", 20), ("open", 20))


@dataclass
class Cohort:
    applicants: list[Applicant]
    history_pairs: set[tuple[int, int]] = field(default_factory=set)

    def request(self, **kwargs) -> MatchRequest:
        return MatchRequest(
            applicants=tuple(self.applicants), history_pairs=frozenset(self.history_pairs), **kwargs
        )


def _zones_by_country() -> dict[str, list[str]]:
    text = (importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    zones: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _, zone = line.split("\t")[:3]
            zones.setdefault(code, []).append(zone)
    return zones


def _choose(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def generate_cohort(
    n: int, seed: int = 0, history_share: float = 0.35, do_not_match_share: float = 0.005
) -> Cohort:
    rng = random.Random(seed)
    zones = _zones_by_country()
    country_weights = [1 / (rank + 1) ** 1.05 for rank in range(len(COUNTRIES))]
    interest_weights = [1 / (rank + 1) ** 0.9 for rank in range(len(INTERESTS))]
    ids = sorted(rng.sample(range(10**17, 10**18), n))
    people = []
    for index, member_id in enumerate(ids):
        country, local, english = rng.choices(COUNTRIES, weights=country_weights)[0]
        country_zones = zones.get(country, ["UTC"])
        zone = country_zones[0] if rng.random() < 0.7 else rng.choice(country_zones)
        languages = set()
        if local:
            languages.add(local[0] if rng.random() < 0.8 else rng.choice(local))
        if not local or rng.random() < english:
            languages.add("en")
        if rng.random() < 0.1:
            languages.add(rng.choice(["fr", "es", "de", "ar", "pt", "zh", "ru"]))
        count = rng.choice([2, 3, 3, 4, 4, 5, 6])
        interests = set()
        while len(interests) < count:
            if rng.random() < 0.06:
                interests.add(rng.choice(FREE_WORDS))
            else:
                interests.add(rng.choices(INTERESTS, weights=interest_weights)[0])
        people.append(
            Applicant(
                member_id=member_id,
                name=f"Participant {index + 1}",
                country=country,
                timezone=zone,
                languages=frozenset(languages),
                sector=_choose(rng, SECTORS),
                career_stage=_choose(rng, STAGES),
                interests=frozenset(interests),
                goals="",
                match_preference=_choose(rng, PREFERENCES),
            )
        )
    history: set[tuple[int, int]] = set()
    returning = [p for p in people if rng.random() < history_share]
    for _round in range(2):
        rng.shuffle(returning)
        for a, b in zip(returning[0::2], returning[1::2], strict=False):
            if a.country != b.country and a.languages & b.languages:
                history.add((min(a.member_id, b.member_id), max(a.member_id, b.member_id)))
    final = []
    for person in people:
        if rng.random() < do_not_match_share:
            other = rng.choice(people).member_id
            if other != person.member_id:
                person = Applicant(**{**_fields(person), "do_not_match": frozenset({other})})
        final.append(person)
    return Cohort(final, history)


def _fields(person: Applicant) -> dict:
    return {name: getattr(person, name) for name in Applicant.__slots__}


def make_applicant(member_id: int, **overrides) -> Applicant:
    """One synthetic applicant with sensible defaults, for tests: English, academic, mid-career."""
    fields = {
        "member_id": member_id,
        "name": f"Person {member_id}",
        "country": "GB",
        "timezone": "Europe/London",
        "languages": frozenset({"en"}),
        "sector": "academic",
        "career_stage": "mid",
        "interests": frozenset(),
        "goals": "",
        "match_preference": "interests",
        "do_not_match": frozenset(),
    }
    fields.update(overrides)
    for name in ("languages", "interests", "do_not_match"):
        fields[name] = frozenset(fields[name])
    return Applicant(**fields)
