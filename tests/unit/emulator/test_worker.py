"""The worker side: loading a scoring script and rendering ``run()`` results as Azure's append_row does."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from airflow_batchml_emulator.scoring.worker import ScriptError, load_script, render_rows


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch):
    """``load_script`` changes ``sys.path`` and ``sys.modules`` as it does in a worker; undo that here."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_dataframe_rows_are_space_separated_without_header_or_index():
    frame = pd.DataFrame({"file": ["a.csv", "b c.csv"], "score": [0.5, 1]})

    assert render_rows(frame, 2) == (2, 'a.csv 0.5\n"b c.csv" 1.0\n')


def test_list_elements_are_one_line_each():
    assert render_rows(["a 1", ("b", 2)], 2) == (2, "a 1\n('b', 2)\n")


def test_one_file_may_give_many_rows():
    assert render_rows(list(range(5)), 1)[0] == 5


@pytest.mark.parametrize(
    ("result", "words"), [([], "0 row\\(s\\) for 2"), ("ab", "DataFrame or a list"), (None, "NoneType")]
)
def test_too_few_rows_or_a_wrong_type_fail_the_mini_batch(result, words):
    with pytest.raises((TypeError, ValueError), match=words):
        render_rows(result, 2)


def test_load_script_names_missing_functions(tmp_path):
    (tmp_path / "score.py").write_text("def init():\n    pass\n")

    with pytest.raises(ScriptError, match=r"does not define run\(\)") as raised:
        load_script(str(tmp_path / "score.py"), str(tmp_path))
    assert raised.value.code == "ScoringScriptInvalid"


def test_load_script_makes_the_code_folder_importable(tmp_path):
    (tmp_path / "helpers.py").write_text("VALUE = 42\n")
    (tmp_path / "score.py").write_text(
        "import helpers\ndef init():\n    pass\ndef run(b):\n    return [helpers.VALUE]\n"
    )

    module = load_script(str(tmp_path / "score.py"), str(tmp_path))

    assert module.run([]) == [42]


def test_an_import_error_is_an_init_failure(tmp_path):
    (tmp_path / "score.py").write_text("import not_installed_anywhere\n")

    with pytest.raises(ScriptError, match="not_installed_anywhere") as raised:
        load_script(str(tmp_path / "score.py"), str(tmp_path))
    assert raised.value.code == "ScoringScriptInitFailed"
