"""Ingest: merge checked submissions into the consolidated panel, one transaction per run.

:func:`ingest` reads and checks the files as :func:`fzanalysis.panel.validate` does, merges the
accepted rows by key into the committed panel, logs every file, revision and rejected row, and
commits the result as one new generation of ``data/processed`` (:mod:`fzanalysis.panel.store`)
under the folder's lock.  :func:`withdraw` removes figures (logged as revisions to nothing) and
:func:`rebuild` replays the log from the raw files.
"""
from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fzanalysis import codes, gazetteer
from fzanalysis.exceptions import PanelError
from fzanalysis.panel import _lookups as lk
from fzanalysis.panel import store
from fzanalysis.panel.checks import check_files, gc_paused
from fzanalysis.panel.problems import Problem, Refusal, Wording
from fzanalysis.panel.read import cell_text, parse_year
from fzanalysis.panel.schema import YEAR_RANGE, Panel, as_panel
from fzanalysis.panel.submission import problem_fields
from fzanalysis.paths import REPO_DIR, data_path

__all__ = ["IngestResult", "ingest", "rebuild", "withdraw"]

KEY = list(codes.PANEL_KEYS)


@dataclass
class IngestResult:
    """What :func:`ingest` did.

    Attributes
    ----------
    panel : Panel
        The consolidated panel after the run.
    problems : list of Problem
        Every finding of every file.
    log : DataFrame
        One row per file handled in this run: ``path, sha256, ingested_at, status, rows_read,
        rows_blank, rows_rejected, rows_new, rows_revised, rows_unchanged``.
    revisions : DataFrame
        One row per key whose value changed or was withdrawn: ``indicator, year, area, sex,
        old_value, new_value, old_source, new_source, path, sha256, revised_at``.
    rejected : DataFrame
        The rejected rows (``keep_valid``) or files: ``path, sheet, row, reason`` (the reason in
        Chinese, as written to ``rejected_rows.csv``).
    changed : bool
        Whether a new generation was committed.
    written : list of Path
        The published files.
    """

    panel: Panel
    problems: list[Problem]
    log: pd.DataFrame
    revisions: pd.DataFrame
    rejected: pd.DataFrame
    changed: bool = False
    written: list[Path] = field(default_factory=list)
    #: the errors behind the rows of ``rejected``, in order: ``(True, errors)`` for a file
    #: rejected whole (one row), ``(False, errors)`` for the rejected rows of one file
    rejected_because: list[tuple[bool, list[Problem]]] = field(default_factory=list)

    def reasons(self, lang: str = "zh") -> list[str]:
        """The reason of each row of ``rejected`` in ``lang``."""
        words = Wording(lang)
        out: list[str] = []
        for whole, probs in self.rejected_because:
            out += [_file_reason(probs, words)] if whole else _row_reasons(probs, words)[2].tolist()
        return out + [str(r) for r in self.rejected["reason"].iloc[len(out):]]

    @property
    def has_error(self) -> bool:
        """True when any problem is an error."""
        return any(p.severity == "error" for p in self.problems)




def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_DIR))
    except ValueError:
        return str(path)


def _eq(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise equality treating two missing values as equal."""
    return ((a == b).fillna(False) | (a.isna() & b.isna())).to_numpy(bool)


def _out(out_dir: str | Path | None) -> Path:
    return Path(out_dir) if out_dir is not None else data_path("processed")


def _lock_timeout(wait: float | None) -> float:
    return float(lk.limits()["lock_wait_seconds"] if wait is None else wait)


def ingest(paths: str | Path | Sequence[str | Path], *, out_dir: str | Path | None = None,
           keep_valid: bool = False, catalog: pd.DataFrame | None = None,
           now: datetime | None = None, wait: float | None = None) -> IngestResult:
    """Merge submissions into the consolidated panel in ``out_dir``, as one transaction.

    Files are handled in the order given; for each:

    1. its SHA-256 is computed; a file whose hash is already in the ingest log is skipped
       (re-ingesting changes nothing);
    2. it is read and checked as by :func:`fzanalysis.panel.validate` (jump warnings against
       the current panel; a key given different figures by two files of the batch is an error
       of both rows, since the order of a batch is that of the file names, not of submission:
       a correction is ingested in a later run than the figure it corrects);
    3. with any error it is rejected whole, unless ``keep_valid``: then rows without an error
       go in and the others are listed in ``rejected_rows.csv``; a file-level error
       (unreadable, missing column, no data rows) always rejects the file;
    4. each record is merged by key (indicator, year, area, sex): a new key is added; an
       existing key with a different value is replaced and the change written to
       ``revisions.csv``; an equal value leaves the panel row as it is.

    Everything is committed at the end as one generation (:mod:`fzanalysis.panel.store`):
    panel, log, revisions and rejected rows together, or nothing.  Rejected files are logged
    too.  Raw files are opened read-only and never modified.

    Parameters
    ----------
    paths : str, Path or sequence of them
        Files to ingest, in submission order.
    out_dir : str or Path, optional
        Output folder (default ``data/processed``).
    keep_valid : bool
        Ingest the valid rows of a partly bad file.
    catalog : DataFrame, optional
        Indicator catalogue (:func:`fzanalysis.catalog.normalize`).
    now : datetime, optional
        Timestamp written to the logs (default: the current UTC time).
    wait : float, optional
        Seconds to wait for another ingest to finish (default ``lock_wait_seconds`` in
        ``data/ingest.yaml``).

    Returns
    -------
    IngestResult

    Raises
    ------
    SubmissionError
        The folder is locked by another ingest (:class:`fzanalysis.panel.store.StoreBusy`),
        is a file, or cannot be written.
    PanelError
        The committed panel is damaged (the message says to run ``--rebuild``).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out = _out(out_dir)
    with store.lock(out, timeout=_lock_timeout(wait)):
        state = store.read_state(out)
        store.repair(out)
        with gc_paused():  # hundreds of thousands of problems and rejected rows, none in a cycle
            result = _merge(list(paths), state, lk.catalog_index(catalog), keep_valid=keep_valid,
                            stamp=_stamp(now))
            if result.changed:
                result.written = _commit(out, state, result)
    return result


def _stamp(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).replace(microsecond=0).isoformat()


def _commit(out: Path, state: store.State, result: IngestResult) -> list[Path]:
    # the log keeps what changed the panel; rejected rows are kept for partly ingested files
    kept = result.log[result.log["status"].isin(["ingested", "partial", "withdrawn"])]
    partial = set(result.log.loc[result.log["status"] == "partial", "path"])
    shown = {p: _display_path(Path(p)) for p in pd.unique(result.rejected["path"])}  # once per file
    rej = result.rejected[result.rejected["path"].map(shown).isin(partial)]
    new = store.State(result.panel, _concat(state.log, kept), _concat(state.revisions, result.revisions),
                      _concat(state.rejected, rej), state.generation)
    try:
        return store.commit(out, new)
    except OSError as exc:
        raise Refusal("write_failed", out, found=exc.strerror or exc) from None


def _concat(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    if new.empty:
        return old
    if old.empty:
        return new
    return pd.concat([old.astype(object), new.astype(object)], ignore_index=True)


def _merge(paths: list[str | Path], state: store.State, cat: pd.DataFrame, *, keep_valid: bool,
           stamp: str) -> IngestResult:
    log = state.log
    seen = set(log.loc[log["status"].isin(["ingested", "partial"]), "sha256"].astype(str)) if len(log) else set()
    problems: list[Problem] = []
    new_log: list[dict[str, Any]] = []
    new_revs: list[pd.DataFrame] = []
    new_rejected: list[pd.DataFrame] = []
    why: list[tuple[bool, list[Problem]]] = []
    zh = Wording("zh")
    changed = False
    current: Panel = state.panel
    shas: dict[str, str] = {}  # each file's checksum, computed once (before it is read)

    def sha_of(path: str | Path) -> str:
        if str(path) not in shas:
            shas[str(path)] = _safe_sha(path)
        return shas[str(path)]

    # the run's own time (``now``) says which years are still to come
    subs = check_files(paths, cat, current.frame, skip=lambda p: sha_of(p) in seen,
                       latest_year=int(stamp[:4]))
    for raw_path, sub in zip(paths, subs):
        path = Path(raw_path)
        shown = str(raw_path)
        sha = sha_of(raw_path)
        if sub is None:
            new_log.append({"path": _display_path(path), "sha256": sha, "ingested_at": stamp,
                            "status": "unchanged", "rows_read": 0, "rows_blank": 0, "rows_rejected": 0,
                            "rows_new": 0, "rows_revised": 0, "rows_unchanged": 0})
            continue
        problems += sub.problems
        rec = sub.records
        file_errors = sub.file_errors()
        row_errors = sub.row_errors()
        if sub.has_error and (not keep_valid or file_errors):
            why.append((True, sub.rejection()))
            new_rejected.append(pd.DataFrame({"path": [shown], "sheet": [""], "row": [""],
                                              "reason": [_file_reason(why[-1][1], zh)]}))
            new_log.append({"path": _display_path(path), "sha256": sha or "", "ingested_at": stamp,
                            "status": "rejected", "rows_read": sub.rows_read, "rows_blank": sub.rows_blank,
                            "rows_rejected": sub.rows_read - sub.rows_blank, "rows_new": 0,
                            "rows_revised": 0, "rows_unchanged": 0})
            continue
        n_bad = 0
        if row_errors:
            why.append((False, row_errors))
            sheet, row, reason = _row_reasons(row_errors, zh, sub.row_error_places())
            new_rejected.append(pd.DataFrame({"path": shown, "sheet": sheet, "row": row,
                                              "reason": reason}))
            n_bad = len(row)
            good = rec[~sub.error_mask()]
        else:
            good = rec
        good = good.drop_duplicates(KEY, keep="last")
        incoming = as_panel(good[list(codes.PANEL_COLUMNS)], source=shown)
        panel = current.frame
        cur = panel[KEY + ["value", "numerator", "denominator", "source"]]
        m = incoming.frame.merge(cur, on=KEY, how="left", suffixes=("", "_old"), indicator="_m")
        known = (m["_m"] == "both").to_numpy()
        same = known & _eq(m["value"], m["value_old"]) & _eq(m["numerator"], m["numerator_old"]) \
            & _eq(m["denominator"], m["denominator_old"])
        revised = known & ~same
        n_new, n_rev, n_same = int((~known).sum()), int(revised.sum()), int(same.sum())
        if n_rev:
            rv = m[revised]
            new_revs.append(pd.DataFrame({
                "indicator": rv["indicator"], "year": rv["year"].astype("int64"), "area": rv["area"],
                "sex": rv["sex"], "old_value": rv["value_old"], "new_value": rv["value"],
                "old_source": rv["source_old"], "new_source": rv["source"], "path": _display_path(path),
                "sha256": sha, "revised_at": stamp}, columns=store.REVISION_COLUMNS))
        if n_new or n_rev:
            take = incoming.frame[~same]
            keep = panel.merge(take[KEY], on=KEY, how="left", indicator="_m")["_m"].eq("left_only").to_numpy()
            if keep.any():
                current = as_panel(pd.concat([panel[keep], take], ignore_index=True), source="merged panel")
            else:  # every row of the panel is replaced or there was none: the incoming rows, checked
                current = incoming
        changed = True
        seen.add(sha)
        new_log.append({"path": _display_path(path), "sha256": sha, "ingested_at": stamp,
                        "status": "partial" if n_bad else "ingested", "rows_read": sub.rows_read,
                        "rows_blank": sub.rows_blank, "rows_rejected": n_bad, "rows_new": n_new,
                        "rows_revised": n_rev, "rows_unchanged": n_same})
    rejected = (pd.concat(new_rejected, ignore_index=True) if new_rejected
                else pd.DataFrame(columns=store.REJECTED_COLUMNS))
    revisions = (pd.concat(new_revs, ignore_index=True) if new_revs
                 else pd.DataFrame(columns=store.REVISION_COLUMNS))
    return IngestResult(dataclasses.replace(current, source="consolidated panel"), problems,
                        pd.DataFrame(new_log, columns=store.LOG_COLUMNS), revisions, rejected, changed,
                        rejected_because=why)


def _file_reason(problems: list[Problem], words: Wording) -> str:
    """The ``reason`` of a file rejected whole: its first errors, as printed lines."""
    return words.text("file_rejected", {"found": "; ".join(words.line(p) for p in problems[:3])})


def _row_reasons(errors: list[Problem], words: Wording, places: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, pd.Categorical]:
    """``(sheet, row, reason)`` of each rejected row of one file, from its row errors in file order
    (the errors of one row are consecutive): the messages worded once each
    (:meth:`Wording.keyed`) and those of one row joined by ``"; "``.  The reasons are categorical:
    a row with one error and no cell shares its message's sentence; only the other rows get a
    sentence of their own.  ``places``: the errors' sheets and rows when known
    (:meth:`Submission.row_error_places`)."""
    if places is None:
        fields = problem_fields(errors)
        places = (fields["sheet"], fields["row"])
    sheet, row = places
    start = np.ones(len(errors), dtype=bool)
    start[1:] = (row[1:] != row[:-1]) | (sheet[1:] != sheet[:-1])
    first = np.flatnonzero(start)
    keyed = words.keyed(errors)
    if keyed is None:  # a value that cannot be a dict key: every sentence on its own
        text = words.texts(errors)
        k, whole = np.zeros(len(errors), dtype=np.int64), np.array([], dtype=object)
        own = np.ones(len(first), dtype=bool)
    else:
        k, head, tail, cells = keyed
        whole = head + tail
        size = np.diff(np.append(first, len(errors)))
        own = (size > 1) | (cells[first] != "")  # rows whose sentence is their own
        text = None
    # candidates: each distinct message's sentence, then the sentences of the rows of their own
    if own.any():
        mine = np.repeat(own, np.diff(np.append(first, len(errors))))
        text = words.compose(k[mine], head, tail, cells[mine]) if text is None else text[mine]
        starts = np.flatnonzero(start[mine])
        more = ~np.append(start[mine][1:], True)  # not the last error of its row
        if more.any():
            text[more] = text[more] + "; "
        joined = np.add.reduceat(text, starts) if more.any() else text
    else:
        joined = np.array([], dtype=object)
    cand = np.concatenate([whole, joined])
    ccode, cats = pd.factorize(cand)
    code = np.empty(len(first), dtype=np.int64)
    code[~own] = ccode[k[first[~own]]]
    code[own] = ccode[len(whole) + np.arange(int(own.sum()))]
    return sheet[first], row[first], pd.Categorical.from_codes(code, categories=pd.Index(cats, dtype=object))


def _safe_sha(path: str | Path) -> str:
    try:
        p = Path(path)
        return store.sha256_file(p) if p.is_file() else ""
    except OSError:
        return ""


def withdraw(keys: pd.DataFrame, *, reason: str, out_dir: str | Path | None = None,
             now: datetime | None = None, wait: float | None = None) -> IngestResult:
    """Withdraw figures from the panel; each withdrawal is logged as a revision to nothing.

    Parameters
    ----------
    keys : DataFrame
        Columns ``indicator, year`` and optionally ``area`` (a code or name, default the
        district) and ``sex`` (F/M/T or 女/男/合计, default ``T``): the figures to withdraw.
    reason : str
        Why (written to the revision's ``new_source`` as ``withdrawn: <reason>``).
    out_dir, now, wait
        As for :func:`ingest`.

    Returns
    -------
    IngestResult

    Raises
    ------
    SubmissionError
        A key is malformed (no indicator, a year that is not a whole year, an unknown area or
        sex) or not in the panel, or no reason is given; nothing is withdrawn.
    """
    if not str(reason).strip():
        raise Refusal("withdraw_no_reason")
    want = as_panel(_withdraw_keys(keys).assign(value=0.0), source="withdrawal").frame[KEY]
    out = _out(out_dir)
    stamp = _stamp(now)
    with store.lock(out, timeout=_lock_timeout(wait)):
        state = store.read_state(out)
        store.repair(out)
        panel = state.panel.frame
        m = panel.merge(want, on=KEY, how="left", indicator="_m")
        hit = (m["_m"] == "both").to_numpy()
        found = want.merge(panel[KEY], on=KEY, how="left", indicator="_m")
        missing = found[found["_m"] == "left_only"]
        if len(missing):
            listed = "; ".join(f"({r.indicator}, {r.year}, {r.area}, {r.sex})" for r in missing.itertuples())
            near = [k for k in (_nearest_key(r, panel) for r in missing.itertuples()) if k]
            raise Refusal("withdraw_not_found", found=listed, suggestion="; ".join(dict.fromkeys(near)))
        gone = panel[hit]
        revs = pd.DataFrame([{"indicator": r.indicator, "year": int(r.year), "area": r.area, "sex": r.sex,
                              "old_value": r.value, "new_value": np.nan, "old_source": r.source,
                              "new_source": f"withdrawn: {reason}", "path": "withdraw", "sha256": "",
                              "revised_at": stamp} for r in gone.itertuples()],
                            columns=store.REVISION_COLUMNS)
        log = pd.DataFrame([{"path": "withdraw", "sha256": "", "ingested_at": stamp, "status": "withdrawn",
                             "rows_read": len(want), "rows_blank": 0, "rows_rejected": 0, "rows_new": 0,
                             "rows_revised": len(gone), "rows_unchanged": 0}], columns=store.LOG_COLUMNS)
        result = IngestResult(as_panel(panel[~hit], source="consolidated panel"), [], log, revs,
                              pd.DataFrame(columns=store.REJECTED_COLUMNS), True)
        result.written = _commit(out, state, result)
    return result


def _nearest_key(key: Any, panel: pd.DataFrame) -> str:
    """The panel key closest to one that is not in it, for a "did you mean": its indicator (or the
    closest id, a slip such as ``health.hiv_testng``), then as many of year, area and sex as
    match; '' when no indicator is close."""
    ids = pd.unique(panel["indicator"].astype(str))
    ind = str(key.indicator)
    if ind not in set(ids):
        close = difflib.get_close_matches(ind, list(ids), n=1, cutoff=0.75)
        if not close:
            return ""
        ind = close[0]
    rows = panel[panel["indicator"].astype(str) == ind]
    score = ((rows["year"].astype("Int64") == int(key.year)).fillna(False).astype(int) * 4
             + (rows["area"].astype(str) == str(key.area)).astype(int) * 2
             + (rows["sex"].astype(str) == str(key.sex)).astype(int))
    best = rows.loc[score.idxmax()]
    return f"({best['indicator']}, {int(best['year'])}, {best['area']}, {best['sex']})"


def _withdraw_keys(keys: pd.DataFrame) -> pd.DataFrame:
    """The keys to withdraw, each part read as a submission's cell is read (a year such as
    ``2024年``, an area code or name, 女/男/合计; area and sex default to the district and ``T``);
    a malformed part is refused in the clerk's words (``withdraw_bad_*`` in ``data/labels``)."""
    lo, hi = YEAR_RANGE
    district = codes.district()
    aliases = lk.sex_aliases()
    rows = []
    for r in keys.to_dict("records"):
        indicator = cell_text(r.get("indicator"))
        if not indicator:
            raise Refusal("withdraw_no_indicator")
        year, bad = parse_year(r.get("year"), lo=lo, hi=hi)
        if bad is not None:
            raise Refusal("withdraw_bad_year", found=cell_text(r.get("year")), lo=lo, hi=hi)
        area = cell_text(r.get("area"))
        try:
            area = str(gazetteer.lookup(area)) if area else district
        except LookupError:
            raise Refusal("withdraw_bad_area", found=area, district=district) from None
        sex = cell_text(r.get("sex"))
        code = aliases.get(sex.casefold(), "") if sex else "T"
        if not code:
            raise Refusal("withdraw_bad_sex", found=sex)
        rows.append((indicator, year, area, code))
    return pd.DataFrame(rows, columns=KEY).drop_duplicates()


def rebuild(*, out_dir: str | Path | None = None, catalog: pd.DataFrame | None = None,
            now: datetime | None = None, wait: float | None = None) -> IngestResult:
    """Rebuild the panel from the raw files listed in the ingest log, in their order.

    The log is taken from the committed generation if it is intact, else from the newest intact
    generation, else from the published ``ingest_log.csv``.  Every listed file must still exist
    with the same SHA-256 (raw files are never modified; a changed or missing file is an error
    and nothing is rebuilt).  The files are ingested again into an empty panel, each with
    ``keep_valid`` as the first time (status ``partial``), withdrawals are replayed from the
    revisions, and the result is committed as a new generation.

    Raises
    ------
    SubmissionError
        No ingest log, or a logged file is missing or changed (names every such file).
    """
    out = _out(out_dir)
    with store.lock(out, timeout=_lock_timeout(wait)):
        log, revisions = _surviving_log(out)
        missing, changed, files = [], [], []
        for i, r in enumerate(log.itertuples(), start=2):
            if r.status not in ("ingested", "partial"):
                continue
            path = Path(r.path)
            path = path if path.is_absolute() else REPO_DIR / path
            if not path.is_file():
                missing.append(f"ingest_log.csv:{i}: {r.path}")
            elif store.sha256_file(path) != r.sha256:
                changed.append(f"ingest_log.csv:{i}: {r.path}")
            files.append((path, r.status == "partial"))
        if missing or changed:
            raise Refusal("rebuild_failed", out, missing="; ".join(missing), changed="; ".join(changed))
        empty = store.State(as_panel(pd.DataFrame(columns=["indicator", "year", "value"])),
                            store._empty(store.LOG_COLUMNS), store._empty(store.REVISION_COLUMNS),
                            store._empty(store.REJECTED_COLUMNS), 0)
        cat = lk.catalog_index(catalog)
        stamp = _stamp(now)
        state, problems = empty, []
        result = None
        for path, keep in files:
            result = _merge([path], state, cat, keep_valid=keep, stamp=stamp)
            problems += result.problems
            kept = result.log[result.log["status"].isin(["ingested", "partial"])]
            state = store.State(result.panel, _concat(state.log, kept),
                                _concat(state.revisions, result.revisions),
                                _concat(state.rejected, result.rejected), 0)
        withdrawn = revisions[revisions["path"] == "withdraw"] if len(revisions) else revisions
        frame = state.panel.frame
        if len(withdrawn):
            w = withdrawn[KEY].astype({"year": "int64"})
            m = frame.merge(w, on=KEY, how="left", indicator="_m")
            frame = frame[(m["_m"] != "both").to_numpy()]
            state = store.State(as_panel(frame, source="consolidated panel"), state.log,
                                _concat(state.revisions, withdrawn), state.rejected, 0)
        written = store.commit(out, state)
    return IngestResult(state.panel, problems, state.log, state.revisions, state.rejected, True, written)


def _surviving_log(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = store.current_generation(out) if (out / "CURRENT").is_file() else None
    candidates: list[Path] = []
    gens = sorted((p for p in (out / "generations").glob("[0-9]*") if p.name.isdigit()),
                  key=lambda p: int(p.name), reverse=True)
    if n is not None:
        gens = [g for g in gens if int(g.name) <= n]
    candidates += gens + [out]
    for folder in candidates:
        try:
            log = store._read_table(folder / "ingest_log.csv", store.LOG_COLUMNS)
            revs = store._read_table(folder / "revisions.csv", store.REVISION_COLUMNS)
        except PanelError:
            continue
        if (folder / "ingest_log.csv").is_file():
            return log, revs
    raise Refusal("no_log", out)
