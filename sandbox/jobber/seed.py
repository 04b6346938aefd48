"""Deterministic demo data: given (seed, n) the same clients, phones, contacts, tags, custom fields, notes and
requests come out every time. Timestamps are relative to a fixed anchor so they are deterministic too.

Phone numbers are fictional: NANP 555-0100..555-0199 in a handful of area codes, written in several formats
("(415) 555-0100", "415.555.0101", "+1 415 555 0102", "4155550103", "415-555-0104"). A few numbers are
deliberately shared by two clients (different updatedAt) to exercise "most recently updated" matching.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from .state import Account, CustomFieldConfig, Store

ANCHOR = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)

FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "James",
    "Isabella",
    "Lucas",
    "Mia",
    "Mason",
    "Amelia",
    "Ethan",
    "Harper",
    "Logan",
    "Evelyn",
    "Aiden",
    "Abigail",
    "Jackson",
    "Emily",
    "Sebastian",
    "Ella",
    "Mateo",
    "Camila",
    "Henry",
    "Luna",
    "Owen",
    "Sofia",
    "Daniel",
    "Avery",
    "Carlos",
    "Priya",
    "Wei",
    "Fatima",
    "Diego",
    "Aaliyah",
    "Hiroshi",
    "Nadia",
    "Tomás",
    "Grace",
    "Kwame",
    "Ingrid",
    "Rosa",
    "Dmitri",
    "Leila",
    "Samuel",
    "Chloe",
    "Marcus",
    "Yuki",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Patel",
    "Kim",
    "Okafor",
    "Novak",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Kowalski",
    "O'Brien",
]
COMPANY_WORDS = [
    "Maple",
    "Summit",
    "Harbor",
    "Cedar",
    "Bluebird",
    "Redwood",
    "Golden Gate",
    "Sunrise",
    "Pioneer",
    "Lakeside",
    "Evergreen",
    "Granite",
    "Coastal",
    "Orchard",
    "Riverbend",
]
COMPANY_KINDS = [
    "Property Management",
    "Dental Group",
    "Cafe",
    "Apartments",
    "Realty",
    "Fitness",
    "Bakery",
    "Veterinary Clinic",
    "Hotel",
    "Office Park",
]
STREETS = [
    "Market St",
    "Mission St",
    "Valencia St",
    "Oak Ave",
    "Pine St",
    "Lincoln Blvd",
    "2nd Ave",
    "Elm Dr",
    "Sunset Blvd",
    "Cherry Ln",
]
CITIES = [
    ("San Francisco", "CA", "94110"),
    ("Oakland", "CA", "94607"),
    ("New York", "NY", "10001"),
    ("Chicago", "IL", "60601"),
    ("Boston", "MA", "02110"),
    ("Seattle", "WA", "98101"),
]
AREA_CODES = ["415", "628", "510", "212", "312", "617", "206"]
TAGS = [
    "VIP",
    "Residential",
    "Commercial",
    "Lawn care",
    "Snow removal",
    "Referral",
    "Quarterly",
    "Net 30",
    "Spanish speaking",
    "Gate code",
]
NOTE_TEXTS = [
    "Prefers morning appointments.",
    "Dog in the backyard — call before entering.",
    "Asked for a quote on spring cleanup.",
    "Paid by cheque last time.",
    "Gate code changes monthly; ask the office.",
    "Wants a follow-up call after each visit.",
]
REQUEST_TITLES = [
    "Spring cleanup quote",
    "Gutter cleaning",
    "Irrigation repair",
    "Tree trimming estimate",
    "Window washing",
    "Snow removal contract",
    "Leaky faucet",
    "HVAC tune-up",
]
FORMATS = ["({a}) 555-{n}", "{a}.555.{n}", "+1 {a} 555 {n}", "{a}555{n}", "{a}-555-{n}"]
PHONE_DESCRIPTIONS = ["MAIN", "MOBILE", "WORK", "HOME"]


def _phone(index: int) -> str:
    area = AREA_CODES[(index // 100) % len(AREA_CODES)]
    number = f"01{index % 100:02d}"
    return FORMATS[index % len(FORMATS)].format(a=area, n=number)


def ensure_custom_fields(store: Store, account: Account) -> dict[str, CustomFieldConfig]:
    """Account-level custom field configurations (created by users, not by the app)."""
    existing = {c.name: c for c in account.custom_field_configs}
    specs: list[tuple[str, str, dict[str, Any]]] = [
        ("Gate code", "text", {}),
        ("Lot size", "numeric", {"unit": "sq ft"}),
        ("Customer portal", "link", {}),
        ("Customer tier", "dropdown", {"dropdown_options": ["Bronze", "Silver", "Gold"]}),
        ("Pets on site", "true_false", {}),
        ("Lawn area", "area", {"unit": "ft"}),
    ]
    for name, value_type, kw in specs:
        if name not in existing:
            existing[name] = store.create_cf_config(account, name, value_type, **kw)
    return existing


def seed_account(
    store: Store, account: Account, n_clients: int, seed: int = 42, anchor: datetime = ANCHOR
) -> list[str]:
    """Add `n_clients` demo clients to `account`; returns their ids."""
    rng = random.Random(seed)
    created: list[str] = []
    with store.lock:
        configs = ensure_custom_fields(store, account)
        if len(account.users) < 3:
            for first, last in (("Madelaine", "Dupont"), ("Joe", "Bloggs")):
                store.create_user(account, first, last, f"{first.lower()}.{last.lower()}@example.com")
        phone_index = rng.randrange(0, 50)
        shared_pool: list[str] = []
        for i in range(n_clients):
            is_company = rng.random() < 0.18
            first, last = rng.choice(FIRST), rng.choice(LAST)
            created_at = anchor - timedelta(days=rng.randint(30, 900), minutes=rng.randint(0, 1440))
            updated_at = created_at + (anchor - created_at) * rng.random()
            phones: list[dict[str, Any]] = []
            if i > 10 and shared_pool and rng.random() < 0.03:
                # Shared number: the same number as an earlier client (a household or a company line).
                phones.append(
                    {
                        "number": rng.choice(shared_pool),
                        "description": "MAIN",
                        "primary": True,
                        "smsAllowed": True,
                    }
                )
            else:
                number = _phone(phone_index)
                phone_index += 1
                phones.append(
                    {
                        "number": number,
                        "description": rng.choice(PHONE_DESCRIPTIONS),
                        "primary": True,
                        "smsAllowed": rng.random() < 0.7,
                    }
                )
                if rng.random() < 0.15:
                    shared_pool.append(number)
            if rng.random() < 0.25:
                phones.append(
                    {
                        "number": _phone(phone_index),
                        "description": "WORK",
                        "primary": False,
                        "smsAllowed": False,
                    }
                )
                phone_index += 1
            domain = "example.com" if rng.random() < 0.5 else "example.org"
            attrs: dict[str, Any] = {
                "firstName": "" if is_company and rng.random() < 0.5 else first,
                "lastName": "" if is_company and rng.random() < 0.5 else last,
                "companyName": f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
                if is_company
                else None,
                "isCompany": is_company,
                "phones": phones,
                "emails": [
                    {
                        "address": f"{first.lower()}.{last.lower().replace(chr(39), '')}{i}@{domain}",
                        "description": "MAIN",
                        "primary": True,
                    }
                ]
                if rng.random() < 0.85
                else [],
                "billingAddress": _address(rng),
                "isLead": rng.random() < 0.15,
                "source": rng.choice(["Google", "Referral", "Website", "Facebook", None]),
            }
            if not (attrs["firstName"] or attrs["lastName"] or attrs["companyName"]):
                attrs["firstName"] = first
            client = store.create_client(account, attrs, when=created_at)
            client.updated_at = updated_at
            client.is_archived = rng.random() < 0.06
            client.balance = round(rng.choice([0.0, 0.0, 0.0, rng.uniform(25, 1800)]), 2)
            for label in rng.sample(TAGS, k=rng.choice([0, 0, 1, 1, 2, 3])):
                store.add_tag(client, label)
            if rng.random() < 0.12:
                c_first, c_last = rng.choice(FIRST), rng.choice(LAST)
                store.add_contact(
                    client,
                    {
                        "firstName": c_first,
                        "lastName": c_last,
                        "role": rng.choice(["Tenant", "Property manager", "Spouse", "Office manager"]),
                        "phones": [
                            {
                                "number": _phone(phone_index),
                                "description": "MOBILE",
                                "primary": True,
                                "smsAllowed": True,
                            }
                        ],
                        "emails": [{"address": f"{c_first.lower()}@example.net", "description": "MAIN"}],
                    },
                )
                phone_index += 1
            _custom_fields(store, rng, client, configs, i)
            for _ in range(rng.choice([0, 0, 1, 2])):
                store.add_client_note(
                    client,
                    rng.choice(NOTE_TEXTS),
                    ("User", account.users[0].id),
                    created_at=created_at + timedelta(days=rng.randint(0, 20)),
                )
            if rng.random() < 0.1:
                request = store.create_request(
                    client,
                    rng.choice(REQUEST_TITLES),
                    source="Online request form",
                    when=updated_at - timedelta(hours=rng.randint(1, 72)),
                )
                if rng.random() < 0.5:
                    store.add_request_note(
                        request,
                        "Client called to ask about availability.",
                        ("User", account.users[0].id),
                        created_at=request.created_at,
                    )
            # Seeded history should not look like fresh activity on the demo page.
            store.last_activity[client.id] = updated_at
            created.append(client.id)
    return created


def _address(rng: random.Random) -> dict[str, Any]:
    city, province, postal = rng.choice(CITIES)
    return {
        "street1": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
        "street2": None,
        "city": city,
        "province": province,
        "postalCode": postal,
        "country": "United States",
    }


def _custom_fields(
    store: Store, rng: random.Random, client: Any, configs: dict[str, CustomFieldConfig], i: int
) -> None:
    if rng.random() < 0.2:
        store.set_custom_field(client, configs["Gate code"], f"#{rng.randint(1000, 9999)}")
    if rng.random() < 0.3:
        store.set_custom_field(client, configs["Lot size"], float(rng.randint(1500, 20000)))
    if rng.random() < 0.1:
        store.set_custom_field(
            client, configs["Customer portal"], {"text": "Portal", "url": f"https://portal.example.com/c/{i}"}
        )
    if rng.random() < 0.4:
        store.set_custom_field(client, configs["Customer tier"], rng.choice(["Bronze", "Silver", "Gold"]))
    if rng.random() < 0.3:
        store.set_custom_field(client, configs["Pets on site"], rng.random() < 0.5)
    # Its own generator: adding the area field left every other seeded value as it was.
    area = random.Random(f"lawn-area-{i}")
    if area.random() < 0.25:
        length, width = area.randint(20, 120), area.randint(15, 80)
        store.set_custom_field(client, configs["Lawn area"], {"length": float(length), "width": float(width)})
