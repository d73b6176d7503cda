"""Bilingual labels for codes (statuses, categories, warnings, domains …).

Labels live in ``data/labels/*.yaml``; each file maps ``kind -> code -> {zh, en}``.
Files are merged; a code defined twice is an error so two modules never
silently disagree.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

import yaml

from fzanalysis.paths import data_path

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")


@lru_cache(maxsize=1)
def labels() -> dict[str, dict[str, dict[str, str]]]:
    """Return all labels as ``{kind: {code: {"zh": ..., "en": ...}}}``."""
    merged: dict[str, dict[str, dict[str, str]]] = {}
    for path in sorted(data_path("labels").glob("*.yaml")):
        content = yaml.safe_load(path.read_text("utf-8")) or {}
        for kind, codes in content.items():
            bucket = merged.setdefault(kind, {})
            for code, text in codes.items():
                if code in bucket:
                    raise ValueError(f"{path}: label {kind}.{code} is defined twice")
                missing = [lang for lang in LANGS if not text.get(lang)]
                if missing:
                    raise ValueError(f"{path}: label {kind}.{code} lacks {', '.join(missing)}")
                bucket[code] = text
    return merged


def label(kind: str, code: str, lang: Lang = "zh") -> str:
    """Return the label of ``code`` in ``kind`` in language ``lang``.

    Raises
    ------
    KeyError
        If the kind or code has no label (never falls back silently).
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    try:
        return labels()[kind][code][lang]
    except KeyError:
        raise KeyError(f"no label for {kind}.{code}; add it to data/labels/*.yaml") from None
