"""Dates in file names: the naming conventions of cameras, phones, apps and tools, specific first.

Every matcher is case-insensitive, finds its date anywhere in the name and wants a non-digit (or the
end) on both sides, so no date is read from the middle of a longer number. Each field is range-checked;
fractional seconds are dropped; ``AM``/``PM`` (or Korean's and Chinese's words for them) turns a
12-hour clock into 24 hours. Two-digit years are read only in the formats known to use them
(Nextcloud's ``21-05-07 10-11-12 1234.jpg``, PicsArt's ``Picsart_23-09-11_10-15-30-123.jpg``);
day-first only where the format says so (Telegram's chat export) or the numbers do
(``autotag.dateparse.dayfirst``).

Deliberately not read: day-month orders two readings fit (``07-05-2021``: which is the month?), years
without a day, counters (``DSC01234``), 16-digit runs (a console's ``2023040110153000-<hash>``: a stamp
we cannot check), hex hashes and UUIDs (a date-looking run inside one is masked first), the time a sync
tool gives a conflicting copy (``.sync-conflict-20230912-101530-ABCDEF1``), and download ids.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta

from autotag.dateparse.dayfirst import Span, spelled, unambiguous
from autotag.dateparse.model import FoundDate, clock, from_epoch, valid_day, wall

# Android moves deleted and half-written files to ".trashed-<expiry>-NAME" / ".pending-<expiry>-NAME":
# the number is when the trash empties, not when the photo was taken.
_TRASHED = re.compile(r"^\.(?:trashed|pending)-\d+-", re.I)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_HEX = re.compile(r"(?<![0-9a-f])[0-9a-f]{16,}(?![0-9a-f])", re.I)
_HEXISH = re.compile(r"[0-9a-f]{16}|[0-9a-f]{8}-[0-9a-f]{4}-", re.I)
# every matcher needs a year 19xx/20xx, ten digits, Nextcloud's "21-05-07 10-11-12" or PicsArt's
# "23-09-11_10": a quick test first
_ANY_DATE = re.compile(r"(?:19|20)\d\d|\d{10}|\d\d-\d\d-\d\d[ _]\d")
_SPACES = re.compile(r"[\u00a0\u2000-\u200b\u202f\u205f\u3000]")
# invisible marks some systems put into names (macOS's left-to-right mark before AM/PM, a BOM)
_INVISIBLE = re.compile(r"[\u200c-\u200f\u2066-\u2069\ufeff]")

_PIXEL = re.compile(r"(?<![0-9a-z])pxl_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})(?:\d{3})?(?!\d)", re.I)
# Pixel and Google Camera bursts: 00000IMG_00000_BURST20180703150540495_COVER.jpg
_BURST = re.compile(r"burst(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\d{3})?(?!\d)", re.I)
_WHATSAPP = re.compile(r"(?<![0-9a-z])(?:img|vid|aud|ptt|stk|doc)-(\d{4})(\d{2})(\d{2})-wa\d+", re.I)
_WP_TIME = re.compile(r"(?<![0-9a-z])wp_(\d{4})(\d{2})(\d{2})_(\d{2})_(\d{2})_(\d{2})(?!\d)", re.I)
_WP_DAY = re.compile(r"(?<![0-9a-z])wp_(\d{4})(\d{2})(\d{2})_\d{1,4}(?!\d)", re.I)
_NEXTCLOUD = re.compile(r"(\d{2})-(\d{2})-(\d{2}) (\d{2})-(\d{2})-(\d{2})(?: \d+)?", re.I)
# Telegram Desktop's chat export: photo_12@25-12-2021_10-11-12.jpg, always day first
_TELEGRAM_EXPORT = re.compile(
    r"(?<![0-9a-z])(?:photo|video|file|sticker|animation|round_video_message|voice_message|audio_file)"
    r"_\d+@(\d{2})-(\d{2})-(\d{4})_(\d{2})-(\d{2})-(\d{2})(?!\d)",
    re.I,
)
# PicsArt since 2021: Picsart_23-09-11_10-15-30-123.jpg, the one other format with a two-digit year (first)
_PICSART = re.compile(
    r"(?<![0-9a-z])picsart_(\d{2})-(\d{2})-(\d{2})_(\d{2})-(\d{2})-(\d{2})(?:-\d{1,3})?(?![\d-])", re.I
)
# every field apart, even the date's: "IMG 2001 02 03 04 05 06.jpg" (read only with its time)
_SPACED = re.compile(r"(?<![\d.:-])((?:19|20)\d{2}) (\d{2}) (\d{2}) (\d{2}) (\d{2}) (\d{2})(?![\d.:-])")
# dashcams and action cameras (Viofo, SJCAM): 2023_0911_101530_001.MOV
_DASHCAM = re.compile(r"(?<![0-9a-z])((?:19|20)\d{2})_(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})(?!\d)", re.I)

_DATE = r"(?<!\d)(?P<Y>(?:19|20)\d{2})(?P<s1>[-_.:]?)(?P<m>\d{2})(?P=s1)(?P<d>\d{2})"
# between the day and the time: a separator, the word localised screenshot names put there, or the
# morning/afternoon word of Korean, Chinese and Japanese macOS names ("2023-09-11 오후 3.15.30")
# (Russian "в", Ukrainian "\u043e": Cyrillic letters)
_WORDS = r"at|um|à|om|a las|kl\.?|alle|às|o|в|\u043e|v|kello|klo"
_MERIDIEM_WORDS = {"오전": "a", "오후": "p", "上午": "a", "下午": "p", "午前": "a", "午後": "p"}
_JOIN = (
    rf"(?P<sep>\s+(?:{_WORDS})\s+|\s*(?P<ap0>{'|'.join(_MERIDIEM_WORDS)})\s*|\s+-\s+|,\s+|_-|_{{2,3}}|[ _t.-]|\s+|)"
)
_TIME = (
    r"(?P<H>\d{1,2})(?P<s2>[-_.: ]?)(?P<M>\d{2})(?P=s2)(?P<S>\d{2})"
    # milliseconds, or a fraction of up to 3 digits (more only before a zone: ISO's "10:15:30.123456Z")
    r"(?:(?P<ms>\d{3})|[.,_-]\d{1,3}(?![\d:])|[.,]\d{4,9}(?=z|[+-]\d))?"
    # a zone after the time: Z, +0200, +02:00, -05:00, or -0500 (read as a zone only after an ISO-looking
    # time, 12:34:56-0330 or T123456-0330: after 153000 a dash and four digits is more often a counter)
    r"(?:(?P<z>z)|(?P<off>\+(?:0\d|1[0-4]):?[0-5]\d|-(?:0\d|1[0-2]):?[0-5]\d))?"
    r"(?:\s?(?P<ap>[ap])\.?m\.?(?![a-z]))?(?!\d)"
)
_DATETIME = re.compile(_DATE + _JOIN + _TIME, re.I)
_TIME_AFTER = re.compile(_JOIN + _TIME, re.I)
# what looks like a zone but is none (+24:00, +02:60): the time's zone is unknown, so no time is read
_BAD_ZONE = re.compile(r"\+\d\d:?\d\d(?!\d)|-\d\d:\d\d(?!\d)")
_BAD_ISO_ZONE = re.compile(r"-\d{4}(?!\d)")  # the time after a day written another way (25.12.2021 10.11.12)
_DAY = re.compile(_DATE + r"(?!\d)", re.I)
# what may follow a day for it to be read as a day only: not a time that failed its checks
# (IMG_20180202_0930001.jpg, 2021-12-24 25.61.00.jpg); BlackBerry's "IMG-20130405-00123" is a counter
_BROKEN_TIME = re.compile(
    r"(?!-\d{5}(?!\d))(?:\s+(?:" + _WORDS + r")\s+|\s+-\s+|[-_ t.])?"
    r"(?:\d{5,}|\d{1,2}[-_.:]\d{2}[-_.:]\d{2})",
    re.I,
)
_UNIX = re.compile(r"(?<!\d)(\d{13}|\d{10})(?!\d)")
# Unix timestamps are read between 2001-01-01 and 2030-01-01 only: outside that a 10- or 13-digit run
# is far more likely a phone number or an id than a time.
_UNIX_MIN, _UNIX_MAX = 978_307_200, 1_893_456_000
# Apps that name files with random numbers of a timestamp's length: Snapchat, Facebook's and
# Instagram's downloads (271828182_10158123456789012_3141592653589793238_n.jpg: ids, not times) and
# Flickr's (1234567890_8826e9d146_b.jpg: the photo's id and secret).
_RANDOM_NUMBERS = re.compile(
    r"^snapchat-\d+|^\d{6,}_\d{6,}_\d{6,}_[a-z]$|(?<![0-9a-z])\d{6,}_[0-9a-f]{10}(?:_[a-z0-9])?$", re.I
)
# What sync tools add to a copy's name: the time of the conflict, not of the photo. Syncthing's
# NAME.sync-conflict-20230912-101530-ABCDEF1.jpg, Dropbox's and Nextcloud's "NAME (… conflicted copy 2023-09-12).jpg"
# (German "In Konflikt stehende Kopie", French "copie en conflit", Italian "copia in conflitto", ...).
_CONFLICT = re.compile(
    r"\.sync-conflict-\d{8}-\d{6}(?:-[0-9a-z]+)?|\s*\([^()]*[ck]onfli[a-z]*[^()]*\)", re.I
)

# matched against the lower-cased name: without re.I, Python's engine runs these alternations 3-8x faster
_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("screen_recording", re.compile(
        r"screen[ _-]?record|screenrecord|screencast|rpreplay|bildschirmaufnahme|"
        r"enregistrement de l.écran|schermopname|grabación de pantalla|^screen-|^record_|"
        r"gravação de tela|registrazione schermo|nagranie ekranu|skærmoptagelse|skärminspelning|"
        r"запись экрана|画面収録|屏幕录制|录屏|화면 기록")),
    ("screenshot", re.compile(
        r"screen ?shot|screenshot|bildschirmfoto|capture d.écran|schermafbeelding|captura de pantalla|"
        r"skärmavbild|snímek obrazovky|zrzut ekranu|ekran görüntüsü|schermata|näyttökuva|skjermbilde|"
        r"captura de tela|skærmbillede|kuvakaappaus|képernyőfotó|ekran resmi|"
        r"снимок экрана|знімок екрана|スクリーンショット|截屏|截图|屏幕截图|스크린샷")),
    ("whatsapp", re.compile(r"whatsapp")),
    ("signal", re.compile(r"^signal-")),
    ("telegram", re.compile(r"^(?:photo|video|file|sticker|animation)_\d{4}-\d{2}-\d{2}|telegram")),
    ("windows_camera", re.compile(r"(?<![a-z])win_")),
    ("windows_phone", re.compile(r"(?<![a-z])wp_")),
    ("drone", re.compile(r"(?<![a-z])(?:dji|hover|autel|skydio|parrot|anafi)[_-]")),
    ("burst", re.compile(r"burst")),
    ("motion", re.compile(r"(?<![a-z])mvimg|[._]mp(?:[._~]|$)|motion")),
    ("app_export", re.compile(
        r"(?<![a-z])(?:resized|download|downloaded|edited|export|snapseed|picsart|inshot|collage|received|"
        r"fb_img|mmexport|wx_camera|micromsg|instasize|vsco|polarr|faceapp|b612|retrica|lightx|pixlr|"
        r"canva|photoroom|copy of|kakaotalk|line_|viber|messenger)")),
)
_LIGHTROOM = re.compile(r"^[-_ ]+(?:dsc[fn_]?|img|_mg|p\d|gopr|dji|iphone|nikon|canon|sony|fuji)", re.I)
_CAMERA_PREFIX = re.compile(
    r"(?:^|[^a-z])(?:img|vid|pano|mvimg|dsc|pict|photo|video|mov|cimg|imag|picture|pic|camera|cam)[_ -]?$", re.I
)


def _family(text: str, start: int, end: int, *, has_time: bool, compact: bool, iso_t: bool = False) -> str:
    lower = text.lower()
    for name, pattern in _KEYWORDS:
        if pattern.search(lower):
            return name
    prefix = text[:start]
    if not prefix and not has_time and _LIGHTROOM.match(text[end:]):
        return "lightroom"
    if _CAMERA_PREFIX.search(prefix) or (not prefix and compact and has_time and not iso_t):
        return "camera"
    return "iso" if has_time else "date_only"


def _mask(text: str) -> str:
    """Hashes and UUIDs blanked out (same length), so no date is read from inside one."""
    if not _HEXISH.search(text):
        return text
    text = _UUID.sub(lambda m: "#" * len(m.group()), text)

    def hex_run(m: re.Match[str]) -> str:
        run = m.group()
        return "#" * len(run) if re.search(r"[a-f]", run, re.I) and re.search(r"\d", run) else run

    return _HEX.sub(hex_run, text)


def _ints(m: re.Match[str], *groups: int) -> list[int]:
    return [int(m.group(g)) for g in groups]


def _pixel(text: str) -> FoundDate | None:
    m = _PIXEL.search(text)
    if m:
        y, mo, d, hh, mi, ss = _ints(m, 1, 2, 3, 4, 5, 6)
        t = clock(hh, mi, ss, None)
        if valid_day(y, mo, d) and t:
            return FoundDate(wall(y, mo, d, *t), "time", True, "pixel")
    return None


def _burst(text: str) -> FoundDate | None:
    m = _BURST.search(text)
    if m:
        y, mo, d, hh, mi, ss = _ints(m, 1, 2, 3, 4, 5, 6)
        t = clock(hh, mi, ss, None)
        if valid_day(y, mo, d) and t:
            return FoundDate(wall(y, mo, d, *t), "time", False, "burst")
    return None


def _whatsapp(text: str) -> FoundDate | None:
    m = _WHATSAPP.search(text)
    if m:
        y, mo, d = _ints(m, 1, 2, 3)
        if valid_day(y, mo, d):
            return FoundDate(f"{y:04d}-{mo:02d}-{d:02d}", "day", False, "whatsapp")
    return None


def _windows_phone(text: str) -> FoundDate | None:
    m = _WP_TIME.search(text)
    if m:
        y, mo, d, hh, mi, ss = _ints(m, 1, 2, 3, 4, 5, 6)
        t = clock(hh, mi, ss, None)
        if valid_day(y, mo, d) and t:
            return FoundDate(wall(y, mo, d, *t), "time", False, "windows_phone")
        return None
    m = _WP_DAY.search(text)
    if m:
        y, mo, d = _ints(m, 1, 2, 3)
        if valid_day(y, mo, d):
            return FoundDate(f"{y:04d}-{mo:02d}-{d:02d}", "day", False, "windows_phone")
    return None


def _nextcloud(stem: str) -> FoundDate | None:
    m = _NEXTCLOUD.fullmatch(stem)
    if m:
        yy, mo, d, hh, mi, ss = _ints(m, 1, 2, 3, 4, 5, 6)
        t = clock(hh, mi, ss, None)
        if valid_day(2000 + yy, mo, d) and t:
            return FoundDate(wall(2000 + yy, mo, d, *t), "time", False, "nextcloud")
    return None


def _telegram_export(text: str) -> FoundDate | None:
    m = _TELEGRAM_EXPORT.search(text)
    if m:
        d, mo, y, hh, mi, ss = _ints(m, 1, 2, 3, 4, 5, 6)
        t = clock(hh, mi, ss, None)
        if valid_day(y, mo, d) and t:
            return FoundDate(wall(y, mo, d, *t), "time", False, "telegram")
    return None


def _picsart(text: str) -> FoundDate | None:
    m = _PICSART.search(text)
    if m:
        yy, mo, d, hh, mi, ss = _ints(m, 1, 2, 3, 4, 5, 6)
        t = clock(hh, mi, ss, None)
        if valid_day(2000 + yy, mo, d) and t:
            return FoundDate(wall(2000 + yy, mo, d, *t), "time", False, "app_export")
    return None


def _spaced(text: str) -> FoundDate | None:
    m = _SPACED.search(text)
    if m:
        y, mo, d, hh, mi, ss = _ints(m, 1, 2, 3, 4, 5, 6)
        t = clock(hh, mi, ss, None)
        if valid_day(y, mo, d) and t:
            family = _family(text, m.start(), m.end(), has_time=True, compact=False)
            return FoundDate(wall(y, mo, d, *t), "time", False, family)
    return None


def _dashcam(text: str) -> FoundDate | None:
    m = _DASHCAM.search(text)
    if m:
        y, mo, d, hh, mi, ss = _ints(m, 1, 2, 3, 4, 5, 6)
        t = clock(hh, mi, ss, None)
        if valid_day(y, mo, d) and t:
            family = _family(text, m.start(), m.end(), has_time=True, compact=True)
            return FoundDate(wall(y, mo, d, *t), "time", False, family)
    return None


def _datetime(text: str) -> FoundDate | None:
    for m in _DATETIME.finditer(text):
        compact = m.group("s1") == ""
        if m.group("sep") == "" and not (compact and m.group("s2") == ""):
            continue  # 2021-05-07153000: no
        if len(m.group("H")) == 1 and (m.group("s2") == "" or m.group("sep") == ""):
            continue  # a one-digit hour only in "at 7.12.05 PM"
        if m.group("ms") and m.group("s2"):
            continue
        y, mo, d = int(m.group("Y")), int(m.group("m")), int(m.group("d"))
        meridiem = m.group("ap") or _MERIDIEM_WORDS.get(m.group("ap0") or "")
        if m.group("ap") and m.group("ap0"):
            continue  # 오후 3.15.30 PM: not a name any system writes
        t = clock(int(m.group("H")), int(m.group("M")), int(m.group("S")), meridiem)
        if not (valid_day(y, mo, d) and t):
            continue
        iso_zone = m.group("s2") == ":" or m.group("sep").lower() == "t"
        offset = m.group("off")
        if offset and offset[0] == "-" and ":" not in offset and not iso_zone:
            offset = None  # 20190412_153000-0001: a counter
        elif not (offset or m.group("z")) and (
            _BAD_ZONE.match(text, m.end()) or (iso_zone and _BAD_ISO_ZONE.match(text, m.end()))
        ):
            continue
        value = wall(y, mo, d, *t)
        if offset:
            value = _to_utc(value, offset)
        instant = bool(m.group("z") or offset)
        family = _family(
            text, m.start(), m.end(), has_time=True, compact=compact, iso_t=m.group("sep").lower() == "t"
        )
        return FoundDate(value, "time", instant, family)
    return None


def _to_utc(local: str, offset: str) -> str:
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
    return (datetime.fromisoformat(local) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S")


def _day(text: str) -> FoundDate | None:
    for m in _DAY.finditer(text):
        y, mo, d = int(m.group("Y")), int(m.group("m")), int(m.group("d"))
        if not valid_day(y, mo, d) or _BROKEN_TIME.match(text, m.end()):
            continue
        family = _family(text, m.start(), m.end(), has_time=False, compact=m.group("s1") == "")
        return FoundDate(f"{y:04d}-{mo:02d}-{d:02d}", "day", False, family)
    return None


def _unix(stem: str) -> FoundDate | None:
    if _RANDOM_NUMBERS.search(stem):
        return None
    for m in _UNIX.finditer(stem):
        digits = m.group(1)
        seconds = int(digits) // (1000 if len(digits) == 13 else 1)
        if _UNIX_MIN <= seconds < _UNIX_MAX:
            return FoundDate(from_epoch(seconds), "time", True, "unix")
    return None


def _written_day(text: str, span: Span | None) -> FoundDate | None:
    """A day from ``autotag.dateparse.dayfirst``, with the wall-clock time after it if one follows."""
    if span is None:
        return None
    y, mo, d, start, end = span
    m = _TIME_AFTER.match(text, end)
    if m and m.group("sep") and not (m.group("z") or m.group("off") or m.group("ms")):
        meridiem = m.group("ap") or _MERIDIEM_WORDS.get(m.group("ap0") or "")
        t = clock(int(m.group("H")), int(m.group("M")), int(m.group("S")), meridiem)
        if t is None:
            return None  # a time that fails its checks takes the day with it, as everywhere
        family = _family(text, start, m.end(), has_time=True, compact=False)
        return FoundDate(wall(y, mo, d, *t), "time", False, family)
    if _BROKEN_TIME.match(text, end):
        return None
    family = _family(text, start, end, has_time=False, compact=False)
    return FoundDate(f"{y:04d}-{mo:02d}-{d:02d}", "day", False, family)


def _spelled(text: str) -> FoundDate | None:
    return _written_day(text, spelled(text))


def _unambiguous(text: str) -> FoundDate | None:
    return _written_day(text, unambiguous(text))


_MATCHERS: tuple[Callable[[str], FoundDate | None], ...] = (
    _pixel, _burst, _whatsapp, _windows_phone, _nextcloud, _telegram_export, _picsart, _dashcam, _datetime,
    _spaced, _day, _unix, _spelled, _unambiguous,
)


def stem_of(name: str) -> str:
    """The name without its extension (``.jpg``), Android's trash prefix and a sync tool's conflict mark."""
    if not name.isascii():  # one form for accents (a name copied off HFS+ is decomposed) and spaces
        name = _SPACES.sub(" ", _INVISIBLE.sub("", unicodedata.normalize("NFC", name)))
    name = _TRASHED.sub("", name.strip())
    dot = name.rfind(".")
    stem = name[:dot] if dot > 0 and len(name) - dot <= 6 else name
    return _CONFLICT.sub("", stem) if "onfli" in stem.lower() else stem


def parse_name(name: str) -> FoundDate | None:
    """The date a file name carries, by the first (most specific) convention that reads it."""
    stem = stem_of(name)
    if not _ANY_DATE.search(stem):
        return None
    text = _mask(stem)
    for matcher in _MATCHERS:
        found = matcher(text)
        if found is not None:
            return found
    return None
