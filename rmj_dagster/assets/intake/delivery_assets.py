"""Receiving deliveries and the TTP step, for the deliveries of the run.

``raw_provider_drops`` claims each delivery's file from ``incoming/``, recognises it from its content
and quarantines what cannot be read; ``pseudonymised_*`` is the TTP step (see ``rmj_dagster.ttp.pseudonymise``),
after which the original is destroyed. Both are unpartitioned and take the run's deliveries from its
partition tags (one delivery partition or a range): only the leaf ``delivery_outcome`` is partitioned, so a
quarantined delivery is not materialised while everything after these steps still runs.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa

from rmj_dagster import codebook
from rmj_dagster.assets import identifier_scan
from rmj_dagster.assets.asset_keys import PYTHON_ASSET_PREFIX, asset_key
from rmj_dagster.assets.intake.delivery_observations import deliveries_of_run
from rmj_dagster.assets.table_metadata import OWNERS, table_metadata
from rmj_dagster.intake import file_names
from rmj_dagster.intake.detect import Quarantine, as_quarantine, inspect_claimed
from rmj_dagster.intake.kinds import KINDS
from rmj_dagster.intake.landing_zone import FileState, LandingZone, delivery_id_of, sha256_of
from rmj_dagster.intake.retention import destroy_expired_quarantine
from rmj_dagster.privacy import identifiers
from rmj_dagster.resources import LandingZoneResource, PseudonymKeyResource, Warehouse
from rmj_dagster.ttp import pseudonymise
from rmj_dagster.ttp.pseudonym import PseudonymKey
from rmj_dagster.warehouse import ddl, table_exists, transaction

_AUDIT_TABLES = ("audit.deliveries", "audit.file_receipts", "audit.key_labels")
_KEY_LABELS = ("audit.key_labels",)  # no delivery_id: one row per key label, scanned whole


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _files_by_delivery(zone: LandingZone, wanted: set[str]) -> dict[str, list[tuple[FileState, str]]]:
    found: dict[str, list[tuple[FileState, str]]] = {}
    for state in zone.scan():
        try:
            sha = sha256_of(zone.incoming / state.name)
        except OSError:
            continue  # removed meanwhile; the sensor will see it again if it comes back
        delivery_id = delivery_id_of(sha)
        if delivery_id in wanted:
            found.setdefault(delivery_id, []).append((state, sha))
    return found


@dataclass
class _Receipt:
    """A file of the run's deliveries, as its audit rows will record it."""

    delivery_id: str
    state: FileState
    sha: str
    first: bool  # the delivery's first file (registered), not a copy of its bytes
    path: Path | None = None  # where it is now, for a first file once claimed
    kind: str | None = None
    agb: str | None = None
    source_format: str | None = None
    row: dict = field(default_factory=dict)  # audit.deliveries' row, for a first file
    problem: Quarantine | None = None
    name: str = ""


_DELIVERY_COLUMNS = {
    "delivery_id": pa.string(), "sha256": pa.string(), "file_name": pa.string(), "size_bytes": pa.int64(),
    "received_at": pa.timestamp("us"), "kind": pa.string(), "source_format": pa.string(), "encoding": pa.string(),
    "delimiter": pa.string(), "status": pa.string(), "reason_code": pa.string(), "reason_message": pa.string(),
    "extra_columns": pa.string(), "processed_at": pa.timestamp("us"),
}
_RECEIPT_COLUMNS = {
    "sha256": pa.string(), "delivery_id": pa.string(), "file_name": pa.string(), "size_bytes": pa.int64(),
    "received_at": pa.timestamp("us"), "outcome": pa.string(), "recorded_at": pa.timestamp("us"),
    "destroyed_at": pa.timestamp("us"), "kept_at": pa.string(),
}


def receive_all(con: duckdb.DuckDBPyConnection, zone: LandingZone, delivery_ids: list[str],
                files: dict[str, list[tuple[FileState, str]]], retain: bool, log) -> dict[str, str]:
    """Claim, inspect and register the run's deliveries; returns what happened to each (for the run's log).

    Each file is claimed and inspected in turn; the audit trail is written for all at once (a statement and a
    commit per delivery cost more than its file): the derived names from one query, then each unreadable file
    moved to quarantine and recorded at once (out of ``incoming/`` and ``received/``, a rerun would not find
    it), the copies of known bytes destroyed, then one transaction inserts every other delivery and receipt.
    A kill before that commit leaves the claims in ``received/``, which the rerun registers."""
    known = {d: (status, kind, source_format, name) for d, status, kind, source_format, name in con.execute(
        "select delivery_id, status, kind, source_format, file_name from audit.deliveries "
        "where list_contains(?, delivery_id)", [delivery_ids]).fetchall()}
    receipts: list[_Receipt] = []
    outcomes: dict[str, str] = {}
    for delivery_id in delivery_ids:
        found = files.get(delivery_id, [])
        if delivery_id in known:
            status = known[delivery_id][0]
            outcomes[delivery_id] = f"duplicate of {status} delivery" if found else f"already {status}"
            receipts += [_Receipt(delivery_id, state, sha, first=False) for state, sha in found]
            continue
        claimed = zone.claimed(delivery_id)
        if claimed is not None:  # claimed by a run that was killed before it registered the file
            stat = claimed.stat()
            found = [(FileState(claimed.name, stat.st_size, stat.st_mtime_ns, stat.st_ino,
                                zone.first_seen_of_claim(delivery_id)), sha256_of(claimed)), *found]
        if not found:
            outcomes[delivery_id] = "no file in incoming"
            continue
        (state, sha), *copies = found
        receipts.append(_Receipt(delivery_id, state, sha, first=True, path=claimed))
        receipts += [_Receipt(delivery_id, state, sha, first=False) for state, sha in copies]
    firsts = [r for r in receipts if r.first]
    to_claim = [r for r in firsts if r.path is None]
    for receipt, path in zip(to_claim, zone.claim_all([(r.state.name, r.delivery_id) for r in to_claim]), strict=True):
        receipt.path = path
    of_delivery = {d: (kind, _agb_of_name(name, kind), source_format) for d, (_, kind, source_format, name) in known.items()}
    for receipt in receipts:
        if receipt.first:
            _inspect(receipt)
            of_delivery[receipt.delivery_id] = (receipt.kind, receipt.agb, receipt.source_format)
        else:
            receipt.kind, receipt.agb, receipt.source_format = of_delivery[receipt.delivery_id]
    names = file_names.derived_names(con, [(r.kind, r.agb, r.state.received_at,
                                            file_names.extension_for(r.source_format, r.state.name)) for r in receipts])
    for receipt, name in zip(receipts, names, strict=True):
        receipt.name = receipt.row["file_name"] = name
    for receipt in firsts:
        outcomes[receipt.delivery_id] = receipt.row["status"]
        if receipt.problem is not None:
            zone.quarantine(receipt.path, delivery_id=receipt.delivery_id, sha256=receipt.sha, code=receipt.problem.code,
                            message=receipt.problem.message, stored_name=receipt.name)
            # recorded at once, as the file left incoming: a later failure of the run must not leave a
            # quarantined file that no audit row names (a rerun no longer finds it in incoming)
            _register(con, [receipt], [])
            log.warning(f"delivery {receipt.delivery_id} ({receipt.name}) quarantined: {receipt.problem.code}: {receipt.problem.message}")
    copies = [r for r in receipts if not r.first]
    kept = zone.dispose_all([zone.incoming / r.state.name for r in copies], retain=retain)
    for receipt in copies:  # the same bytes again under another name: one delivery, counted once
        log.info(f"delivery {receipt.delivery_id}: {receipt.name} repeats known bytes; recorded as duplicate, not processed again")
    _register(con, [r for r in firsts if r.problem is None], list(zip(copies, kept, strict=True)))
    return outcomes


def _register(con: duckdb.DuckDBPyConnection, firsts: list[_Receipt], copies: list[tuple[_Receipt, Path | None]]) -> None:
    """In one transaction: the audit rows of deliveries received (``firsts``) and the receipts of their files and
    of ``copies`` (a copy's original destroyed, or kept where ``kept`` names it)."""
    if not firsts and not copies:
        return
    now = _now()
    deliveries = pa.Table.from_pylist(  # noqa: F841 -- replacement scan
        [{c: r.row.get(c) for c in _DELIVERY_COLUMNS} for r in firsts], schema=pa.schema(_DELIVERY_COLUMNS))
    file_receipts = pa.Table.from_pylist([  # noqa: F841 -- replacement scan
        {"sha256": r.sha, "delivery_id": r.delivery_id, "file_name": r.name, "size_bytes": r.state.size,
         "received_at": r.state.received_at, "outcome": r.row["status"] if r.first else "duplicate", "recorded_at": now,
         "destroyed_at": None if r.first or k else now, "kept_at": str(k) if k else None}
        for r, k in [*((r, None) for r in firsts), *copies]], schema=pa.schema(_RECEIPT_COLUMNS))
    with transaction(con):
        con.execute(f"insert or replace into audit.deliveries ({', '.join(_DELIVERY_COLUMNS)}) "
                    f"select {', '.join(_DELIVERY_COLUMNS)} from deliveries")
        con.execute(f"insert or replace into audit.file_receipts ({', '.join(_RECEIPT_COLUMNS)}) "
                    f"select {', '.join(_RECEIPT_COLUMNS)} from file_receipts")


def _agb_of_name(name: str, kind: str | None) -> str:
    """The AGB part of a delivery's derived name (its copies are named with it)."""
    return name.removeprefix(f"{kind or file_names.UNKNOWN}_")[:8]


def _inspect(receipt: _Receipt) -> None:
    """Inspect a delivery's claimed file: its audit row, kind and AGB, or the reason to quarantine it."""
    path, state = receipt.path, receipt.state
    receipt.row = dict(delivery_id=receipt.delivery_id, sha256=receipt.sha, size_bytes=state.size,
                       received_at=state.received_at, status="received", processed_at=_now())
    try:
        inspection = inspect_claimed(path)
        receipt.row |= dict(kind=inspection.kind.name, source_format=inspection.source_format,
                            encoding=inspection.encoding, delimiter=inspection.delimiter,
                            extra_columns=identifiers.column_names_for_audit(inspection.header, inspection.extra_columns))
        receipt.kind, receipt.source_format = inspection.kind.name, inspection.source_format
        receipt.agb = file_names.provider_agb(path, inspection.encoding, inspection.delimiter)
    except Exception as error:  # anything that goes wrong reading a delivery quarantines it, never the run
        problem = as_quarantine(error)
        if problem is None:  # the machine failed, not the file: the run fails, the original waits for the retry
            raise
        receipt.agb = file_names.provider_agb(path)
        receipt.problem = problem
        receipt.row |= dict(status="quarantined", reason_code=problem.code, reason_message=problem.message)


def key_labels_in_warehouse(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The key labels of every pseudonymised row already stored (a pseudo table not made yet holds none)."""
    tables = [kind.table for kind in KINDS.values() if table_exists(con, kind.table)]
    if not tables:
        return set()
    selects = " union ".join(f"select distinct key_label from {table}" for table in tables)
    return {label for (label,) in con.execute(selects).fetchall()}


def key_bindings_in_warehouse(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each key label with the fingerprint of the key it was first used with (``audit.key_labels``)."""
    return dict(con.execute("select key_label, key_fingerprint from audit.key_labels").fetchall())


def refuse_unfit_key(con: duckdb.DuckDBPyConnection, hmac_key, *, record: bool = True) -> None:
    """Before any file is read: refuse a key that would not link with what is stored (another label, or
    another key under a known label); then, with ``record``, bind this label to this key's fingerprint."""
    hmac_key.refuse_to_mix(key_labels_in_warehouse(con) | set(key_bindings_in_warehouse(con)), key_bindings_in_warehouse(con))
    if record:
        con.execute(
            "insert into audit.key_labels select ?, ?, ? where not exists "
            "(select 1 from audit.key_labels where key_label = ?)",
            [hmac_key.label, hmac_key.binding, _now(), hmac_key.label],
        )


@dg.asset(
    key_prefix=[PYTHON_ASSET_PREFIX["raw_provider_drops"]],
    pool="duckdb",
    group_name="intake",
    kinds={"file", "duckdb"},
    owners=OWNERS,
    description=(
        "Provider deliveries received from the landing zone: the run's delivery partitions (one per distinct "
        "file content). Each file is claimed from incoming/, its kind recognised from its content and its "
        "format checked; unreadable files are quarantined with a reason. Writes the audit trail "
        "(audit.deliveries, audit.file_receipts, audit.key_labels), never row content. Per delivery: the "
        "delivery_outcome partition."
    ),
    check_specs=[identifier_scan.spec(asset_key("raw_provider_drops"), list(_AUDIT_TABLES))],
)
def raw_provider_drops(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    landing: LandingZoneResource,
    pseudonym_key: PseudonymKeyResource,
) -> dg.MaterializeResult:
    hmac_key = pseudonym_key.load()  # refuse before any file is read when there is no fit key ...
    zone = landing.zone()
    delivery_ids = deliveries_of_run(context)
    with warehouse.connect() as con:
        ddl.ensure_tables(con)
        refuse_unfit_key(con, hmac_key)  # ... or one that would not link with what is stored
        for destroyed in destroy_expired_quarantine(con, zone):
            context.log.info(f"quarantined delivery {destroyed} destroyed: its retention period has passed")
        files = _files_by_delivery(zone, set(delivery_ids))
        outcomes = receive_all(con, zone, delivery_ids, files, landing.retain_originals, context.log)
        metadata = table_metadata(con, "audit.deliveries")
        check = identifier_scan.result(con, asset_key("raw_provider_drops"), list(_AUDIT_TABLES),
                                       where=identifier_scan.rows_in("delivery_id", delivery_ids), scope=f"rows of the run's {len(delivery_ids)} deliveries",
                                       whole=_KEY_LABELS)
    # Each delivery's own figures (file, kind, status or quarantine reason, rows) are reported once, after the
    # reconciliation of the same run, on its delivery_outcome partition.
    counts = {o: sum(1 for v in outcomes.values() if v == o) for o in sorted(set(outcomes.values()))}
    context.log.info(f"receipt of {len(delivery_ids)} delivery(ies): "
                     + ", ".join(f"{o} {n}" for o, n in counts.items()))
    return dg.MaterializeResult(metadata=metadata | {"deliveries_this_run": len(delivery_ids)}, check_results=[check])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            asset_key(kind.asset),
            deps=[raw_provider_drops],
            description=(
                f"{kind.name} rows of each delivery after the TTP step ({kind.table}): BSN replaced by the "
                "keyed pseudonym (HMAC-SHA256), birth date reduced to year-month and age, names and "
                "free text dropped. Not partitioned, like staging: a run replaces the rows of its own "
                "deliveries (delete-then-insert by delivery_id); per delivery, see the delivery_outcome "
                "partition (status, rows read, accepted and rejected)."
            ),
            group_name="intake",
            kinds={"duckdb"},
            owners=OWNERS,
            metadata={"dagster/table_name": kind.table},
        )
        for kind in KINDS.values()
    ],
    check_specs=[identifier_scan.spec(asset_key(kind.asset), [kind.table]) for kind in KINDS.values()],
    pool="duckdb",
)
def pseudonymised_deliveries(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    landing: LandingZoneResource,
    pseudonym_key: PseudonymKeyResource,
):
    hmac_key = pseudonym_key.load()
    zone = landing.zone()
    # The TTP output is not partitioned by delivery: a run over 120 deliveries would log 480 materialisations
    # (four tables per delivery, three of them empty), each a write to the instance (~4 s of a national year).
    delivery_ids = deliveries_of_run(context)
    with warehouse.connect() as con:
        ddl.ensure_tables(con)
        refuse_unfit_key(con, hmac_key)
        _record_unrecorded_destructions(con, zone, landing.retain_originals)
        batch = pseudonymise.Batch(con, _record_loaded(con, hmac_key))
        judged = pseudonymise.Judged(con)  # each distinct BSN hashed once per step
        waiting: dict[str, tuple] = {}
        batch_rows = int(codebook.parameter("ttp_batch_rows"))
        try:
            claimed = _claimed(con, zone, delivery_ids, context.log)
            for group in pseudonymise.read_together(claimed):
                outcomes = pseudonymise.load_deliveries(con, group, hmac_key, batch, judged)
                for delivery in group:
                    outcome = outcomes[delivery.delivery_id]
                    if isinstance(outcome, Quarantine):
                        _quarantine(con, zone, delivery.path, delivery.delivery_id, outcome, context.log)
                    else:
                        waiting[delivery.delivery_id] = (delivery.path, delivery.inspection.kind.name, outcome)
                if batch.rows >= batch_rows:
                    _store(con, zone, batch, waiting, landing.retain_originals, context.log)
            _store(con, zone, batch, waiting, landing.retain_originals, context.log)
        finally:
            batch.discard()  # after a failure: nothing of the batch stored, its originals wait for the rerun
            judged.drop()
        scanned = _to_scan(context, con, delivery_ids)
        for kind in KINDS.values():
            key_ = asset_key(kind.asset)
            check = identifier_scan.result(con, key_, [kind.table], where=identifier_scan.rows_in("delivery_id", scanned),
                                           scope=f"rows of {len(scanned)} deliveries")
            yield dg.MaterializeResult(asset_key=key_, metadata=table_metadata(con, kind.table) | {
                "deliveries_this_run": len(delivery_ids)}, check_results=[check])


def _to_scan(context: dg.AssetExecutionContext, con, delivery_ids: list[str]) -> list[str]:
    """The run's deliveries, and any loaded by an earlier run that died before it reported them (its rows
    were committed but never scanned by the step): those loaded after the step last reported."""
    last = context.instance.get_latest_materialization_event(asset_key(next(iter(KINDS.values())).asset))
    since = None if last is None else datetime.fromtimestamp(last.timestamp, UTC).replace(tzinfo=None)
    unreported = con.execute(
        "select delivery_id from audit.deliveries where status = 'loaded' and (?::timestamp is null or processed_at > ?)",
        [since, since]).fetchall()
    return sorted(set(delivery_ids) | {d for (d,) in unreported})


def _record_destruction(con, kept_of: dict[str, object]) -> None:
    """Audit that the originals are gone (or, in development, where they were kept): one transaction, one
    statement per audit table for all of them."""
    if not kept_of:
        return
    kept = (list(kept_of), [str(k) if k else None for k in kept_of.values()], _now())
    changes = "(select unnest(?::varchar[]) as delivery_id, unnest(?::varchar[]) as kept) k"
    with transaction(con):
        con.execute(f"update audit.deliveries d set destroyed_at = case when k.kept is null then ?::timestamp end "
                    f"from {changes} where d.delivery_id = k.delivery_id", [kept[2], kept[0], kept[1]])
        con.execute(f"update audit.file_receipts r set outcome = 'processed', kept_at = k.kept, "
                    f"destroyed_at = case when k.kept is null then ?::timestamp end "
                    f"from {changes} where r.delivery_id = k.delivery_id and r.outcome = 'received'",
                    [kept[2], kept[0], kept[1]])


def _record_unrecorded_destructions(con, zone: LandingZone, retain: bool) -> None:
    """A run killed between destroying an original and recording it leaves a loaded delivery with no file
    and no ``destroyed_at``; no later run has it among its deliveries, so every run looks for such ones."""
    if retain:
        return
    unrecorded = con.execute(
        "select delivery_id from audit.deliveries where status = 'loaded' and destroyed_at is null"
    ).fetchall()
    _record_destruction(con, {delivery_id: None for (delivery_id,) in unrecorded if zone.claimed(delivery_id) is None})


def _claimed(con, zone: LandingZone, delivery_ids: list[str], log) -> list[pseudonymise.Delivery]:
    """The run's deliveries still to pseudonymise, inspected (a file that fails inspection is quarantined)."""
    status = dict(con.execute("select delivery_id, status from audit.deliveries where list_contains(?, delivery_id)",
                              [delivery_ids]).fetchall())
    claimed = []
    for delivery_id in delivery_ids:
        path = zone.claimed(delivery_id)
        if status.get(delivery_id) in (None, "quarantined") or path is None:
            continue  # nothing received, quarantined, or processed earlier (original already destroyed)
        try:
            inspection = inspect_claimed(path)  # inspected on receipt in this process: not read again
        except Exception as error:  # anything wrong with a delivery's file quarantines it, never the run
            problem = as_quarantine(error)
            if problem is None:  # the machine failed, not the file: the run fails, the original waits for the retry
                raise
            _quarantine(con, zone, path, delivery_id, problem, log)
            continue
        claimed.append(pseudonymise.Delivery(delivery_id, path, inspection))
    return claimed


def _record_loaded(con, hmac_key: PseudonymKey):
    def record_loaded(loaded: list[tuple[str, int]]) -> None:  # in the transaction that stores the rows: both or neither
        con.execute(
            "update audit.deliveries d set status = 'loaded', rows_read = l.rows_read, key_label = ?, processed_at = ? "
            "from (select unnest(?::varchar[]) as delivery_id, unnest(?::bigint[]) as rows_read) l "
            "where d.delivery_id = l.delivery_id",
            [hmac_key.label, _now(), [d for d, _ in loaded], [rows for _, rows in loaded]],
        )
    return record_loaded


def _quarantine(con, zone: LandingZone, path, delivery_id: str, problem: Quarantine, log) -> None:
    (name,) = con.execute("select file_name from audit.deliveries where delivery_id = ?", [delivery_id]).fetchone()
    zone.quarantine(path, delivery_id=delivery_id, sha256="", code=problem.code, message=problem.message, stored_name=name)
    with transaction(con):
        con.execute(
            "update audit.deliveries set status = 'quarantined', reason_code = ?, reason_message = ?, "
            "processed_at = ? where delivery_id = ?",
            [problem.code, problem.message, _now(), delivery_id],
        )
        con.execute("update audit.file_receipts set outcome = 'quarantined' where delivery_id = ? and outcome = 'received'",
                    [delivery_id])
    log.warning(f"delivery {delivery_id} quarantined while loading: {problem.code}: {problem.message}")


def _store(con, zone: LandingZone, batch: pseudonymise.Batch, waiting: dict[str, tuple], retain: bool, log) -> None:
    """Store the batch (rows and loaded status in one transaction), then destroy the originals: only after
    their rows are committed. A kill in between leaves loaded deliveries with their original still claimed:
    the rerun loads them again (delete-then-insert) or records the destruction it missed."""
    stored: dict[str, list[int]] = {}  # kind -> [deliveries, rows]
    done = {delivery_id: waiting.pop(delivery_id) for delivery_id in batch.store()}
    # each original destroyed, then the batch's destructions recorded at once: a kill in between leaves
    # loaded deliveries without their original, which the next run records (_record_unrecorded_destructions)
    kept_of = dict(zip(done, zone.dispose_all([path for path, _kind, _rows in done.values()], retain=retain), strict=True))
    _record_destruction(con, kept_of)
    for _path, kind, rows in done.values():
        stored.setdefault(kind, [0, 0])
        stored[kind][0] += 1
        stored[kind][1] += rows
    kept_any = any(kept is not None for kept in kept_of.values())
    if stored:  # one line per stored batch: an event per delivery costs the run more than the line is worth
        counts = ", ".join(f"{n} {kind} ({rows} rows)" for kind, (n, rows) in sorted(stored.items()))
        log.info(f"pseudonymised and stored: {counts}; originals {'kept (development retention)' if kept_any else 'destroyed'} "
                 "(per delivery: audit.deliveries and its delivery_outcome partition)")
