"""The shapes of the intake API: request bodies (`...In`, `...Create`: unknown fields refused)
and answers (`...Public`). The tables are in models.py.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, EmailStr, model_validator
from sqlmodel import Field, SQLModel

from shared.identifiers import BSN, INT32_MAX
from shared.money import EuroAmount
from shared.text import FreeText, Line

# --- API shapes: clients --------------------------------------------------------------------

SchemeName = Literal["prb", "pgb_bw", "pib", "rio_iro"]
BenefitName = Literal["WWB", "NUG", "WW", "WIA", "Wajong", "Wsw"]


class Strict(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]  # SQLModel types it as its own dict


class ClientFactsIn(Strict):
    """Facts for the admission rules; leave out what you do not know yet."""

    months_unemployed: int | None = Field(default=None, ge=0, le=1200)
    months_on_benefit: int | None = Field(default=None, ge=0, le=1200)
    single_parent: bool | None = None
    youngest_child_birth_date: date | None = None
    long_term_partially_disabled: bool | None = None
    # SQLModel's `regex=` is not enforced under pydantic 2; `pattern` is.
    resident_municipality_code: str | None = Field(default=None, schema_extra={"pattern": r"^\d{4}$"})
    other_running_trajectory: bool | None = Field(
        default=None, description="A trajectory elsewhere (UWV, another company); ours are counted automatically."
    )
    no_suitable_regular_offer: bool | None = None
    fair_chance_of_outflow: bool | None = None
    distance_to_labour_market_months: int | None = Field(default=None, ge=0, le=600)
    available_for_work: bool | None = None
    pib_request_granted: bool | None = Field(
        default=None, description="pib: the municipality assessed the request for a pib and granted it."
    )
    indication: Literal["moderate", "severe"] | None = Field(default=None, description="pgb bw: the Wsw indication.")
    # For the benchmark's statistics only (Table 4.1); monitoring gets them as categories.
    gender: Literal["female", "male", "other"] | None = None
    education: Literal["low", "middle", "high"] | None = Field(
        default=None,
        description="Highest education: low (up to vmbo/mbo 1), middle (havo, vwo, mbo 2-4), high (hbo, wo).",
    )


class ClientCreate(Strict):
    bsn: BSN
    client_number: Line = Field(min_length=1, max_length=40)
    name: Line = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: Line | None = Field(default=None, max_length=40)
    address: Line | None = Field(default=None, max_length=300)
    language: Literal["nl", "en"] = "nl"
    scheme: SchemeName = "prb"
    benefit_type: BenefitName = "WWB"
    date_of_birth: date | None = None
    facts: ClientFactsIn = Field(default_factory=ClientFactsIn)
    case_manager: Line | None = Field(default=None, max_length=80)


class ClientUpdate(Strict):
    """Only what is sent changes."""

    email: EmailStr | None = None
    phone: Line | None = Field(default=None, max_length=40)
    address: Line | None = Field(default=None, max_length=300)
    language: Literal["nl", "en"] | None = None
    scheme: SchemeName | None = None
    benefit_type: BenefitName | None = None
    date_of_birth: date | None = None
    facts: ClientFactsIn | None = None
    case_manager: Line | None = Field(default=None, min_length=1, max_length=80)


class PibPresetApply(Strict):
    """The pib scheme preset's one required setting: the report gives no amount for a pib."""

    maximum_budget: EuroAmount = Field(
        gt=0, le=1_000_000, description="The most a pib may cost, excluding VAT, set by the municipality."
    )


class PolicySettingChange(SQLModel):
    setting: str = Field(description="The setting's dotted name, e.g. `orientation.months`.")
    old: Any = Field(description="Its value before (null: not set).")
    new: Any = Field(description="Its value after (null: removed, the default applies).")


class PolicyChangePublic(SQLModel):
    id: str
    municipality: str
    changed_by: str = Field(description="Who: the token's subject.")
    role: str
    changed_at: datetime
    changes: list[PolicySettingChange]


class ClientPublic(SQLModel):
    id: str
    municipality: str
    bsn: str
    client_number: str
    name: str
    email: str | None
    phone: str | None
    address: str | None
    language: str
    scheme: str
    benefit_type: str
    date_of_birth: date | None
    facts: dict[str, Any]
    case_manager: str
    created_at: datetime


class RepresentativeCreate(Strict):
    subject: Line = Field(min_length=1, max_length=80, description="The representative's login (token subject).")
    name: Line = Field(min_length=1, max_length=200)
    relation: Literal["guardian", "mentor", "administrator", "helper", "family"]
    email: EmailStr | None = None


class RepresentativePublic(SQLModel):
    id: str
    client_id: str
    subject: str
    name: str
    relation: str
    email: str | None
    active: bool
    created_at: datetime


class ClientContactPublic(SQLModel):
    """Where to reach a client, for staff and for notifications at send time (role `service`)."""

    client_id: str
    email: str | None
    phone: str | None
    language: str
    representative_emails: list[str] = Field(description="The e-mail of each active representative that has one.")


class ContactCreate(Strict):
    contacted_on: date
    channel: Literal["information_meeting", "letter_with_reply_slip", "personal_talk", "phone", "email"]
    interest: Literal["interested", "not_interested", "undecided"]
    note: FreeText = Field(default="", max_length=2000)


class ContactPublic(SQLModel):
    id: str
    client_id: str
    contacted_on: date
    channel: str
    interest: str
    note: str
    recorded_by: str
    created_at: datetime


class OrientationStart(Strict):
    starts_on: date | None = Field(default=None, description="Today when left out.")
    scheme: SchemeName | None = None


class OrientationPublic(SQLModel):
    id: str
    client_id: str
    scheme: str
    starts_on: date
    ends_on: date
    budget: EuroAmount
    status: str


class CriterionPublic(SQLModel):
    kind: str
    passed: bool
    reason_nl: str
    reason_en: str
    unknown: bool


class EligibilityPublic(SQLModel):
    client_id: str
    scheme: str
    on: date
    eligible: bool
    criteria: list[CriterionPublic]


class CandidatePublic(SQLModel):
    client_id: str
    client_number: str
    scheme: str
    eligible: bool
    failed: list[str]
    unknown: list[str]
    last_contact: ContactPublic | None


# --- API shapes: the plan (Groningen format) ------------------------------------------------

PlanElementName = Literal["self_awareness", "job_mediation", "aftercare", "civic_integration", "reintegration"]
CategoryName = Literal[
    "coaching",
    "training_knowledge",
    "training_skills",
    "study_material",
    "job_mediation",
    "driving_lessons",
    "computer",
    "business_start_support",
    "other",
    "wage_cost_subsidy",
    "job_coaching",
    "workplace_adaptation",
]


def _text() -> Any:
    return Field(default="", max_length=8000)


class ForewordIn(Strict):
    situation: FreeText = _text()
    steps_so_far: FreeText = _text()
    why_this_budget: FreeText = _text()


class IntroductionIn(Strict):
    work_goal: FreeText = _text()
    other_goals: FreeText = _text()
    what_is_needed: FreeText = _text()


class LabourMarketIn(Strict):
    occupation: FreeText = _text()
    regional_demand: FreeText = _text()
    why_suited: FreeText = _text()


class PreconditionsIn(Strict):
    to_arrange: FreeText = _text()
    obstacles: FreeText = _text()


class ActivityIn(Strict):
    ref: Line = Field(min_length=1, max_length=40)
    description: FreeText = Field(min_length=1, max_length=2000)
    start: date
    end: date
    expected_result: FreeText = Field(default="", max_length=4000)
    elements: list[PlanElementName] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _dates_in_order(self) -> ActivityIn:
        if self.end < self.start:
            raise ValueError("end: an activity cannot end before it starts")
        return self


class StructureIn(Strict):
    activities: list[ActivityIn] = Field(default_factory=list, max_length=50)


class BudgetLineIn(Strict):
    id: Line | None = Field(
        default=None, max_length=36, description="Keep the id of a line you change; new lines get one."
    )
    activity_ref: Line = Field(min_length=1, max_length=40)
    description: FreeText = Field(default="", max_length=500)
    provider_name: Line = Field(default="", max_length=200)
    provider_kvk: Line | None = Field(default=None, max_length=20)
    category: CategoryName | None = None
    amount: EuroAmount = Field(description="Excluding VAT.")
    vat_rate: Decimal = Field(default=Decimal("21"), ge=0, le=100, decimal_places=2)
    quote_attachment_ids: list[Line] = Field(default_factory=list, max_length=10)
    business_investment: bool = False
    material_tied_to_course_or_job: bool | None = None
    holdback_percent: int = Field(default=0, ge=0, le=100, description="No cure, less pay: held until work is found.")
    product_code: Line | None = Field(
        default=None, max_length=40, description="A product of the municipality's price catalogue (GET /policy)."
    )
    quantity: Decimal | None = Field(
        default=None,
        gt=0,
        le=100000,
        decimal_places=2,
        description="How many of the product's unit (hours, sessions, ...); 1 when left out.",
    )


class BudgetIn(Strict):
    lines: list[BudgetLineIn] = Field(default_factory=list, max_length=50)


class PlanContent(Strict):
    title: Line = Field(default="", max_length=200)
    scheme: SchemeName | None = Field(default=None, description="The client's scheme when left out.")
    indication: Literal["moderate", "severe"] | None = None
    drafted_by_reintegration_company: bool = False
    foreword: ForewordIn = Field(default_factory=ForewordIn)
    introduction: IntroductionIn = Field(default_factory=IntroductionIn)
    labour_market: LabourMarketIn = Field(default_factory=LabourMarketIn)
    preconditions: PreconditionsIn = Field(default_factory=PreconditionsIn)
    structure: StructureIn = Field(default_factory=StructureIn)
    budget: BudgetIn = Field(default_factory=BudgetIn)


class PlanCreate(PlanContent):
    client_id: Line = Field(min_length=1, max_length=36)


class PlanSave(PlanContent):
    plan_version: int = Field(ge=1, le=INT32_MAX, description="The version you looked at; a changed plan answers 409.")


class FindingPublic(SQLModel):
    code: str
    severity: str
    field: str
    message_nl: str
    message_en: str


class GrantedLinePublic(SQLModel):
    line_id: str
    category: str
    provider_name: str
    asked: EuroAmount
    granted: EuroAmount
    starts_on: date | None
    ends_on: date | None
    holdback_percent: int


class PlanPublic(SQLModel):
    id: str
    municipality: str
    client_id: str
    status: str
    version: int
    scheme: str
    title: str
    content: dict[str, Any]
    latest_version_number: int
    submitted_version_number: int | None
    requested: EuroAmount
    granted: EuroAmount | None
    granted_lines: list[GrantedLinePublic] | None
    execution_deadline: date | None
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    closed_on: date | None
    closure_reason: str | None


class PlanVersionPublic(SQLModel):
    number: int
    kind: str
    sha256: str
    created_by: str
    created_at: datetime
    content: dict[str, Any] | None = None


class PlanChecksPublic(SQLModel):
    plan_id: str
    plan_version: int
    submittable: bool
    maximum: EuroAmount
    total: EuroAmount
    findings: list[FindingPublic]


class AttachmentPublic(SQLModel):
    id: str
    plan_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: datetime


class PlanVersionRef(Strict):
    plan_version: int = Field(ge=1, le=INT32_MAX, description="The version you looked at; a changed plan answers 409.")


# --- API shapes: review and decisions ---------------------------------------------------------

SectionName = Literal[
    "foreword", "introduction", "labour_market", "preconditions", "structure", "budget", "attachments"
]


class DecisionIn(PlanVersionRef):
    kind: Literal["approve", "return", "reject", "confirm"] = Field(
        description="approve (with conditions when you give them), return for changes, reject, or confirm an "
        "approval as the second reviewer."
    )
    granted: dict[Line, EuroAmount] | None = Field(
        default=None, description="Granted amount per budget line id; leave out to grant every line as asked."
    )
    holdback_percent: dict[Line, Annotated[int, Field(ge=0, le=100)]] | None = Field(
        default=None, description="Override the line's holdback (0-100 %) per plan line id."
    )
    conditions: list[FreeText] = Field(default_factory=list, max_length=20)
    reasons: list[FreeText] = Field(default_factory=list, max_length=20)
    contra_indications: list[FreeText] = Field(default_factory=list, max_length=20)
    comments: dict[SectionName, FreeText] = Field(default_factory=dict)
    assessments: dict[SectionName, FreeText] = Field(default_factory=dict)
    note: FreeText = Field(default="", max_length=4000)


class DecisionPublic(SQLModel):
    id: str
    review_id: str
    kind: str
    reviewer_id: str
    reviewer_role: str
    decided_on: date
    decided_at: datetime
    details: dict[str, Any]


class ReviewPublic(SQLModel):
    id: str
    plan_id: str
    client_id: str
    client_number: str
    plan_version_number: int
    case_manager: str
    status: str
    requested: EuroAmount
    submitted_on: date
    due_on: date
    warn_on: date
    age_days: int
    warning: bool
    overdue: bool
    first_reviewer: str | None


class ObjectionCreate(Strict):
    lodged_on: date
    grounds: FreeText = Field(min_length=1, max_length=8000)


class ObjectionPublic(SQLModel):
    id: str
    plan_id: str
    review_id: str
    lodged_on: date
    grounds: str
    late: bool
    status: str
    recorded_by: str
    created_at: datetime


class ChangeLineIn(Strict):
    id: Line = Field(min_length=1, max_length=36, description="A granted line's id, or a new id for a new line.")
    category: CategoryName
    provider_name: Line = Field(min_length=1, max_length=200)
    provider_kvk: Line | None = Field(default=None, max_length=20)
    starts_on: date
    ends_on: date
    amount: EuroAmount
    holdback_percent: int = Field(default=0, ge=0, le=100)

    @model_validator(mode="after")
    def _dates_in_order(self) -> ChangeLineIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on: a line cannot end before it starts")
        return self


class ChangeRequestCreate(PlanVersionRef):
    reason: FreeText = Field(min_length=1, max_length=4000)
    lines: list[ChangeLineIn] = Field(min_length=1, max_length=50)


class ChangeDecisionIn(PlanVersionRef):
    approve: bool
    note: FreeText = Field(default="", max_length=4000)


class ChangeRequestPublic(SQLModel):
    id: str
    plan_id: str
    status: str
    reason: str
    lines: list[dict[str, Any]]
    requested_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    refusal_reason: str | None = None


class CloseTrajectory(PlanVersionRef):
    reason: Literal["completed", "stopped_early", "expired"]
    closed_on: date | None = None
    note: FreeText = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _stopping_needs_a_reason(self) -> CloseTrajectory:
        if self.reason == "stopped_early" and not self.note.strip():
            raise ValueError("note: say why the trajectory stopped early")
        return self
