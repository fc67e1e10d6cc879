"""Shared fixtures: where ../shared/fixtures is, and a skip with a reason where it is not."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_fixtures_dir() -> Path | None:
    """Return ../shared/fixtures beside the checkout, or None in a user's clone without it."""
    candidate = REPO.parent / "shared" / "fixtures"
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    path = shared_fixtures_dir()
    if path is None:
        pytest.skip(
            f"real exchange captures not found at {REPO.parent / 'shared' / 'fixtures'}: "
            "these tests need the project's shared/ folder beside the checkout"
        )
    return path
