"""A pipeline step's command line and failure message (pure parts of ``pipeline_step``)."""

from __future__ import annotations

import pytest

from airflow_batchml_emulator.pipeline_step import failure_message, substitute
from airflow_batchml_emulator.scoring.spec import JobError


def test_placeholders_are_filled_shell_quoted_and_optional_blocks_kept_only_when_bound():
    command = (
        "python run.py --in ${{inputs.data}} $[[--mode ${{inputs.mode}}]] $[[--x ${{inputs.x}}]] --out ${{outputs.o}}"
    )
    filled = substitute(command, {"data": "/tmp/in dir", "mode": "a;b"}, {"o": "/tmp/out"})
    assert filled == "python run.py --in '/tmp/in dir' --mode 'a;b'  --out /tmp/out"


def test_a_placeholder_nothing_binds_fails_the_step():
    with pytest.raises(JobError, match="inputs.missing"):
        substitute("echo ${{inputs.missing}}", {}, {})


def test_the_failure_message_is_azures_with_the_stderr_tail():
    message = failure_message("python broken.py --x 1", 3, ["Traceback", "ValueError: no"])
    assert message.startswith("Execution failed. User process 'python' exited with status code 3.")
    assert message.endswith("Error: Traceback\nValueError: no")
    assert "exited with signal 9" in failure_message("python x.py", -9, [])
