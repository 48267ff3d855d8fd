"""The research export: one pseudonymised row per plan trajectory started in a period, as CSV or
typed Parquet, and the log of who exported what, when (domain/research_export.py says what a row
may hold). Every export writes its log row in the same transaction that reads the rows."""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlmodel import Session, col, select

from services.monitoring.domain import research_export as rows
from services.monitoring.domain.research_export import COLUMNS, PROVISIONS, SOFT, Kind, Pseudonyms
from services.monitoring.domain.trajectory import TrajectoryKind
from services.monitoring.models import Trajectory
from services.monitoring.models_experiments import (
    Experiment,
    ExperimentAssignment,
    ResearchExportLog,
    ResearchExportLogPublic,
)
from services.monitoring.permissions import Action, authorize
from shared.access import ensure_visible
from shared.auth import Principal
from shared.errors import Forbidden, NotFound, RuleBroken
from shared.money import Money
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


MEDIA_TYPES = {ExportFormat.CSV: "text/csv; charset=utf-8", ExportFormat.PARQUET: "application/vnd.apache.parquet"}
EURO = pa.decimal128(14, 2)
ARROW_TYPES = {
    Kind.TEXT: pa.string(),
    Kind.MONTH: pa.string(),
    Kind.FLAG: pa.bool_(),
    Kind.FLAG_OR_NONE: pa.bool_(),
    Kind.COUNT: pa.int64(),
    Kind.EUROS: EURO,
}
SCHEMA = pa.schema(
    [
        pa.field(c.name, ARROW_TYPES[c.kind], nullable=c.kind not in (Kind.FLAG, Kind.COUNT, Kind.EUROS))
        for c in COLUMNS
    ],
    metadata={c.name: c.description for c in COLUMNS},
)


def _check_request(who: Principal, municipality: str | None, start: date | None, end: date | None) -> str:
    asked = municipality or who.municipality
    if asked != who.municipality:
        raise Forbidden(
            "research_export.other_municipality",
            "You may export your own municipality's trajectories only.",
            "municipality",
            message_nl="U mag alleen de trajecten van uw eigen gemeente exporteren.",
        )
    if start is not None and end is not None and end < start:
        raise RuleBroken(
            "period.end_before_start",
            "The end of the period (to) lies before its start (from).",
            "to",
            message_nl="Het einde van de periode (to) ligt voor het begin (from).",
        )
    return asked


def _groups_by_client(session: Session, who: Principal, municipality: str, experiment_id: str | None) -> dict[str, str]:
    """client id -> group key: in the experiment asked for, else the client's first assignment."""
    query = select(ExperimentAssignment).where(ExperimentAssignment.municipality == municipality)
    if experiment_id is not None:
        experiment = session.get(Experiment, experiment_id)
        if experiment is None:
            raise NotFound("experiment", "experiment")
        ensure_visible(who, municipality=experiment.municipality, client_id=None, what="experiment")
        query = query.where(ExperimentAssignment.experiment_id == experiment_id)
    query = query.order_by(col(ExperimentAssignment.assigned_at), col(ExperimentAssignment.id))
    groups: dict[str, str] = {}
    for a in session.exec(query):
        groups.setdefault(a.client_id, a.group_key)
    return groups


def _row(t: Trajectory, pseudonym: str, group: str | None) -> dict[str, Any]:
    recorded = t.provisions_recorded
    return {
        "pseudonym": pseudonym,
        "municipality": t.municipality,
        "scheme": t.scheme,
        "benefit": t.benefit,
        "gender": t.gender,
        "age_band": t.age_band,
        "benefit_duration": t.benefit_duration,
        "education": t.education,
        **{name: getattr(t, name) for name in SOFT},
        "provisions_recorded": recorded,
        **{name: getattr(t, name) if recorded else None for name in PROVISIONS},
        "contact_hours": t.contact_hours,
        "start_month": rows.month(t.started_on),
        "close_month": rows.month(t.closed_on),
        "status": str(t.status),
        "outcome_category": rows.outcome_row(t.outcome_category, str(t.status)),
        "kind_of_work": t.kind_of_work,
        "outflow_month": rows.month(t.outflow_on),
        "durable": t.durable,
        "granted_euros": Money(t.granted_cents).decimal,
        "paid_euros": Money(t.spent_cents).decimal,
        "case_minutes": t.case_minutes,
        "experiment_group": group,
    }


def export_rows(
    session: Session,
    who: Principal,
    *,
    municipality: str,
    start: date | None,
    end: date | None,
    scheme: str | None,
    experiment_id: str | None,
    key: bytes,
) -> list[dict[str, Any]]:
    """The rows, in the order of their pseudonyms (so the order says nothing about the dates)."""
    groups = _groups_by_client(session, who, municipality, experiment_id)
    query = select(Trajectory).where(Trajectory.municipality == municipality, Trajectory.kind == TrajectoryKind.PLAN)
    if start is not None:
        query = query.where(Trajectory.started_on >= start)
    if end is not None:
        query = query.where(Trajectory.started_on <= end)
    if scheme is not None:
        query = query.where(Trajectory.scheme == scheme)
    pseudonym = Pseudonyms(key)
    answer = [_row(t, pseudonym(t.plan_id), groups.get(t.client_id)) for t in session.exec(query)]
    return sorted(answer, key=lambda r: r["pseudonym"])


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(table: Sequence[dict[str, Any]]) -> bytes:
    """RFC 4180: comma-separated, a header row, decimal points, empty for not recorded."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(rows.NAMES)
    for row in table:
        writer.writerow([_csv_value(row[name]) for name in rows.NAMES])
    return out.getvalue().encode("utf-8")


def to_parquet(table: Sequence[dict[str, Any]]) -> bytes:
    """Parquet with typed columns (SCHEMA): strings, booleans, int64 minutes, decimal(14,2) euros."""
    columns = {c.name: [row[c.name] for row in table] for c in COLUMNS}
    arrow = pa.Table.from_pydict(columns, schema=SCHEMA)
    sink = io.BytesIO()
    pq.write_table(arrow, sink)
    return sink.getvalue()


def export(
    uow: UnitOfWork,
    who: Principal,
    *,
    municipality: str | None,
    start: date | None,
    end: date | None,
    scheme: str | None,
    experiment_id: str | None,
    fmt: ExportFormat,
) -> tuple[bytes, str, str]:
    """(body, media type, file name). A key made here for this export alone, never stored or logged."""
    authorize(who, Action.EXPORT_RESEARCH)
    asked = _check_request(who, municipality, start, end)
    table = export_rows(
        uow.session,
        who,
        municipality=asked,
        start=start,
        end=end,
        scheme=scheme,
        experiment_id=experiment_id,
        key=secrets.token_bytes(rows.KEY_BYTES),
    )
    body = to_csv(table) if fmt == ExportFormat.CSV else to_parquet(table)
    now = uow.clock.now()
    filters = {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "scheme": scheme,
        "experiment_id": experiment_id,
    }
    log = ResearchExportLog(
        id=str(uuid.uuid4()),
        municipality=asked,
        requested_by=who.subject,
        role=who.role.value,
        filters=filters,
        format=fmt.value,
        row_count=len(table),
        at=now,
    )
    uow.session.add(log)
    uow.commit()
    name = f"research-export-{asked}-{now:%Y%m%d%H%M%S}.{fmt.value}"
    return body, MEDIA_TYPES[fmt], name


def list_exports(session: Session, who: Principal, page: PageRequest) -> Page[ResearchExportLogPublic]:
    """The log of the caller's municipality, newest first."""
    authorize(who, Action.READ_RESEARCH_EXPORTS)
    query = select(ResearchExportLog).where(ResearchExportLog.municipality == who.municipality)
    query = query.order_by(col(ResearchExportLog.at).desc(), col(ResearchExportLog.id))
    return page_of(session, query, page).map(lambda r: ResearchExportLogPublic.model_validate(r, from_attributes=True))
