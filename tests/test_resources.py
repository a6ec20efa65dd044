"""The package's resources are the source; the repository's copies must match them byte for byte.

``loadtests/`` (run by hand and uploaded to Azure Load Testing) and ``dashboards/queries/``
(deployed by Terraform into the workbook) keep copies of what ``augeoctl`` reads at run time.
"""

from __future__ import annotations

from importlib.resources.abc import Traversable

import pytest

from augeoctl.health.azure import QUERIES
from augeoctl.loadtest.gates import LOCUSTFILE, SLO_FILE
from tests.conftest import REPO


def _kql(folder: Traversable) -> set[str]:
    return {q.name for q in folder.iterdir() if q.name.endswith(".kql")}


PAIRS = [
    (SLO_FILE, "loadtests/slo.toml"),
    (LOCUSTFILE, "loadtests/locustfile.py"),
    *((QUERIES / name, f"dashboards/queries/{name}") for name in sorted(_kql(QUERIES))),
]


@pytest.mark.parametrize(("packaged", "copy"), PAIRS, ids=[c for _, c in PAIRS])
def test_the_repository_copy_is_the_packaged_file(packaged: Traversable, copy: str) -> None:
    assert (REPO / copy).read_bytes() == packaged.read_bytes(), (
        f"{copy} differs from {packaged}, its source: change that file and copy it over")


def test_every_query_in_the_repository_ships_with_the_package() -> None:
    assert _kql(QUERIES)
    assert {p.name for p in (REPO / "dashboards" / "queries").glob("*.kql")} == _kql(QUERIES)
