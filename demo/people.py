"""Who the demo simulates: companies, their buying committees, and each person's devices."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

__all__ = ["BOT_AGENTS", "Company", "Device", "Person", "make_companies", "seeded_uuid"]

_PREFIXES = (
    "north", "blue", "iron", "bright", "clear", "swift", "silver", "stone", "red", "green", "peak",
    "open", "true", "deep", "sun", "harbor", "cedar", "orbit", "vector", "quantum", "atlas", "nova",
)  # fmt: skip
_SUFFIXES = (
    "wind", "field", "path", "works", "stack", "logic", "forge", "labs", "point", "bridge", "line",
    "grid", "scale", "ware", "signal", "cloud", "metrics", "systems", "freight", "health", "bank",
)  # fmt: skip
_TLDS = ("com", "com", "com", "io", "co", "net")
_FIRST = (
    "ada", "alan", "grace", "linus", "maria", "noor", "omar", "priya", "sofia", "tariq", "yuki",
    "chen", "elena", "felix", "hana", "ivan", "jonas", "kemi", "lars", "mei", "nina", "raul",
)  # fmt: skip
_LAST = (
    "lovelace", "turing", "hopper", "okafor", "silva", "nakamura", "ivanova", "khan", "muller",
    "garcia", "rossi", "dubois", "kowalski", "larsen", "novak", "patel", "smith", "tanaka",
)  # fmt: skip
_TITLES = ("VP Marketing", "Head of Demand Gen", "CMO", "Marketing Ops", "RevOps Lead", "CFO", "Data Lead")
_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
)  # fmt: skip
BOT_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
)  # fmt: skip
_COUNTRIES = ("US", "US", "US", "GB", "DE", "FR", "NL", "CA", "AU", "IN")


def seeded_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng``, so event ids repeat exactly for a seed."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True, slots=True)
class Device:
    anonymous_id: str
    user_agent: str
    identified: bool  # whether this device ever tells us who uses it (form, login, webinar)


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    name: str
    title: str
    devices: tuple[Device, ...]


@dataclass(frozen=True, slots=True)
class Company:
    domain: str
    name: str
    country: str
    employees: int
    committee: tuple[Person, ...]


def _domain(rng: random.Random, taken: set[str]) -> tuple[str, str]:
    for attempt in range(1_000_000):
        stem = rng.choice(_PREFIXES) + rng.choice(_SUFFIXES)
        if attempt > 20:  # the word pairs run out past ~1,800 accounts
            stem += str(rng.randint(2, 9999))
        domain = f"{stem}.{rng.choice(_TLDS)}"
        if domain not in taken:
            taken.add(domain)
            return domain, stem.capitalize()
    raise AssertionError("unreachable: numbered stems never run out")


def _person(rng: random.Random, domain: str, used: set[str]) -> Person:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    local = f"{first}.{last}"
    while f"{local}@{domain}" in used:
        local += str(rng.randint(0, 9))
    email = f"{local}@{domain}"
    used.add(email)
    devices = tuple(
        Device(seeded_uuid(rng), rng.choice(_AGENTS), identified=rng.random() < 0.8)
        for _ in range(rng.choice((1, 1, 2, 2, 3)))
    )
    return Person(email, f"{first.capitalize()} {last.capitalize()}", rng.choice(_TITLES), devices)


def make_companies(rng: random.Random, n: int) -> list[Company]:
    """``n`` companies with unique domains and buying committees of 3-6 people."""
    taken: set[str] = set()
    out = []
    for _ in range(n):
        domain, name = _domain(rng, taken)
        used: set[str] = set()
        committee = tuple(_person(rng, domain, used) for _ in range(rng.randint(3, 6)))
        out.append(Company(domain, name, rng.choice(_COUNTRIES), rng.choice((50, 200, 800, 3000)), committee))
    return out
