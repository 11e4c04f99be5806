"""The contract of each raw extract: one source of truth.

The loader reads files by it, the generator writes files by it, the raw
quality suites and the README describe it. A user points the pipeline at their
own files by delivering files that follow these contracts into
``$SEGMENTS_LANDING/<source>/``.

Raw tables keep every delivered column as VARCHAR ("as delivered"); staging
models in dbt do the casting and normalisation, so a messy value is never lost
at load time. Each raw table also carries load metadata columns
(``LOAD_METADATA_COLUMNS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    kind: str  # what the value means: id, text, email, phone, date, timestamp, int, decimal, bool, enum
    description: str
    accepted: tuple[str, ...] = ()  # for kind == "enum"


@dataclass(frozen=True)
class Source:
    name: str                  # folder under landing/ and the source name in dbt
    table: str                 # raw.<table> in the warehouse
    file_prefix: str           # files are <prefix>_<YYYY-MM-DD>[_partNNNN].<ext>
    default_format: str        # csv | jsonl | parquet (each may be gzip-compressed)
    key: tuple[str, ...]       # unique inside one file
    columns: tuple[Column, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


DATE_FORMATS_ACCEPTED = ("YYYY-MM-DD", "DD.MM.YYYY", "MM/DD/YYYY", "DD Mon YYYY (e.g. 07 Mar 1985)")
TIMESTAMP_FORMAT = "ISO 8601 with UTC offset, e.g. 2026-11-20T14:03:11+01:00 (a trailing Z is UTC)"
BOOL_ACCEPTED = ("true", "false", "yes", "no", "y", "n", "1", "0", "")

CRM = Source(
    name="crm",
    table="crm_customers",
    file_prefix="crm_customers",
    default_format="csv",
    key=("crm_id",),
    description="One row per CRM record. Later extracts may repeat a crm_id with updated values; the row with the newest updated_at wins.",
    columns=(
        Column("crm_id", True, "id", "CRM record id, e.g. CRM-0000042"),
        Column("first_name", False, "text", "Given name, any case, may carry accents"),
        Column("last_name", False, "text", "Family name"),
        Column("email", False, "email", "Email address, any case, may carry spaces"),
        Column("phone", False, "phone", "Phone in any common format: +49 30 1234567, 030/1234567, (030) 123-4567"),
        Column("birth_date", False, "date", "Birth date in one of " + ", ".join(DATE_FORMATS_ACCEPTED)),
        Column("street", False, "text", "Street and house number"),
        Column("city", False, "text", "City"),
        Column("postal_code", False, "text", "Postal code"),
        Column("country", False, "text", "ISO 3166 alpha-2 code or English country name"),
        Column("signup_date", False, "date", "Date the customer signed up, formats as birth_date"),
        Column("email_opt_in", False, "bool", "Consent to marketing email: " + "/".join(BOOL_ACCEPTED[:-1]) + " or empty (unknown = no)"),
        Column("sms_opt_in", False, "bool", "Consent to marketing SMS, values as email_opt_in"),
        Column("updated_at", True, "timestamp", "When the CRM last changed this record: " + TIMESTAMP_FORMAT),
    ),
)

EVENT_TYPES = (
    "page_view", "product_view", "search", "add_to_cart", "remove_from_cart",
    "checkout_started", "purchase", "email_open", "email_click", "login",
)

EVENTS = Source(
    name="events",
    table="web_events",
    file_prefix="web_events",
    default_format="jsonl",
    key=("event_id",),
    description="Web and app analytics events, one JSON object per line. Anonymous visitors carry only anonymous_id until a login event links it to user_id. Email events come from the email service and carry the email address instead.",
    columns=(
        Column("event_id", True, "id", "Unique event id"),
        Column("event_ts", True, "timestamp", "When it happened: " + TIMESTAMP_FORMAT),
        Column("event_type", True, "enum", "What happened", EVENT_TYPES),
        Column("anonymous_id", False, "id", "Cookie / device id; empty for email events"),
        Column("user_id", False, "id", "CRM id of the logged-in user; empty while anonymous"),
        Column("email", False, "email", "Recipient address, on email_open and email_click only"),
        Column("session_id", False, "id", "Session id; empty for email events"),
        Column("page_url", False, "text", "Page path"),
        Column("product_id", False, "id", "Product on product_view, add_to_cart, remove_from_cart"),
        Column("order_id", False, "id", "Order on purchase events"),
        Column("device_type", False, "enum", "Device class", ("desktop", "mobile", "tablet", "")),
        Column("os", False, "text", "Operating system"),
        Column("referrer", False, "text", "Referring host"),
        Column("utm_source", False, "text", "Campaign source"),
        Column("utm_medium", False, "text", "Campaign medium"),
        Column("utm_campaign", False, "text", "Campaign name"),
        Column("tracking_consent", False, "bool", "Visitor consented to tracking/personalisation; values as CRM booleans"),
    ),
)

ORDER_STATUSES = ("completed", "cancelled", "refunded")
CHANNELS = ("web", "app", "store")
CURRENCIES = ("EUR", "USD", "GBP")

ORDERS = Source(
    name="orders",
    table="order_lines",
    file_prefix="order_lines",
    default_format="csv",
    key=("order_id", "line_number"),
    description="Order lines from the shop system. Guest checkouts have no crm_id and are known only by email.",
    columns=(
        Column("order_id", True, "id", "Order id"),
        Column("line_number", True, "int", "Line within the order, from 1"),
        Column("order_ts", True, "timestamp", "When the order was placed: " + TIMESTAMP_FORMAT),
        Column("crm_id", False, "id", "CRM id of the buyer; empty for guest checkouts"),
        Column("email", False, "email", "Email given at checkout"),
        Column("status", True, "enum", "Order status", ORDER_STATUSES),
        Column("channel", False, "enum", "Sales channel", CHANNELS + ("",)),
        Column("currency", True, "enum", "ISO 4217 currency of the prices", CURRENCIES),
        Column("product_id", True, "id", "Product id"),
        Column("quantity", True, "int", "Units, at least 1"),
        Column("unit_price", True, "decimal", "Price per unit in currency, dot as decimal separator"),
        Column("discount_amount", False, "decimal", "Discount on the line in currency, default 0"),
    ),
)

SOURCES: dict[str, Source] = {s.name: s for s in (CRM, EVENTS, ORDERS)}

# Columns the loader adds to every raw table.
LOAD_METADATA_COLUMNS = (
    ("_file_name", "VARCHAR", "name of the delivered file"),
    ("_file_sha256", "VARCHAR", "content checksum of the file (joins meta.load_ledger)"),
    ("_batch_id", "VARCHAR", "load batch (one per DAG run)"),
    ("_row_number", "BIGINT", "1-based data row number inside the file"),
    ("_loaded_at", "TIMESTAMP", "when the row was loaded (UTC)"),
)
