"""The README's examples run against the reference data, as a newcomer would run them on a
fresh database, in the README's order: each answers as the README says it does.

Every ``curl`` of the README sits in a code block marked ``<!-- example: NAME -->``; each name
has a check here, which reads the answers against what the text around the block promises."""

import csv
import io
import json
import re
import shlex
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from pledges.choices import DonorKind
from pledges.models import Category, Donor, Event, Pledge

README = Path(__file__).resolve().parent.parent / "README.md"
SITE = "http://127.0.0.1:8000"
MARKED_BLOCK = re.compile(r"^<!-- example: ([a-z-]+) -->\n```sh\n(.*?)\n```$", re.DOTALL | re.M)
ANY_BLOCK = re.compile(r"^ *```sh\n(.*?)\n *```$", re.DOTALL | re.M)


@dataclass
class Curl:
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None
    output: str | None = None


def curl_lines(block: str) -> list[str]:
    """The curl commands of a shell block, each with its continuation lines (after a backslash,
    or inside quotes)."""
    commands, current = [], None
    for line in block.splitlines():
        if current is None and not line.lstrip().startswith("curl "):
            continue
        current = line if current is None else f"{current}\n{line}"
        if current.endswith("\\"):
            current = current[:-1]
            continue
        try:
            shlex.split(current, comments=True)
        except ValueError:  # a quote still open: the command goes on
            continue
        commands.append(current)
        current = None
    assert current is None, f"an unfinished command: {current}"
    return commands


def parse_curl(line: str) -> Curl:
    words = shlex.split(line, comments=True)
    assert words[0] == "curl"
    options = {"-X": "method", "-d": "data", "-o": "output"}
    curl = Curl(url="")
    rest = iter(words[1:])
    for word in rest:
        if word in options:
            setattr(curl, options[word], next(rest))
        elif word == "-H":
            name, value = next(rest).split(":", 1)
            curl.headers[name.strip()] = value.strip()
        else:
            assert word.startswith(SITE), f"not an option the test knows, or not our site: {word}"
            curl.url = word.removeprefix(SITE)
    return curl


def examples() -> list[tuple[str, list[Curl]]]:
    text = README.read_text()
    return [
        (name, [parse_curl(line) for line in curl_lines(block)])
        for name, block in MARKED_BLOCK.findall(text)
    ]


def test_every_curl_of_the_readme_is_a_checked_example():
    text = README.read_text()
    every = [line for block in ANY_BLOCK.findall(text) for line in curl_lines(block)]
    marked = [line for _, block in MARKED_BLOCK.findall(text) for line in curl_lines(block)]
    assert every == marked, "a curl outside a marked example block"
    names = [name for name, _ in examples()]
    assert len(names) == len(set(names))
    assert set(names) == set(CHECKS)


def send(client: APIClient, curl: Curl, token: str):
    headers = {name: value.replace("<key>", token) for name, value in curl.headers.items()}
    content_type = headers.pop("Content-Type", None)
    return client.generic(
        curl.method,
        curl.url,
        data=curl.data or "",
        content_type=content_type or "application/octet-stream",
        headers=headers,
    )


# --- what the text says about each block --------------------------------------------------


def uk() -> Donor:
    return Donor.objects.get(pk=50)


def check_reports(answers):
    by_donor_year, by_category_csv, by_year_spread = answers
    body = by_donor_year.json()
    assert body["currency"] == "USD"
    assert body["group_by"] == ["donor", "year"]
    assert {"id": 50, "name": "United Kingdom", "iso2": "GB"} in [r["donor"] for r in body["rows"]]
    assert by_category_csv["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(by_category_csv.content.decode())))
    assert rows[0][0] == "category"
    assert "Drones" in [row[0] for row in rows[1:]]
    # Belgium's €1 billion a year 2025-2029 (pledge 13) appears in each of its years.
    years = {row["year"]: Decimal(row["total"]) for row in by_year_spread.json()["rows"]}
    assert set(years) >= {2025, 2026, 2027, 2028, 2029}
    assert all(years[year] >= Decimal("1000000000") for year in range(2026, 2030))


def check_timeline(answers):
    by_quarter_donor, by_month_csv = answers
    body = by_quarter_donor.json()
    assert (body["currency"], body["interval"], body["group_by"]) == ("USD", "quarter", ["donor"])
    uk = [row for row in body["rows"] if row["donor"]["id"] == 50]
    assert [row["period"] for row in uk] == ["2025-Q2"]
    # Its last cumulative figures are the totals report's.
    totals = APIClient().get("/api/v1/reports/totals/", {"group_by": "donor", "currency": "USD"})
    uk_total = next(row for row in totals.json()["rows"] if row["donor"]["id"] == 50)
    assert uk[-1]["cumulative_pledged"] == uk_total["total"]
    assert uk[-1]["cumulative_delivered"] == uk_total["delivered"]
    assert by_month_csv["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(by_month_csv.content.decode())))
    assert rows[0][:4] == ["period", "pledged", "allocated", "delivered"]
    assert [row[0] for row in rows[1:]] == ["2025-05", "2025-06"]


def check_export(answers):
    (answer,) = answers
    assert answer["Content-Type"].startswith("text/csv")
    content = b"".join(answer.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(content)))
    assert rows
    assert {row["donor"] for row in rows} == {"United Kingdom"}
    assert all(row["announced_on"] >= "2025-01-01" for row in rows)
    assert len(rows) == Pledge.objects.filter(donor=uk(), announced_on__year__gte=2025).count()


def check_lists(answers):
    uk_open, drones_by_slug, drones_by_id = answers
    results = uk_open.json()["results"]
    assert results
    assert {row["donor"]["name"] for row in results} == {"United Kingdom"}
    assert {row["status"] for row in results} <= {"announced", "committed"}
    assert all(row["announced_on"].startswith("2025-") for row in results)
    expected = Pledge.objects.filter(
        donor=uk(), status__in=["announced", "committed"], announced_on__year=2025
    )
    assert len(results) == expected.count()
    values = [row["value_eur"] for row in results]
    valued = [Decimal(value) for value in values if value is not None]
    assert valued == sorted(valued, reverse=True)
    assert values == [*map(str, valued), *[None] * (len(values) - len(valued))]
    assert all(row["value_eur_note"] for row in results if row["value_eur"] is None)
    drones = drones_by_slug.json()["results"]
    assert drones
    assert {row["category"]["slug"] for row in drones} == {"drones"}
    assert drones_by_id.json() == drones_by_slug.json()
    assert Category.objects.get(pk=5).slug == "drones"


def check_create(answers):
    (answer,) = answers
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["donor"]["name"] == "United Kingdom"
    assert body["category"]["slug"] == "drones"
    assert body["currency"] == "GBP"
    assert Decimal(body["value_eur"]) > Decimal(body["amount"])  # a pound is worth more
    assert answer["ETag"] == f'"{body["version"]}"'


def check_change(answers):
    (answer,) = answers
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["id"] == 2
    assert body["title"] == "100,000 drones by the end of 2025"
    assert body["donor"]["name"] == "United Kingdom"
    assert body["status"] == "committed"
    assert Pledge.objects.get(pk=2).status == "committed"


def check_history(answers):
    (answer,) = answers
    assert answer.status_code == 200, answer.content
    versions = answer.json()["results"]
    # The reference data's own first version, then the change.
    assert [version["type"] for version in versions] == ["changed", "created"]
    assert versions[1]["user"] is None
    newest = versions[0]
    assert newest["user"] == "editor"
    assert {"field": "status", "old": "announced", "new": "committed"} in newest["changes"]


def check_delivery(answers):
    created, pledge, listed = answers
    assert created.status_code == 201, created.content
    record = created.json()
    assert (record["pledge"], record["kind"], record["amount"]) == (9, "delivered", "200000000.00")
    assert created["ETag"] == '"1"'
    shown = pledge.json()
    assert shown["title"] == "$700 million for drones"
    assert (shown["amount"], shown["currency"]) == ("700000000.00", "USD")
    assert shown["allocated_amount"] == shown["delivered_amount"] == "200000000.00"
    assert (shown["delivery"], shown["undated"], shown["status"]) == ("partial", False, "committed")
    assert pledge["ETag"] == f'"{shown["version"]}"'
    assert Pledge.history.filter(id=9).count() == 1  # a new representation, not a new edit
    assert [row["id"] for row in listed.json()["results"]] == [record["id"]]


def check_rate(answers):
    (answer,) = answers
    body = answer.json()
    # 7 June 2025 is a Saturday: the Friday's rate.
    assert body["requested_date"] == "2025-06-07"
    assert body["date"] == "2025-06-06"
    assert body["currency"] == "GBP"


CHECKS = {
    "reports": check_reports,
    "timeline": check_timeline,
    "export": check_export,
    "lists": check_lists,
    "create": check_create,
    "change": check_change,
    "history": check_history,
    "delivery": check_delivery,
    "rate": check_rate,
}


@pytest.fixture
def editor_token(db) -> str:
    user = User.objects.create_user("editor", password="not-used-here")
    user.groups.add(Group.objects.get(name="editors"))
    return Token.objects.create(user=user).key


def test_the_examples_answer_what_the_readme_says(reference_data, editor_token):
    client = APIClient()
    for name, curls in examples():
        answers = [send(client, curl, editor_token) for curl in curls]
        for curl, answer in zip(curls, answers, strict=True):
            assert answer.status_code in (200, 201), (name, curl.url, answer.content)
        CHECKS[name](answers)


def test_what_is_in_the_box(reference_data):
    """The README's list of the reference data, and the ids its examples use."""
    text = " ".join(README.read_text().split())
    assert "in a fresh database the United Kingdom is donor 50 and `drones` is category 5" in text
    assert (uk().name, Category.objects.get(pk=5).slug) == ("United Kingdom", "drones")
    counts = {
        "categories": Category.objects.count(),
        "donors": Donor.objects.count(),
        "countries": Donor.objects.filter(kind=DonorKind.COUNTRY).count(),
        "others": Donor.objects.exclude(kind=DonorKind.COUNTRY).count(),
        "meetings": Event.objects.count(),
        "pledges": Pledge.objects.count(),
    }
    promised = {
        "categories": r"- (\d+) categories",
        "donors": r"- (\d+) donors:",
        "countries": r"the (\d+) countries",
        "others": r"and (\d+) organisations and funds",
        "meetings": r"- (\d+) UDCG meetings",
        "pledges": r"- (\d+) pledges of the UDCG meeting",
    }
    said = {key: int(re.search(pattern, text).group(1)) for key, pattern in promised.items()}
    assert said == counts
    first, last = Event.objects.order_by("date")[0], Event.objects.order_by("-date")[0]
    assert (first.date.isoformat(), last.date.isoformat()) == ("2022-04-26", "2025-06-04")
    assert "from the first at Ramstein (26 April 2022) to 4 June 2025" in text


def test_the_post_example_is_valid_json():
    (curl,) = dict(examples())["create"]
    assert json.loads(curl.data)["donor"] == 50


OUTPUT_BLOCK = re.compile(
    r"^<!-- output: ([a-z_]+) (.*?) -->\n```text\n(.*?)\n```$", re.DOTALL | re.M
)


def test_the_command_outputs_shown_are_what_the_commands_print(reference_data):
    shown = OUTPUT_BLOCK.findall(README.read_text())
    assert shown
    for command, arguments, text in shown:
        out = io.StringIO()
        call_command(command, *shlex.split(arguments), stdout=out)
        printed = out.getvalue().rstrip("\n")
        assert printed == text, (
            f"README's output of {command} {arguments} is not what it prints now; "
            f"paste this instead:\n{printed}"
        )
