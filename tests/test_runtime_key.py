"""`runtime.start` holds the key it is given as a `redaction.HiddenKey`: a start that fails
shows no key among the locals of any frame of its traceback (what `%xmode Verbose` prints)."""
from __future__ import annotations

import pytest

from apiframe_magic import runtime
from apiframe_magic.store import DataDirError

KEY = "my-secret-key-0123456789"


def test_a_failed_start_shows_no_key_in_its_traceback_locals(tmp_path):
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    with pytest.raises(DataDirError) as failure:
        runtime.start(KEY, base_url="http://127.0.0.1:9/", home=in_the_way)
    shown = []
    tb = failure.value.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if "apiframe_magic" in frame.f_code.co_filename:
            shown += [f"{frame.f_code.co_name}: {name}" for name, value in frame.f_locals.items()
                      if KEY in repr(value)]
        tb = tb.tb_next
    assert shown == []
