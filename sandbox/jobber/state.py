"""In-memory, thread-safe state of the emulated Jobber: accounts and everything under them, OAuth grants,
auth codes, webhook configuration and deliveries.

Every read or write of the object graph happens under `Store.lock` (an RLock): the GraphQL layer executes a
whole operation under it, the admin API and the seed generator take it too.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import phonenumbers

from . import ids


def utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=65536)
def normalize_phone(number: str, region: str = "US") -> str | None:
    """E.164 or None (Jobber's `normalizedPhoneNumber` is nullable for numbers it cannot parse). Cached: every
    phone search reads it for every phone of the account, for each spelling searched (it was most of the
    emulator's CPU in `make bench`, which shares the machine with the service it measures)."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=65536)
def friendly_phone(number: str, region: str = "US") -> str:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


@dataclass
class Phone:
    id: str
    number: str
    description: str
    primary: bool
    sms_allowed: bool
    client_id: str
    contact_id: str | None = None
    searchable_at: float = 0.0  # time.time() from which searches find it (phone_search.PhoneSearch.lag_s)

    @property
    def normalized_phone_number(self) -> str | None:
        return normalize_phone(self.number)


@dataclass
class EmailRec:
    id: str
    address: str
    description: str
    primary: bool
    client_id: str
    contact_id: str | None = None


@dataclass
class Tag:
    id: str
    label: str


@dataclass
class Contact:
    id: str
    client_id: str
    first_name: str
    last_name: str
    title: str | None
    role: str | None
    is_billing_contact: bool
    phones: list[Phone] = field(default_factory=list)
    emails: list[EmailRec] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class Note:
    """A ClientNote or a RequestNote. `created_by` is ("Application"|"User"|"Client", id)."""

    id: str
    parent_id: str
    message: str
    created_by: tuple[str, str]
    pinned: bool = False
    created_at: datetime = field(default_factory=utcnow)
    last_edited_at: datetime | None = None
    last_edited_by: tuple[str, str] | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    linked_to: dict[str, bool] = field(default_factory=dict)


@dataclass
class Request:
    id: str
    account_id: str
    client_id: str
    title: str
    request_status: str
    source: str
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    notes: list[Note] = field(default_factory=list)


@dataclass
class Task:
    id: str
    account_id: str
    client_id: str | None
    property_id: str | None
    title: str
    instructions: str | None
    start_at: datetime | None
    end_at: datetime | None
    all_day: bool
    assigned_to: list[str]
    is_complete: bool = False
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class CustomFieldConfig:
    id: str
    account_id: str
    name: str
    value_type: str  # "text" | "numeric" | "link" | "dropdown" | "true_false" | "area"
    applies_to: str = "ALL_CLIENTS"
    read_only: bool = False
    transferable: bool = False
    default_value: Any = None
    dropdown_options: list[str] = field(default_factory=list)
    unit: str = ""
    app_id: str | None = None  # set when created by the (single) sandbox app
    archived: bool = False
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class CustomFieldValue:
    id: str
    config_id: str
    value: Any
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class Client:
    id: str
    account_id: str
    first_name: str = ""
    last_name: str = ""
    company_name: str | None = None
    is_company: bool = False
    title: str | None = None
    is_lead: bool = True
    is_archived: bool = False
    phones: list[Phone] = field(default_factory=list)
    emails: list[EmailRec] = field(default_factory=list)
    billing_address: dict[str, Any] | None = None
    tags: list[Tag] = field(default_factory=list)
    custom_fields: list[CustomFieldValue] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    balance: float = 0.0
    source: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        if self.is_company and self.company_name:
            return self.company_name
        return full or (self.company_name or "")

    def all_phones(self) -> list[Phone]:
        return self.phones + [p for c in self.contacts for p in c.phones]

    def all_emails(self) -> list[EmailRec]:
        return self.emails + [e for c in self.contacts for e in c.emails]


@dataclass
class User:
    id: str
    account_id: str
    first_name: str
    last_name: str
    email: str
    is_account_owner: bool = False
    is_account_admin: bool = False
    created_at: datetime = field(default_factory=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class Account:
    id: str
    name: str
    active: bool = True
    created_at: datetime = field(default_factory=utcnow)
    users: list[User] = field(default_factory=list)
    clients: dict[str, Client] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)
    custom_field_configs: list[CustomFieldConfig] = field(default_factory=list)


@dataclass
class Grant:
    """One app connection (OAuth grant) of the app to an account.

    status: "active"; "disconnected" (appDisconnect or the user's Disconnect: tokens answer with the
    plain-JSON
    disconnect message); "revoked" (superseded by a re-authorization: tokens are simply invalid).
    """

    id: str
    account_id: str
    user_id: str
    refresh_token: str
    status: str = "active"
    created_at: datetime = field(default_factory=utcnow)
    retired_refresh_tokens: set[str] = field(default_factory=set)


@dataclass
class AuthCode:
    code: str
    account_id: str
    user_id: str
    redirect_uri: str
    expires_at: float


@dataclass
class WebhookConfig:
    url: str | None = None
    topics: list[str] | None = None  # None = every topic the sandbox emits
    deliveries: list[dict[str, Any]] = field(default_factory=list)


class Store:
    """The whole emulated Jobber. Ids are EncodedIds; numbers come from one counter per type."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self._counters: dict[str, itertools.count[int]] = {}
            self.accounts: dict[str, Account] = {}
            self.clients: dict[str, Client] = {}
            self.phones: dict[str, Phone] = {}
            self.emails: dict[str, EmailRec] = {}
            self.contacts: dict[str, Contact] = {}
            self.notes: dict[str, Note] = {}
            self.requests: dict[str, Request] = {}
            self.tasks: dict[str, Task] = {}
            self.users: dict[str, User] = {}
            self.cf_configs: dict[str, CustomFieldConfig] = {}
            self.cf_values: dict[str, CustomFieldValue] = {}
            self.grants: dict[str, Grant] = {}
            self.refresh_index: dict[str, str] = {}  # live refresh token -> grant id
            self.auth_codes: dict[str, AuthCode] = {}
            self.webhooks = WebhookConfig()
            self.last_activity: dict[str, datetime] = {}  # client id -> newest note/request/task/edit
            self.search_lag_s = 0.0  # new or changed phones stay out of searches this long

    def new_id(self, type_name: str) -> str:
        counter = self._counters.setdefault(type_name, itertools.count(1))
        return ids.encode(type_name, next(counter))

    def touch(self, client_id: str | None, when: datetime | None = None) -> None:
        if client_id:
            self.last_activity[client_id] = when or utcnow()

    # ----- accounts and users --------------------

    def create_account(
        self, name: str = "Sandbox Services Co.", owner: dict[str, str] | None = None
    ) -> Account:
        with self.lock:
            account = Account(id=self.new_id("Account"), name=name)
            self.accounts[account.id] = account
            owner = owner or {}
            self.create_user(
                account,
                owner.get("first_name", "Olivia"),
                owner.get("last_name", "Owner"),
                owner.get("email", f"owner+{ids.decode(account.id)[1]}@example.com"),
                is_account_owner=True,
            )
            return account

    def create_user(
        self, account: Account, first: str, last: str, email: str, *, is_account_owner: bool = False
    ) -> User:
        with self.lock:
            user = User(
                id=self.new_id("User"),
                account_id=account.id,
                first_name=first,
                last_name=last,
                email=email,
                is_account_owner=is_account_owner,
                is_account_admin=is_account_owner,
            )
            account.users.append(user)
            self.users[user.id] = user
            return user

    def default_account(self) -> Account:
        with self.lock:
            if not self.accounts:
                return self.create_account()
            return next(iter(self.accounts.values()))

    # ----- clients --------------------

    def add_phone(self, client: Client, attrs: dict[str, Any], contact: Contact | None = None) -> Phone:
        phone = Phone(
            id=self.new_id("ClientPhoneNumber"),
            number=str(attrs.get("number") or ""),
            description=_label(attrs.get("description"), "Main"),
            primary=bool(attrs.get("primary", False)),
            sms_allowed=bool(attrs.get("smsAllowed", attrs.get("sms_allowed", False))),
            client_id=client.id,
            contact_id=contact.id if contact else None,
            searchable_at=time.time() + self.search_lag_s,
        )
        (contact.phones if contact else client.phones).append(phone)
        self.phones[phone.id] = phone
        return phone

    def add_email(self, client: Client, attrs: dict[str, Any], contact: Contact | None = None) -> EmailRec:
        email = EmailRec(
            id=self.new_id("Email"),
            address=str(attrs.get("address") or ""),
            description=_label(attrs.get("description"), "Main"),
            primary=bool(attrs.get("primary", False)),
            client_id=client.id,
            contact_id=contact.id if contact else None,
        )
        (contact.emails if contact else client.emails).append(email)
        self.emails[email.id] = email
        return email

    def add_contact(self, client: Client, attrs: dict[str, Any]) -> Contact:
        contact = Contact(
            id=self.new_id("ClientContact"),
            client_id=client.id,
            first_name=attrs.get("firstName") or "",
            last_name=attrs.get("lastName") or "",
            title=attrs.get("title"),
            role=attrs.get("role"),
            is_billing_contact=bool(attrs.get("isBillingContact", False)),
        )
        client.contacts.append(contact)
        self.contacts[contact.id] = contact
        for p in attrs.get("phones") or []:
            self.add_phone(client, p, contact)
        for e in attrs.get("emails") or []:
            self.add_email(client, e, contact)
        return contact

    def add_tag(self, client: Client, label: str) -> None:
        if not any(t.label.lower() == label.lower() for t in client.tags):
            client.tags.append(Tag(id=self.new_id("Tag"), label=label))

    def create_client(self, account: Account, attrs: dict[str, Any], when: datetime | None = None) -> Client:
        """`attrs` uses the GraphQL input names (ClientCreateInput); validation is the caller's job."""
        with self.lock:
            when = when or utcnow()
            company = attrs.get("companyName") or None
            first, last = attrs.get("firstName") or "", attrs.get("lastName") or ""
            is_company = attrs.get("isCompany")
            if is_company is None:
                # UNCONFIRMED: Jobber's rule when isCompany is omitted; a company name without a person's name
                # is treated as a company.
                is_company = bool(company) and not (first or last)
            client = Client(
                id=self.new_id("Client"),
                account_id=account.id,
                first_name=first,
                last_name=last,
                company_name=company,
                is_company=bool(is_company),
                title=attrs.get("title"),
                is_lead=bool(attrs.get("isLead", True)),
                billing_address=attrs.get("billingAddress"),
                source=attrs.get("source"),
                created_at=when,
                updated_at=when,
            )
            account.clients[client.id] = client
            self.clients[client.id] = client
            for p in attrs.get("phones") or []:
                self.add_phone(client, p)
            for e in attrs.get("emails") or []:
                self.add_email(client, e)
            for c in attrs.get("contacts") or []:
                self.add_contact(client, c)
            for label in attrs.get("tags") or []:
                self.add_tag(client, label)
            self.touch(client.id, when)
            return client

    def set_custom_field(self, client: Client, config: CustomFieldConfig, value: Any) -> CustomFieldValue:
        for cf in client.custom_fields:
            if cf.config_id == config.id:
                cf.value, cf.updated_at = value, utcnow()
                return cf
        cf = CustomFieldValue(id=self.new_id("CustomFieldValue"), config_id=config.id, value=value)
        client.custom_fields.append(cf)
        self.cf_values[cf.id] = cf
        return cf

    def create_cf_config(self, account: Account, name: str, value_type: str, **kw: Any) -> CustomFieldConfig:
        with self.lock:
            config = CustomFieldConfig(
                id=self.new_id(f"CustomFieldConfiguration{_CF_TYPE_SUFFIX[value_type]}"),
                account_id=account.id,
                name=name,
                value_type=value_type,
                **kw,
            )
            account.custom_field_configs.append(config)
            self.cf_configs[config.id] = config
            return config

    # ----- notes, requests, tasks --------------------

    def add_client_note(self, client: Client, message: str, created_by: tuple[str, str], **kw: Any) -> Note:
        with self.lock:
            note = Note(
                id=self.new_id("ClientNote"),
                parent_id=client.id,
                message=message,
                created_by=created_by,
                **kw,
            )
            client.notes.append(note)
            self.notes[note.id] = note
            self.touch(client.id, note.created_at)
            return note

    def create_request(
        self,
        client: Client,
        title: str,
        *,
        status: str = "new",
        source: str = "API",
        when: datetime | None = None,
    ) -> Request:
        with self.lock:
            when = when or utcnow()
            request = Request(
                id=self.new_id("Request"),
                account_id=client.account_id,
                client_id=client.id,
                title=title,
                request_status=status,
                source=source,
                created_at=when,
                updated_at=when,
            )
            client.request_ids.append(request.id)
            self.requests[request.id] = request
            self.touch(client.id, when)
            return request

    def add_request_note(
        self, request: Request, message: str, created_by: tuple[str, str], **kw: Any
    ) -> Note:
        with self.lock:
            note = Note(
                id=self.new_id("RequestNote"),
                parent_id=request.id,
                message=message,
                created_by=created_by,
                **kw,
            )
            request.notes.append(note)
            self.notes[note.id] = note
            self.touch(request.client_id, note.created_at)
            return note

    def create_task(self, account: Account, **kw: Any) -> Task:
        with self.lock:
            task = Task(id=self.new_id("Task"), account_id=account.id, **kw)
            account.tasks.append(task)
            self.tasks[task.id] = task
            self.touch(task.client_id, task.created_at)
            return task

    # ----- OAuth grants --------------------

    def create_grant(
        self, account: Account, user_id: str, refresh_token: str, *, revoke_previous: bool
    ) -> Grant:
        with self.lock:
            if revoke_previous:
                # Re-authorizing the same account invalidates the previous connection's tokens
                # (reference §2.1, §2.5).
                for g in self.grants.values():
                    if g.account_id == account.id and g.status != "revoked":
                        self._retire(g, "revoked")
            grant = Grant(
                id=self.new_id("AppConnection"),
                account_id=account.id,
                user_id=user_id,
                refresh_token=refresh_token,
            )
            self.grants[grant.id] = grant
            self.refresh_index[refresh_token] = grant.id
            return grant

    def _retire(self, grant: Grant, status: str) -> None:
        grant.status = status
        self.refresh_index.pop(grant.refresh_token, None)
        grant.retired_refresh_tokens.add(grant.refresh_token)

    def disconnect(self, account_id: str) -> list[Grant]:
        with self.lock:
            hit = [g for g in self.grants.values() if g.account_id == account_id and g.status == "active"]
            for g in hit:
                self._retire(g, "disconnected")
            return hit

    def rotate(self, old_refresh: str, new_refresh: str) -> Grant | None:
        """Refresh-token rotation: the old token dies immediately (apps created after 2024-01-02, §2.4)."""
        with self.lock:
            grant_id = self.refresh_index.pop(old_refresh, None)
            if grant_id is None:
                return None
            grant = self.grants[grant_id]
            grant.retired_refresh_tokens.add(old_refresh)
            grant.refresh_token = new_refresh
            self.refresh_index[new_refresh] = grant.id
            return grant

    def account_connected(self, account_id: str) -> bool:
        return any(g.account_id == account_id and g.status == "active" for g in self.grants.values())

    # ----- time-ordered view for the HTML page --------------------

    def activity_at(self, client: Client) -> float:
        at = self.last_activity.get(client.id, client.updated_at)
        return max(at, client.updated_at).timestamp()

    def snapshot_time(self) -> float:
        return time.time()


_CF_TYPE_SUFFIX = {
    "text": "Text",
    "numeric": "Numeric",
    "link": "Link",
    "dropdown": "Dropdown",
    "true_false": "TrueFalse",
    "area": "Area",
}


def _label(value: Any, default: str) -> str:
    """Input enums (MAIN, MOBILE...) are stored the way Jobber returns them: "Main", "Mobile"."""
    if not value:
        return default
    return str(value).replace("_", " ").title()
