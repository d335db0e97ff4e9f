"""The normalised song key that deduplicates tracks by title + artist + album.

Re-releases and re-masters of one song should count once: "Song (Remastered 2011)" by
"The Band" on "Album (Deluxe Edition)" and "song" by "the band" on "album" share a key.
Only *packaging* qualifiers are removed; "(Live)", "(Acoustic)" or "(Remix)" mark a different
performance and stay part of the key.
"""

from __future__ import annotations

import re
import unicodedata

KEY_SEPARATOR = " | "

_PACKAGING_WORDS = (
    r"remaster(?:ed)?|re-?master(?:ed)?|deluxe|expanded|anniversary|bonus(?: track)?|"
    r"mono|stereo|single version|album version|radio edit|original mix|explicit|clean|"
    r"edition|version|reissue|feat\.?|ft\.?|featuring|with"
)
# "(Remastered 2011)", "[Deluxe Edition]", "(feat. Someone)"
_BRACKETED_QUALIFIER = re.compile(
    r"\s*[\(\[][^\)\]]*\b(?:" + _PACKAGING_WORDS + r")\b[^\)\]]*[\)\]]", re.IGNORECASE
)
# "Song - Remastered 2011", "Song - 2011 Remaster", "Song - Single Version"
_DASH_QUALIFIER = re.compile(
    r"\s+-\s+(?:\d{4}\s+)?(?:" + _PACKAGING_WORDS + r")\b.*$", re.IGNORECASE
)
_FEATURING = re.compile(r"\s+(?:feat\.?|ft\.?|featuring)\s+.*$", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w]+")


def normalise_part(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = _BRACKETED_QUALIFIER.sub("", text)
    text = _DASH_QUALIFIER.sub("", text)
    text = _FEATURING.sub("", text)
    # Strip accents so "Beyoncé" and "Beyonce" meet; casefold handles "ß" and friends.
    text = "".join(
        char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char)
    )
    text = text.casefold().replace("&", " and ")
    return " ".join(_NON_WORD.sub(" ", text).split())


def song_key(*, title: str, artist: str, album: str) -> str:
    return KEY_SEPARATOR.join(normalise_part(part) for part in (title, artist, album))
