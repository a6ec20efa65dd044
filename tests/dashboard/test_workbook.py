"""The portal workbook (dashboards/workbook.json) against the KQL that ships with augeoctl.

The workbook's JSON follows what the portal saves (Notebook/1.0; items of type 1 text,
9 parameters, 3 query): the published schema
(github.com/microsoft/Application-Insights-Workbooks, schema/workbook.json) and its
documentation of log charts and time parameters (Documentation/Visualizations/LogCharts.md,
Chart.md; Documentation/Parameters/Time.md: ``{TimeRange:start}`` in KQL, a query bound to
the parameter). ``chartSettings.customThresholdLine`` is the key the portal's chart settings
save for a threshold line; the schema does not list chartSettings.
"""

from __future__ import annotations

import json
import re
from typing import Any

from augeoctl.health.azure import DEFINITION, QUERIES, kql
from augeoctl.health.verdict import Thresholds
from augeoctl.loadtest.gates import SLO_FILE, load_profiles
from tests.conftest import REPO

WORKSPACE = "microsoft.operationalinsights/workspaces"


def workbook() -> dict[str, Any]:
    return json.loads((REPO / "dashboards" / "workbook.json").read_text())


def items(kind: int) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in workbook()["items"] if i["type"] == kind}


def query_name(item_name: str) -> str:
    """The query an item runs: its name up to a ':' (``traffic_over_time:p95``)."""
    return item_name.split(":")[0]


def charts() -> dict[str, dict[str, Any]]:
    return {n: i for n, i in items(3).items() if i["content"]["visualization"] == "timechart"}


def projected(name: str) -> list[str]:
    """The columns a query's last ``project`` keeps."""
    lines = re.findall(r"^\| project (.+)$", (QUERIES / f"{name}.kql").read_text(), re.M)
    return [c.strip() for c in lines[-1].split(",")]


def test_the_workbook_is_a_notebook_of_text_parameters_and_log_queries() -> None:
    wb = workbook()
    assert wb["version"] == "Notebook/1.0"
    assert wb["$schema"].endswith("/schema/workbook.json")
    assert {i["type"] for i in wb["items"]} == {1, 3, 9}
    names = [i["name"] for i in wb["items"]]
    assert len(names) == len(set(names)), "item names must be unique"
    for item in items(3).values():
        content = item["content"]
        assert (content["version"], content["queryType"], content["resourceType"]) == ("KqlItem/1.0", 0, WORKSPACE)


def test_every_query_item_runs_the_shared_definition_then_its_own_file() -> None:
    definition = (QUERIES / DEFINITION).read_text()
    for name, item in items(3).items():
        own = (QUERIES / f"{query_name(name)}.kql").read_text()
        assert item["content"]["query"] == definition + own == kql(query_name(name)), name
    used = {query_name(n) for n in items(3)}
    shipped = {q.name.removesuffix(".kql") for q in QUERIES.iterdir() if q.name.endswith(".kql")}
    assert used == shipped - {DEFINITION.removesuffix(".kql")}, "a query no workbook item runs"


def test_the_definition_is_only_a_function_and_each_query_calls_it() -> None:
    definition = (QUERIES / DEFINITION).read_text()
    assert re.search(r"^let api_traffic = \(since: datetime, grain: timespan\) \{$", definition, re.M)
    assert definition.rstrip().endswith("};")
    for name in {query_name(n) for n in items(3)}:
        own = (QUERIES / f"{name}.kql").read_text()
        assert re.search(r"^api_traffic\(", own, re.M), name
        # No second definition of a request or a failure beside the shared one.
        assert "AppRequests" not in own and "Success" not in own, name


def test_the_table_is_the_terminals_query_and_needs_no_workbook_parameter() -> None:
    table = items(3)["traffic"]["content"]
    assert table["visualization"] == "table"
    # augeoctl runs this text itself, through the Logs query API: nothing for the portal to expand.
    assert "{" not in (QUERIES / "traffic.kql").read_text()
    assert "timeContextFromParameter" not in table  # its window is the query's own 5 minutes


def test_the_charts_show_p95_and_the_failure_rate_over_the_time_range() -> None:
    (parameters,) = items(9).values()
    (time_range,) = parameters["content"]["parameters"]
    assert (time_range["name"], time_range["type"], time_range["isRequired"]) == ("TimeRange", 4, True)
    found = charts()
    assert {c["content"]["chartSettings"]["yAxis"][0] for c in found.values()} == {"p95_ms", "error_rate"}
    columns = projected("traffic_over_time")
    assert columns[0] == "TimeGenerated"
    for name, item in found.items():
        content = item["content"]
        assert query_name(name) == "traffic_over_time"
        assert content["timeContextFromParameter"] == "TimeRange"
        settings = content["chartSettings"]
        assert settings["xAxis"] == "TimeGenerated"
        assert set(settings["yAxis"]) <= set(columns), name
        assert {s["seriesName"] for s in settings["seriesLabelSettings"]} == set(settings["yAxis"])
    # The bins start at the time range's start, 5 minutes each.
    assert "api_traffic({TimeRange:start}, 5m)" in (QUERIES / "traffic_over_time.kql").read_text()


def _line(column: str) -> float:
    (chart,) = (c for c in charts().values() if c["content"]["chartSettings"]["yAxis"] == [column])
    return float(chart["content"]["chartSettings"]["customThresholdLine"])


def _title() -> str:
    return str(items(1)["title"]["content"]["json"])


def test_the_p95_line_is_the_load_test_p95_gate() -> None:
    gates = {name: p.gates["p95_ms"] for name, p in load_profiles(SLO_FILE).items()}
    assert set(gates.values()) == {_line("p95_ms")}, f"the profiles' p95 gates differ from the line: {gates}"
    assert f"({_line('p95_ms'):.0f} ms)" in _title()


def test_the_failure_rate_line_is_the_error_rate_alert() -> None:
    # The Terraform alert rule's own threshold: tests/terraform/test_policy.py.
    assert _line("error_rate") == Thresholds().error_rate
    assert f"({_line('error_rate') * 100:.0f} % of requests)" in _title()
