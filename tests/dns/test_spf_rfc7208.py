"""The SPF evaluator against the openspf RFC 7208 test suite: every case, zone data served."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from augeoctl.dns.spf import check_host
from tests.dns.zonestub import ZoneStub

# The openspf RFC 7208 suite, vendored with its licence (see data/README.md).
SUITE = Path(__file__).resolve().parent / "data" / "rfc7208-tests.yml"


def _cases() -> list:
    if not SUITE.is_file():
        raise FileNotFoundError(f"the RFC 7208 test suite is missing: {SUITE}")
    cases = []
    with SUITE.open(encoding="utf-8") as fh:
        for doc in yaml.safe_load_all(fh):
            for name, case in doc["tests"].items():
                cases.append(pytest.param(doc["zonedata"], case, id=f"{doc['description']}:{name}"))
    return cases


CASES = _cases()


def test_the_whole_suite_is_collected() -> None:
    assert len(CASES) == 203


@pytest.mark.parametrize(("zonedata", "case"), CASES)
def test_rfc7208(zonedata, case) -> None:
    stub = ZoneStub(zonedata)
    got = check_host(stub, case["host"], case["mailfrom"], case["helo"])
    expected = case["result"] if isinstance(case["result"], list) else [case["result"]]
    assert got.result in expected, f"{case.get('description', '')} -> {got}"
    if "explanation" in case and got.result == "fail":
        want = None if case["explanation"] == "DEFAULT" else case["explanation"]
        assert got.explanation == want, got
