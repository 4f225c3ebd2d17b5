"""`make bench` copies each benchmark's results file into its marked README block, and only there."""

from __future__ import annotations

from benchmarks.update_readmes import fill


def test_a_block_takes_its_results_file_and_a_block_without_results_is_left_alone(tmp_path):
    (tmp_path / "fast.md").write_text("| a | b |\n|---|---|\n| 1 | 2 |\n")
    text = (
        "intro\n<!-- bench:fast -->\nold figures\n<!-- /bench:fast -->\n"
        "<!-- bench:slow -->\nkept\n<!-- /bench:slow -->\n"
    )
    new, updated, missing = fill(text, tmp_path)
    assert new == (
        "intro\n<!-- bench:fast -->\n| a | b |\n|---|---|\n| 1 | 2 |\n<!-- /bench:fast -->\n"
        "<!-- bench:slow -->\nkept\n<!-- /bench:slow -->\n"
    )
    assert (updated, missing) == (["fast"], ["slow"])
    assert fill(new, tmp_path)[0] == new  # idempotent
