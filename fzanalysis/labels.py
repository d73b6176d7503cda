"""Words and numbers as a reader sees them: labels of codes, values, targets, units, domains, areas.

Every page, chart, table and sentence formats through this module, so the same fact is written
the same way everywhere.  Texts live in data files, never in code: code labels in
``data/labels/*.yaml``, domain names in ``data/domains.csv``, unit names and symbols in
``data/units.csv`` (with an ``example`` of a figure as typed and a count's counting word, 个,
which an indicator of the catalogue may name as its own: 条 for adverts, 名 for leaders;
:func:`unit_word`), value formats per unit under ``narrative_unit`` in
``data/labels/report.yaml``, area names in the plan (``data/plans/*/plan.yaml``), the gazetteer ``data/towns.csv`` and, for
the areas of the official reference figures, ``data/reference/areas.csv``.  A label may name
the active plan in its own words: ``{plan_short}`` (规划 for Conghua, 纲要 for the national
outline) and ``{plan_whole}`` (全区/全国; district/national; ``{Plan_whole}`` capitalised at the
start of an English sentence), from ``plan.yaml``.

**One policy for unknown codes:** a code with no label is written as the code itself (visible,
never blank, never a crash in the middle of a report made from a researcher's own catalogue).
The test suite checks that every code the library itself defines (:mod:`fzanalysis.codes`,
:mod:`fzanalysis.comparators`, the data files) has a label in both languages.
"""
from __future__ import annotations

import math
import re
import string
from typing import Any, Literal

from fzanalysis import codes, comparators, config, plan

__all__ = [
    "LANGS",
    "Lang",
    "area_label",
    "check_lang",
    "clause_label",
    "demo_notice",
    "domain_label",
    "domain_order",
    "fill",
    "format_change",
    "format_difference",
    "format_gap",
    "format_number",
    "format_range",
    "format_share",
    "format_target",
    "format_value",
    "is_published",
    "label",
    "name_with_sex",
    "pooled_note",
    "range_decimals",
    "sex_label",
    "shows_change",
    "shown_difference",
    "target_decimals",
    "unit_example",
    "unit_format",
    "unit_label",
    "unit_word",
    "value_decimals",
]

Lang = Literal["zh", "en"]
#: Languages every label has.
LANGS: tuple[str, ...] = ("zh", "en")

_CMP_SYMBOL = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is ``"zh"`` or ``"en"``, else raise ``ValueError``."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return lang


def _isna(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(x != x)  # NaN, pd.NA
    except (TypeError, ValueError):
        return True


def label(kind: str, code: Any, lang: Lang = "zh") -> str:
    """The label of ``code`` in ``kind`` (``status``, ``category``, ``warning`` …).

    Parameters
    ----------
    kind : str
        A top-level key of ``data/labels/*.yaml``.
    code : str
        The code to label.
    lang : {"zh", "en"}

    Returns
    -------
    str
        The label; the code itself when ``kind`` has no label for it (module docstring).

    Examples
    --------
    >>> label("status", "met"), label("status", "met", "en")
    ('已达标', 'Met')
    >>> label("status", "a_code_of_my_own")
    'a_code_of_my_own'
    """
    check_lang(lang)
    entry = config.label_table().get(kind, {}).get(str(code))
    if not entry:
        return str(code)
    text = str(entry[lang])
    if "{plan_" in text or "{Plan_" in text:  # the active plan's own words: 规划/纲要, 全区/全国
        active = plan.active()
        whole = active.whole_zh if lang == "zh" else active.whole_en
        text = (text.replace("{plan_short}", active.short_zh).replace("{plan_whole}", whole)
                .replace("{Plan_whole}", whole[:1].upper() + whole[1:]))  # at the start of a sentence
    return text


class _Counted(string.Formatter):
    """``str.format`` with one more field spec: ``{n:one|other}`` chooses by the count ``n``."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec:
            one, other = format_spec.split("|", 1)
            return one if value == 1 else other
        return super().format_field(value, format_spec)


def fill(text: str, /, **values: Any) -> str:
    """A label's sentence filled with ``values``: ``str.format``, and ``{n:one|other}`` for the
    words that agree with a count (English: "1 target is met", "2 targets are met").

    Every sentence with a count is filled here: a template with ``{n:…|…}`` fails under plain
    ``str.format``.

    Examples
    --------
    >>> fill("{n} {n:target is|targets are} met", n=1)
    '1 target is met'
    >>> fill("{n} {n:target is|targets are} met", n=3)
    '3 targets are met'
    >>> fill("{n}项目标", n=1)
    '1项目标'
    """
    return _Counted().format(text, **values)


_CN_DIGITS = "一二三四五六七八九十"
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
_CLAUSE_PART = re.compile(rf"^([{_CN_DIGITS}])（([{_CN_DIGITS}])）(?:(\D+?)(\d+))?$")


def clause_label(clause: Any, lang: Lang = "zh") -> str:
    """Where a target sits in the plan, for a reader: ``二（一）主要目标3`` in Chinese,
    ``II(1) main target 3`` in English (item words: ``clause_item`` in data/labels/catalog.yaml).

    Clauses joined with ``；`` are each written so; a part outside the pattern (a researcher's own
    clause) is written as given.

    Examples
    --------
    >>> clause_label("二（一）主要目标3；五（三）", "en")
    'II(1) main target 3; V(3)'
    """
    check_lang(lang)
    text = "" if _isna(clause) else str(clause)
    if lang == "zh" or not text:
        return text
    out = []
    for part in (p.strip() for p in text.split("；")):
        m = _CLAUSE_PART.match(part)
        if not m:
            out.append(part)
            continue
        head = f"{_ROMAN[_CN_DIGITS.index(m[1])]}({_CN_DIGITS.index(m[2]) + 1})"
        out.append(head if m[3] is None else f"{head} {label('clause_item', m[3], lang)} {m[4]}")
    return "; ".join(out)


def sex_label(code: str, lang: Lang = "zh") -> str:
    """女/男/合计 (Female/Male/Total) for ``F``/``M``/``T``."""
    return label("sex", code, lang)


def name_with_sex(name: str, sex: Any, *, lang: Lang = "zh", subject_sex: Any = None) -> str:
    """``name（女）`` / ``name (female)`` for F/M series, the name alone for the total.

    With ``subject_sex`` (the catalogue's judged sex), the judged figure of an indicator whose name
    already says whose figure it is (``sex_in_name`` words: 妇女人均预期寿命) is the name alone,
    so that a sentence, a table and the sources list name it the same way; a name that does not
    say it (九年义务教育巩固率 judged on girls) keeps the sex everywhere.

    Examples
    --------
    >>> name_with_sex("九年义务教育巩固率", "F"), name_with_sex("Retention rate", "F", lang="en")
    ('九年义务教育巩固率（女）', 'Retention rate (female)')
    >>> name_with_sex("妇女人均预期寿命", "F", subject_sex="F"), name_with_sex("九年义务教育巩固率", "F", subject_sex="F")
    ('妇女人均预期寿命', '九年义务教育巩固率（女）')
    """
    if sex not in ("F", "M"):
        return name
    if sex == subject_sex:
        words = label("sex_in_name", str(sex), lang)
        if words != str(sex) and re.search(words, name, flags=re.IGNORECASE):
            return name
    word = sex_label(str(sex), lang)
    return f"{name}（{word}）" if lang == "zh" else f"{name} ({word.lower()})"


def join_names(names: Any, lang: Lang = "zh") -> str:
    """A list of names in a sentence: 、 between them (``docx: list_sep``), or ； where a name
    itself holds a 、 (区党委、政府工作部门领导班子中女干部比例 would otherwise read as two names).

    Examples
    --------
    >>> join_names(["女党员占党员总数比例", "区人大代表中女性比例"])
    '女党员占党员总数比例、区人大代表中女性比例'
    >>> join_names(["女党员占党员总数比例", "区党委、政府工作部门领导班子中女干部比例"])
    '女党员占党员总数比例；区党委、政府工作部门领导班子中女干部比例'
    """
    items = [str(n) for n in names]
    sep = label("docx", "list_sep", lang)
    if lang == "zh" and any(sep in n for n in items):
        sep = "；"
    return sep.join(items)


def area_kind_word(area_kinds: Any, lang: Lang = "zh") -> str:
    """What a per-area target's towns are called: 街道 for a target on streets only (catalogue
    ``area_kinds`` ``street``), 镇 for towns only, else 镇街 (every town and street).

    Examples
    --------
    >>> area_kind_word("street"), area_kind_word(""), area_kind_word("street", "en")
    ('街道', '镇街', 'subdistrict')
    """
    from fzanalysis import gazetteer

    kinds = gazetteer.kinds(area_kinds)
    if len(kinds) == 1:
        return label("area_kind", next(iter(kinds)), lang)
    return label("area_kind", "any", lang)


def target_words(rec: Any, lang: Lang = "zh") -> str:
    """A target without a number in the catalogue's own words (``target_words_zh`` /
    ``target_words_en``: 目标为“保持合理比例”, or 未设目标，按保持2020年水平监测 for an indicator the
    plan sets no target for), else ``""``.  Sentences write it after 规划 and tables in the target
    column, instead of the comparator's word (保持稳定), which the plan does not say.

    Examples
    --------
    >>> target_words({"target_words_zh": "未设目标，按保持2020年水平监测"}), target_words({})
    ('未设目标，按保持2020年水平监测', '')
    """
    value = rec.get(f"target_words_{lang}") if hasattr(rec, "get") else None
    return "" if value is None or _isna(value) else str(value).strip()


def row_target(rec: Any, lang: Lang = "zh", *, word: str | None = None) -> str:
    """One judged row's target as every table, workbook and dashboard writes it: the catalogue's
    own words for a target without a number (:func:`target_words`), else :func:`format_target` in
    symbols, ``每个街道 ≥ 1名`` for a per-area district row (:func:`per_area_kind`); ``""`` without
    a comparator.

    Examples
    --------
    >>> row_target({"comparator": ">=", "target": 96, "unit": "percent", "tolerance": math.nan})
    '≥ 96%'
    >>> row_target({"comparator": "maintain", "target_words_zh": "未设目标，按保持2020年水平监测"})
    '未设目标，按保持2020年水平监测'
    """
    words = target_words(rec, lang)
    comparator = rec.get("comparator")
    if words or _isna(comparator) or str(comparator) == "":
        return words
    return format_target(str(comparator), rec.get("target"), str(rec.get("unit")),
                         tolerance=rec.get("tolerance", math.nan), lang=lang, style="symbol", word=word,
                         each=per_area_kind(rec, lang))


def per_area_kind(rec: Any, lang: Lang = "zh") -> str | None:
    """What the towns of a per-area target's district row are called (:func:`area_kind_word`:
    街道), for a row judged town by town (``method`` :data:`fzanalysis.codes.PER_AREA_METHOD`,
    :func:`fzanalysis.evaluate`); None for every other row.  Tables, charts and sentences write
    such a target with it (:func:`format_target` ``each=``: 每个街道 ≥ 1名).

    Examples
    --------
    >>> per_area_kind({"method": "per_area", "area_kinds": "street"}), per_area_kind({"method": "linear"})
    ('街道', None)
    """
    if rec.get("method") != codes.PER_AREA_METHOD:
        return None
    return area_kind_word(rec.get("area_kinds"), lang)


def pooled_note(years: Any, lang: Lang = "zh") -> str:
    """``（2020–2024年合并计算）`` / `` (2020–2024 pooled)`` after a figure pooled over ``years``
    (a ``pooled_years`` label, methods 1.3); empty for an annual figure.  Every page, sentence,
    table and chart writes a pooled window with it.

    Examples
    --------
    >>> pooled_note("2020–2024"), pooled_note("2020–2024", "en"), pooled_note("")
    ('（2020–2024年合并计算）', ' (2020–2024 pooled)', '')
    """
    if _isna(years) or not str(years).strip():
        return ""
    return fill(label("narrative_text", "pooled", lang), years=str(years).strip())


def demo_notice(lang: Lang = "zh") -> str:
    """The sentence every output made from synthetic demo data carries."""
    return label("data_kind", "demo", lang)


# --------------------------------------------------------------------------------------------
# reference tables: domains, units, areas
# --------------------------------------------------------------------------------------------

def domain_order() -> tuple[str, ...]:
    """Domain codes in the plan's order (``data/domains.csv``, column ``order``)."""
    return tuple(config.domains().index)


def domain_label(code: Any, lang: Lang = "zh") -> str:
    """Name of a plan domain (``data/domains.csv``); ``all``/``unassigned`` from the labels.

    Examples
    --------
    >>> domain_label("health"), domain_label("health", "en")
    ('妇女与健康', 'Women and health')
    """
    check_lang(lang)
    dom = config.domains()
    if code in dom.index:
        return str(dom.at[code, f"name_{lang}"])
    return label("attainment", code, lang)


def unit_word(what: Any, lang: Lang = "zh") -> str:
    """The counting word (量词) a count is written with: ``3个``, ``10条``, ``1名``.

    The one owner of the rule: an indicator's own word (catalogue columns ``unit_word_zh`` /
    ``unit_word_en``, where the plan counts in another word than 个: 公益广告 10条, 女干部 1名)
    or, without one, its unit's (``word_zh`` / ``word_en`` of ``data/units.csv``: 个 for the count
    units, no word in English, none for a unit that is not a count).  Every value, change, target,
    interval and unit label of a count is written with the word it returns (the ``{word}`` of the
    ``narrative_unit`` formats and of the unit symbols).

    Parameters
    ----------
    what : str or mapping
        A unit key, or a row (of the catalogue, the judgement or assessment table) with ``unit``
        and, optionally, ``unit_word_zh`` / ``unit_word_en``.
    lang : {"zh", "en"}

    Returns
    -------
    str
        The word; empty for a unit without one.

    Examples
    --------
    >>> unit_word("count"), unit_word({"unit": "count_per_year", "unit_word_zh": "条"}), unit_word("percent")
    ('个', '条', '')
    """
    check_lang(lang)
    if hasattr(what, "get") and not isinstance(what, str):
        own = what.get(f"unit_word_{lang}")
        if not _isna(own) and str(own).strip():
            return str(own).strip()
        what = what.get("unit")
    units = config.units()
    column = f"word_{lang}"
    if _isna(what) or str(what) not in units.index or column not in units.columns:
        return ""
    word = units.at[str(what), column]
    return "" if _isna(word) else str(word).strip()


def _put(template: Any, unit: Any, lang: str, word: str | None, **values: Any) -> str:
    """A unit's format (``narrative_unit``, a symbol) filled: ``{v}`` and the count's ``{word}``
    (:func:`unit_word` of the unit when ``word`` is None); a space left by an empty word dropped."""
    text = str(template)
    if "{word}" in text:
        text = text.replace("{word}", unit_word(unit, lang) if word is None else word)  # type: ignore[arg-type]
    return text.format(**values).strip() if values else text.strip()


def unit_label(unit: Any, lang: Lang = "zh", *, gap: bool = False, word: str | None = None) -> str:
    """Printed unit for axes, legends and table headers.

    The unit's ``symbol`` from ``data/units.csv`` (in English ``symbol_en``, or ``name_en`` when
    the symbol is Chinese); with ``gap=True`` the label of a *difference* (a difference of
    percentages is in 百分点 / percentage points, ``plot_gap_unit`` labels).

    Examples
    --------
    ``word`` is the indicator's counting word (:func:`unit_word` of its row; default the unit's):
    a count of adverts is in 条, a yearly count in 条/年.

    >>> unit_label("percent"), unit_label("percent", gap=True), unit_label("per_100k_live_births", "en")
    ('%', '百分点', '/100k live births')
    >>> unit_label("count"), unit_label("count_per_year", word="条")
    ('个', '条/年')
    """
    check_lang(lang)
    if _isna(unit) or unit == "":
        return ""
    if gap and str(unit) in config.label_table().get("plot_gap_unit", {}):
        return label("plot_gap_unit", unit, lang)
    units = config.units()
    if unit not in units.index:
        return str(unit)
    row = units.loc[unit]
    zh_symbol = _put(row["symbol"], unit, "zh", word if lang == "zh" else None)
    symbol = _put(row.get("symbol_en", ""), unit, lang, word) if lang == "en" else zh_symbol
    if lang == "en" and (not symbol or not symbol.isascii()):
        symbol = zh_symbol if zh_symbol.isascii() and zh_symbol else ""
    return symbol or str(row[f"name_{lang}"])


def unit_example(unit: Any, lang: Lang = "zh") -> str:
    """An example of how a figure in ``unit`` is typed, for an input prompt: ``如 85.5`` for a
    percent, ``如 1.5`` for a ratio (1.5 female seats per male seat, never a percent-like figure).

    The number is the unit's ``example`` in ``data/units.csv``; the words around it are the
    ``unit_example`` label.  Every prompt that tells a clerk what to type takes its example here.

    Parameters
    ----------
    unit : str
        Key of ``data/units.csv``.
    lang : {"zh", "en"}

    Returns
    -------
    str
        The example; empty for an unknown unit or one without an example.

    Examples
    --------
    >>> unit_example("percent"), unit_example("ratio"), unit_example("percent", "en")
    ('如 85.5', '如 1.5', 'e.g. 85.5')
    >>> unit_example("a_unit_of_my_own")
    ''
    """
    check_lang(lang)
    units = config.units()
    if _isna(unit) or str(unit) not in units.index or "example" not in units.columns:
        return ""
    example = str(units.at[str(unit), "example"]).strip()
    return fill(label("unit_example", "text", lang), example=example) if example else ""


def area_label(code: Any, lang: Lang = "zh", *, short: bool = False) -> str:
    """Name of an area code from the gazetteer (``440117001`` → 街口街道); unknown → the code.

    Examples
    --------
    >>> area_label("440117001"), area_label("440117001", "en", short=True)
    ('街口街道', 'Jiekou')
    """
    check_lang(lang)
    code = str(code)
    active = plan.active()
    if code == active.area_code:
        return active.area_name(lang)
    towns = config.read_csv("towns.csv").set_index("code")
    if code not in towns.index:
        others = config.read_csv("reference", "areas.csv").set_index("code")  # 全国, 广东省, 广州市
        return str(others.at[code, f"name_{lang}"]) if code in others.index else code
    row = towns.loc[code]
    if lang == "zh":
        return str(row["short_zh"] if short else row["name_zh"])
    en = str(row["name_en"])
    if short:
        for suffix in (" Subdistrict", " Town", " District"):
            if en.endswith(suffix):
                en = en[: -len(suffix)]
    return en


# --------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------

def unit_format(unit: Any) -> dict[str, Any]:
    """How values of ``unit`` are written (``narrative_unit`` labels; a plain number when unknown)."""
    spec = config.label_table().get("narrative_unit", {}).get(str(unit))
    if spec is None:  # unknown unit: plain number, no symbol
        return {"zh": "{v}", "en": "{v}", "change_zh": "{v}", "change_en": "{v}", "decimals": 2}
    return spec


def format_number(x: float, decimals: int) -> str:
    """Round half away from zero (as a reader rounding by hand would), thousands separators ≥ 10 000."""
    q = 10 ** decimals
    r = math.floor(abs(float(x)) * q + 0.5 + 1e-9) / q
    r = math.copysign(r, float(x))
    if r == 0:
        r = 0.0
    return f"{r:,.{decimals}f}" if abs(r) >= 10000 else f"{r:.{decimals}f}"


#: At most this many decimals are kept for a published figure (:func:`format_value`, ``published``).
PUBLISHED_MAX_DECIMALS = 2


def _own_decimals(value: float, most: int = PUBLISHED_MAX_DECIMALS) -> int | None:
    """The decimals a figure is written with (``99.95`` -> 2), or None when it has more than
    ``most`` (default :data:`PUBLISHED_MAX_DECIMALS`; a computed value such as a projection)."""
    for k in range(most + 1):
        scaled = abs(float(value)) * 10 ** k
        if abs(scaled - round(scaled)) < 1e-6:
            return k
    return None


def value_decimals(value: Any, unit: Any, *, published: bool = False) -> int:
    """The decimals ``value`` is written with (:func:`format_value`; the Excel number format
    follows it): the unit's, or for a published figure its own when it has more (at most
    :data:`PUBLISHED_MAX_DECIMALS`).

    Examples
    --------
    >>> value_decimals(80.88, "years"), value_decimals(80.88, "years", published=True)
    (1, 2)
    """
    decimals = int(unit_format(unit)["decimals"])
    if published and not _isna(value):
        decimals = max(decimals, _own_decimals(value) or 0)
    return decimals


def is_published(synthetic: Any) -> bool:
    """Whether a row's figure is a real one, written as published (:func:`format_value`,
    ``published``): its ``synthetic`` flag is false. Missing (a researcher's table without the
    column) or true (the demo panel) -> False, the unit's digits.

    Examples
    --------
    >>> is_published(False), is_published(True), is_published(None)
    (True, False, False)
    """
    return not _isna(synthetic) and not bool(synthetic)


def format_value(value: Any, unit: Any, *, lang: Lang = "zh", published: bool = False,
                 word: str | None = None) -> str:
    """Write ``value`` in ``unit``: ``95.1%``, ``12.3/10万``, ``80.2岁``; a missing value is ``—``.

    ``published=True`` writes an official figure as its release states it: with the unit's
    decimals, or with the figure's own when it has more (at most :data:`PUBLISHED_MAX_DECIMALS`),
    so that ``99.95`` is never shown as ``100.0%`` nor ``80.88`` as ``80.9岁``. A value with more
    decimals than that (computed, not published) keeps the unit's.  ``word`` is the counting
    word of a count (:func:`unit_word` of the indicator's row; default the unit's, 个).

    Examples
    --------
    >>> format_value(95.06, "percent"), format_value(6.5, "per_100k_live_births", lang="en")
    ('95.1%', '6.5 per 100 000 live births')
    >>> format_value(10, "count_per_year"), format_value(10, "count_per_year", word="条")
    ('10个', '10条')
    >>> format_value(99.95, "percent", published=True)
    '99.95%'
    """
    check_lang(lang)
    if _isna(value):
        return "—"
    spec = unit_format(unit)
    return _put(spec[lang], unit, lang, word, v=format_number(value, value_decimals(value, unit, published=published)))


def shows_change(start: Any, end: Any, unit: Any) -> bool:
    """Whether a move from ``start`` to ``end`` shows in the figures as the report writes them
    (the unit's decimals): 19.03 → 18.97 reads 19.0 → 19.0, no move.  The sentence's verb
    (提高 / 降至 / 保持在, :func:`fzanalysis.narrative.finding`) and the progress category of a
    move (:func:`fzanalysis.evaluation.category_from_projection`) both ask it, so a projection
    written as 保持在 is never called 进度正常 or 倒退.

    Examples
    --------
    >>> shows_change(19.03, 18.97, "gap_percent"), shows_change(19.03, 18.94, "gap_percent")
    (False, True)
    """
    decimals = int(unit_format(unit)["decimals"])
    return format_number(float(start), decimals) != format_number(float(end), decimals)


#: At most this many decimals beyond the unit's are added to an interval whose two ends would
#: otherwise print alike (:func:`format_range`).
RANGE_EXTRA_DECIMALS = 2


def range_decimals(lower: Any, upper: Any, unit: Any) -> int:
    """The decimals an interval is written with (:func:`format_range`; the Excel cells of its two
    ends follow it): the unit's, or more when two different ends would otherwise print alike
    (99.989–100 as "100.0%–100.0%" would read as a certainty the probability beside it denies),
    at most :data:`RANGE_EXTRA_DECIMALS` more.

    Examples
    --------
    >>> range_decimals(95.2, 97.3, "percent"), range_decimals(99.9887, 100.0, "percent")
    (1, 2)
    """
    base = int(unit_format(unit)["decimals"])
    decimals = base
    if _isna(lower) or _isna(upper) or float(lower) == float(upper):
        return decimals
    while (decimals < base + RANGE_EXTRA_DECIMALS
           and format_number(lower, decimals) == format_number(upper, decimals)):
        decimals += 1
    return decimals


def format_range(lower: Any, upper: Any, unit: Any, *, lang: Lang = "zh", bare: bool = False,
                 word: str | None = None) -> str:
    """Write an interval in ``unit`` the one way every page does: ``82.7–83.2岁``, ``37.8%–58.7%``
    (a unit marked ``range_repeat`` in ``data/labels/report.yaml`` is written on both ends), in the
    unit's digits; ``bare=True`` leaves the unit out (``82.7–83.2``, in a table whose column or
    point value already names it); ``word`` the counting word of a count (:func:`unit_word`).

    Examples
    --------
    >>> format_range(82.66, 83.21, "years"), format_range(37.8, 58.7, "percent")
    ('82.7–83.2岁', '37.8%–58.7%')
    >>> format_range(82.66, 83.21, "years", bare=True)
    '82.7–83.2'

    Two different ends that would print alike get the digits that tell them apart (at most
    :data:`RANGE_EXTRA_DECIMALS` more), so a range never reads as a certainty it is not:

    >>> format_range(99.9887, 100.0, "percent"), format_range(100.0, 100.0, "percent")
    ('99.99%–100.00%', '100.0%–100.0%')
    """
    check_lang(lang)
    decimals = range_decimals(lower, upper, unit)
    if bare:
        return f"{format_number(lower, decimals)}–{format_number(upper, decimals)}"
    spec = unit_format(unit)
    low = (_put(spec[lang], unit, lang, word, v=format_number(lower, decimals)) if spec.get("range_repeat")
           else format_number(lower, decimals))
    return f"{low}–{_put(spec[lang], unit, lang, word, v=format_number(upper, decimals))}"


def format_share(share: Any, *, lang: Lang = "zh") -> str:
    """A share given as a fraction, written as a percentage: ``0.375`` -> ``37.5%``; missing ``—``.

    The one way every 达标率 and verdict share is written (tables, Word, notebooks).

    Examples
    --------
    >>> format_share(0.375), format_share(float("nan"))
    ('37.5%', '—')
    """
    return "—" if _isna(share) else format_value(100 * float(share), "percent", lang=lang)


def format_change(change: Any, unit: Any, *, lang: Lang = "zh", word: str | None = None) -> str:
    """The absolute size of a change given alone: ``0.3个百分点`` / ``0.3 percentage points``
    (a count's in its counting word ``word``, :func:`unit_word`).

    A change or gap printed with its two figures is measured from them as printed
    (:func:`format_difference`, :func:`format_gap`), never written from the unrounded change here.
    """
    check_lang(lang)
    if _isna(change):
        return "—"
    spec = unit_format(unit)
    return _put(spec[f"change_{lang}"], unit, lang, word, v=format_number(abs(float(change)), int(spec["decimals"])))


#: At most this many decimals are written for a target (:func:`target_decimals`).
TARGET_MAX_DECIMALS = 4


def target_decimals(target: Any, unit: Any) -> int:
    """The decimals a target is written with: the unit's, or the target's own when it has more
    (at most :data:`TARGET_MAX_DECIMALS`), so a target is never written with fewer digits than
    the plan gives it (不低于98.35% is 98.35%, not 98.4%).  :func:`format_target` writes every
    target with them and :func:`format_difference` measures a gap from the target so written.

    Examples
    --------
    >>> target_decimals(98.35, "percent"), target_decimals(96, "percent"), target_decimals(7.5, "count")
    (2, 1, 1)
    """
    decimals = int(unit_format(unit)["decimals"])
    if _isna(target):
        return decimals
    return max(decimals, _own_decimals(float(target), TARGET_MAX_DECIMALS) or 0)


def gender_difference(female: Any, male: Any, unit: Any) -> tuple[float, int]:
    """The women's minus the men's figure as the gender-gap table and chart print it: the
    difference of the two figures rounded to the women's figure's digits
    (:func:`shown_difference`), so the table's 5.6 and the chart's +5.6 are one number
    (41.68 − 36.14 printed 41.7 and 36.1: 5.6, never the 5.5 of the unrounded figures).

    Examples
    --------
    >>> gender_difference(41.68, 36.14, "percent")
    (5.6, 1)
    """
    dec = value_decimals(female, unit)
    return shown_difference(male, female, unit, decimals=(dec, dec))


def shown_difference(start: Any, end: Any, unit: Any, *, decimals: tuple[int, int] | None = None,
                     published: bool = False) -> tuple[float, int]:
    """``end − start`` as a reader computes it from the two figures as the report prints them.

    Each figure is first rounded to the digits it is printed with (``decimals``: the start's and
    the end's; default the unit's, :func:`unit_format`), and the difference of those printed
    numbers is written with the larger of the two, so the arithmetic a reader does on the page
    checks out: 51.44% → 52.96% prints 51.4% → 53.0%, a change of 1.6, never the 1.5 the
    unrounded figures give.  Every change and gap printed beside its two figures is measured
    here (:func:`format_difference`, :func:`format_gap`).

    Parameters
    ----------
    start, end : float
        The two figures (a change is ``end − start``; a gap runs from the value to the target).
    unit : str
        Key of ``data/units.csv``.
    decimals : tuple of int, optional
        The digits each figure is printed with (:func:`target_decimals` for a target); default
        :func:`value_decimals` of each figure.
    published : bool
        Whether the two figures are real ones, written as published (:func:`format_value`).

    Returns
    -------
    difference : float
        NaN when either figure is missing.
    decimals : int
        The digits it is written with.

    Examples
    --------
    >>> shown_difference(51.44, 52.96, "percent")
    (1.6, 1)
    >>> shown_difference(97.18, 98.35, "percent", decimals=(1, 2))
    (1.15, 2)
    """
    ds, de = decimals if decimals is not None else (value_decimals(start, unit, published=published),
                                                    value_decimals(end, unit, published=published))
    d = max(ds, de)
    if _isna(start) or _isna(end):
        return math.nan, d
    a = float(format_number(start, ds).replace(",", ""))
    b = float(format_number(end, de).replace(",", ""))
    return float(format_number(b - a, d).replace(",", "")), d


def format_difference(start: Any, end: Any, unit: Any, *, lang: Lang = "zh",
                      decimals: tuple[int, int] | None = None, published: bool = False,
                      signed: bool = False, word: str | None = None) -> str:
    """Write the difference of two printed figures (:func:`shown_difference`) in the unit's
    words for a change: ``1.6个百分点`` / ``1.6 percentage points``; ``signed=True`` for a table
    column (``+1.6个百分点``, ``−3.9个百分点``; 持平 where the two figures print alike); ``—`` when a
    figure is missing;
    ``word`` the counting word of a count (:func:`unit_word`).

    Examples
    --------
    >>> format_difference(51.44, 52.96, "percent", signed=True)
    '+1.6个百分点'
    >>> format_difference(83.94, 79.92, "percent", signed=True), format_difference(75.76, 80, "percent", decimals=(1, 1))
    ('−4.0个百分点', '4.2个百分点')
    >>> format_difference(100.0, 100.0, "percent", signed=True)
    '持平'
    """
    check_lang(lang)
    diff, d = shown_difference(start, end, unit, decimals=decimals, published=published)
    if _isna(diff):
        return "—"
    if signed and diff == 0:  # a table column: the figures printed alike are 持平, not "0.0个百分点"
        return label("change_column", "flat", lang)
    text = _put(unit_format(unit)[f"change_{lang}"], unit, lang, word, v=format_number(abs(diff), d))
    if signed:
        text = ("+" if diff > 0 else "−") + text
    return text


def format_gap(value: Any, comparator: Any, target: Any, gap: Any, unit: Any, *, tolerance: Any = math.nan,
               lang: Lang = "zh", published: bool = False, word: str | None = None) -> str:
    """The shortfall 尚差 … of a value not meeting its target, measured from the figures printed
    beside it: the value (:func:`value_decimals`) and the edge of the target it falls short of as
    :func:`format_target` writes it (the target, or the band's edge 43 of 45%左右（不低于43%）,
    with :func:`target_decimals`).  97.18% against 不低于98.35% is 97.2% and 98.35%, 尚差1.15个百分点.

    A gap not measured to one edge (a district row summing the shortfalls of its areas) is
    written as given (:func:`format_change`).

    Examples
    --------
    >>> format_gap(75.76, ">=", 80, 4.24, "percent"), format_gap(97.18, ">=", 98.35, 1.17, "percent")
    ('4.2个百分点', '1.15个百分点')
    >>> format_gap(41.04, "~>=", 45, 1.96, "percent", tolerance=2)
    '2.0个百分点'
    """
    if _isna(value) or _isna(gap):
        return format_change(gap, unit, lang=lang, word=word)
    lo, hi, _, _ = comparators.region(str(comparator), target, tolerance)  # the one rule of "meets"
    v = float(value)
    edge = float(lo) if v < float(lo) else float(hi)
    if not math.isfinite(edge) or abs(abs(edge - v) - abs(float(gap))) > 1e-6 * max(1.0, abs(v)):
        return format_change(gap, unit, lang=lang, word=word)
    return format_difference(v, edge, unit, lang=lang, word=word,
                             decimals=(value_decimals(v, unit, published=published), target_decimals(edge, unit)))


def _target_number(target: float, unit: Any) -> str:
    """A target's number with its own digits (:func:`target_decimals`), trailing zeros dropped:
    the plan writes round targets round (95 -> "95", 0.5 -> "0.5", 98.35 -> "98.35")."""
    digits = format_number(target, target_decimals(target, unit))
    if "." in digits:
        digits = digits.rstrip("0").rstrip(".")
    return digits


def _at_upper_bound(target: Any, unit: Any) -> bool:
    """Whether ``target`` is its unit's upper bound (100 %): "≥ 100 %" is then written as the plan
    writes it, 达到100% / 100%, not 100%以上."""
    table = config.units()
    if _isna(target) or str(unit) not in table.index:
        return False
    hi = table.at[str(unit), "upper_bound"]
    return not _isna(hi) and float(target) == float(hi)


def format_target(
    comparator: str,
    target: Any,
    unit: Any,
    *,
    tolerance: Any = math.nan,
    lang: Lang = "zh",
    style: Literal["prose", "symbol"] = "prose",
    word: str | None = None,
    each: str | None = None,
) -> str:
    """Write a target.

    Parameters
    ----------
    comparator : str
        A comparator of :mod:`fzanalysis.comparators`.
    target, tolerance : float
        The target and the half-width of a ``~=``/``~>=`` band (NaN for directional targets).
    unit : str
        Key of ``data/units.csv``.
    lang : {"zh", "en"}
    style : {"prose", "symbol"}
        ``prose`` for sentences (``95%以上``); ``symbol`` for tables (``≥ 95%``).  Only a
        comparison with one number has a symbol: a directional target is written in its words in
        both styles (``逐步提高`` / ``a rising trend``, as the sentences say it), and a 左右 target
        (``~=``, ``~>=``) with its tolerance the plan's word with the band it stands for
        (``target_band`` labels): ``45%左右（不低于43%）``, ``about 45% (at least 43%)``.  "≥" the
        unit's upper bound is written as the plan writes it (达到100%, not 100%以上).
    word : str, optional
        The counting word of a count (:func:`unit_word` of the indicator's row; default the
        unit's, 个): 不少于10条 is written ``10条以上``.
    each : str, optional
        A per-area target's kind of town (:func:`per_area_kind`: 街道): the target holds in every
        one of them, ``每个街道 ≥ 1名`` (the row's own figure is the district's total).

    Examples
    --------
    >>> format_target(">=", 95, "percent"), format_target(">=", 95, "percent", style="symbol")
    ('95%以上', '≥ 95%')
    >>> format_target(">=", 100, "percent"), format_target(">=", 100, "percent", lang="en")
    ('达到100%', '100%')
    >>> format_target("<", 7.5, "per_100k_live_births", lang="en")
    'below 7.5 per 100 000 live births'
    >>> format_target("~>=", 50, "percent", tolerance=2, style="symbol")
    '50%左右（不低于48%）'
    >>> format_target("~=", 50, "percent", tolerance=2, lang="en")
    'about 50% (48% to 52%)'
    >>> format_target("increase", math.nan, "percent", style="symbol")
    '逐步提高'
    >>> format_target(">=", 1, "count", style="symbol", word="名", each="街道")
    '每个街道 ≥ 1名'
    """
    if each:
        text = format_target(comparator, target, unit, tolerance=tolerance, lang=lang, style=style, word=word)
        return label("report", "per_area_target", lang).format(kind=each, target=text)
    check_lang(lang)
    if style not in ("prose", "symbol"):
        raise ValueError(f"style must be 'prose' or 'symbol', got {style!r}")
    number = _put(unit_format(unit)[lang], unit, lang, word)  # "{v}条": the number filled below
    if comparator in ("~=", "~>=") and not _isna(target) and not _isna(tolerance):
        t, tau = float(target), float(tolerance)
        return label("target_band", comparator, lang).format(
            t=number.format(v=_target_number(t, unit)), lo=number.format(v=_target_number(t - tau, unit)),
            hi=number.format(v=_target_number(t + tau, unit)))
    if style == "prose" or comparator not in _CMP_SYMBOL:
        key = "at_upper_bound" if comparator == ">=" and _at_upper_bound(target, unit) else comparator
        template = label("narrative_comparator", key, lang)
        if _isna(target):
            return template.replace("{t}", "")
        return template.format(t=number.format(v=_target_number(float(target), unit)))
    return f"{_CMP_SYMBOL[comparator]} {number.format(v=_target_number(float(target), unit))}"
