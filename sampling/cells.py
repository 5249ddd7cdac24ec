"""Quota cells: district x age band x sex, numbered in one canonical order."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BAND = re.compile(r"^\s*(\d{1,3})\s*(?:-\s*(\d{1,3})|\+)\s*$")
OPEN_BAND_TOP = 120  # the oldest age a "65+" band admits


@dataclass(frozen=True, slots=True)
class AgeBand:
    """An age band such as ``18-34`` or ``65+`` (inclusive bounds)."""

    label: str
    low: int
    high: int

    def contains(self, age: int) -> bool:
        return self.low <= age <= self.high


def parse_age_band(label: str) -> AgeBand:
    """Parse ``18-34`` or ``65+``; raise ``ValueError`` naming the label."""
    match = _BAND.match(label)
    if not match:
        raise ValueError(f"age band {label!r} is not of the form '18-34' or '65+'")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) else OPEN_BAND_TOP
    if high < low:
        raise ValueError(f"age band {label!r} ends before it starts")
    return AgeBand(label.strip(), low, high)


@dataclass(frozen=True, slots=True)
class CellKey:
    """One quota cell."""

    district: str
    age_band: str
    sex: str

    def __str__(self) -> str:
        return f"{self.district}/{self.age_band}/{self.sex}"

    @classmethod
    def parse(cls, text: str) -> CellKey:
        """Parse ``district/age_band/sex``."""
        parts = text.split("/")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise ValueError(f"cell {text!r} is not of the form 'district/age_band/sex'")
        district, band, sex = (p.strip() for p in parts)
        return cls(district, band, sex)


@dataclass(frozen=True, slots=True)
class CellGrid:
    """The survey's cells in canonical order: district, then age band, then sex."""

    districts: tuple[str, ...]
    age_bands: tuple[AgeBand, ...]
    sexes: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.districts) * len(self.age_bands) * len(self.sexes)

    def cells(self) -> list[CellKey]:
        return [
            CellKey(d, b.label, s)
            for d in self.districts
            for b in self.age_bands
            for s in self.sexes
        ]

    def index(self, key: CellKey) -> int:
        """The cell's position in canonical order; ``KeyError`` if it is not in the grid."""
        try:
            d = self.districts.index(key.district)
            b = [band.label for band in self.age_bands].index(key.age_band)
            s = self.sexes.index(key.sex)
        except ValueError:
            raise KeyError(str(key)) from None
        return (d * len(self.age_bands) + b) * len(self.sexes) + s

    def band_for_age(self, age: int) -> AgeBand | None:
        """The band holding ``age``, or None when no band does."""
        for band in self.age_bands:
            if band.contains(age):
                return band
        return None

    def band(self, label: str) -> AgeBand | None:
        for band in self.age_bands:
            if band.label == label:
                return band
        return None
