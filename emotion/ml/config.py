"""The JSON round trip of the frozen config dataclasses an artifact stores (an
architecture's config, the mean teacher's settings)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, Self


class SerialisableConfig:
    """``to_dict``/``from_dict`` for a frozen dataclass whose fields are JSON values or tuples
    of them. ``from_dict`` refuses unknown fields (an artifact of another version should fail
    loudly, not half-load) and turns JSON's lists back into the tuples the configs hold."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
