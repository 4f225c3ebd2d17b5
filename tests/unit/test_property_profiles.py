"""Property tests are reproducible by default (``make test``) and can fuzz on demand (``make fuzz``)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def drawn(profile: settings) -> list[str]:
    seen: list[str] = []

    @settings(profile, max_examples=20)
    @given(st.text())
    def collect(value: str) -> None:
        seen.append(value)

    collect()
    return seen


@pytest.mark.skipif(os.environ.get("HYPOTHESIS_PROFILE", "ci") != "ci", reason="another profile was asked for")
def test_by_default_property_tests_draw_the_same_examples_every_run_and_keep_no_database():
    assert settings.default.derandomize and settings.default.database is None
    assert drawn(settings.default) == drawn(settings.default)


def test_the_fuzz_profile_draws_many_more_examples_at_random():
    ci, fuzz = settings.get_profile("ci"), settings.get_profile("fuzz")
    assert not fuzz.derandomize and fuzz.max_examples >= 10 * ci.max_examples
    assert drawn(fuzz) != drawn(fuzz)
