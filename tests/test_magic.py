"""%%imagine and %imagine in an in-process IPython shell, against the embedded simulator."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest
from IPython.core.error import UsageError

from magic_shell import RecordingPublisher, magics_of, make_shell

FOX = "a red fox in the snow --ar 3:2"


@pytest.fixture
def frozen_ip(frozen_sim, tmp_path, monkeypatch):
    """A shell on `frozen_sim` (its key in the environment): no job ends unless the test moves
    the simulator's clock."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", frozen_sim.api_key)
    shell = make_shell(base_url=frozen_sim.url)
    yield shell
    shell.extension_manager.unload_extension("apiframe_magic")


@pytest.fixture
def static_ip(ip):
    """The shell seen as a notebook without widgets: the static twin only."""
    ip.run_line_magic("config", "Imagine.display = 'static'")
    return ip


def sent(ip) -> int:
    rt = magics_of(ip).runtime
    return 0 if rt is None else rt.simulator.tasks_created


# ---------------------------------------------------------------------- loading


def test_load_imports_nothing_heavy():
    code = ("import sys\n"
            "from IPython.core.interactiveshell import InteractiveShell\n"
            "ip = InteractiveShell.instance()\n"
            "ip.run_line_magic('load_ext', 'apiframe_magic')\n"
            "import json; print(json.dumps({'heavy': [m for m in "
            "('requests', 'PIL', 'ipywidgets', 'apiframe_magic.simulator', 'apiframe_magic.jobs')"
            " if m in sys.modules], 'magics': sorted(ip.magics_manager.magics['cell'])}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["heavy"] == []
    assert "imagine" in report["magics"]


def test_loading_twice_is_harmless_and_unload_stops_everything(ip):
    ip.run_cell("%load_ext apiframe_magic")
    ip.extension_manager.load_extension("apiframe_magic")
    magics = magics_of(ip)
    ip.run_cell_magic("imagine", "--no-wait", FOX)
    rt = magics.runtime
    thread, simulator = rt.manager.poller.thread, rt.simulator
    ip.extension_manager.unload_extension("apiframe_magic")
    assert "Imagine" not in ip.magics_manager.registry
    assert "imagine" not in ip.magics_manager.magics["cell"]
    assert thread is not None and not thread.is_alive()
    with pytest.raises(OSError):
        import socket
        socket.create_connection(("127.0.0.1", simulator.port), timeout=1).close()
    ip.extension_manager.load_extension("apiframe_magic")   # and back again


# ---------------------------------------------------------------------- bad input costs nothing


@pytest.mark.parametrize("line, cell, expected", [
    ("", "   \n", "empty"),
    ("", "a cat --v 99", "--v 99"),
    ("", "a cat --chaos 500 --stylize -3", "--chaos"),
    ("--mode slow", FOX, "invalid choice"),
    ("--bogus", FOX, "unrecognized arguments: --bogus"),
    ("--as 1fox", FOX, "not a Python variable name"),
    ("--as class", FOX, "'class' is a Python keyword"),
    ("--as None", FOX, "'None' is a Python keyword"),
    ("--save nul\x00dir", FOX, "cannot contain a NUL byte"),
    ("", "a red fox \ud800 in the snow", "lone surrogate U+D800"),
    ("--version 99", FOX, "not a Midjourney version"),
    ("--image no-such-file.png", FOX, "no such file"),
    ("--wait --no-wait", FOX, "not allowed with"),
    ('--save "unclosed', FOX, "No closing quotation"),
])
def test_bad_input_is_one_usage_error_and_sends_nothing(ip, line, cell, expected):
    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("imagine", line, cell)
    assert expected in str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert sent(ip) == 0
    assert magics_of(ip).runtime is None          # nothing started, so nothing recorded either


@pytest.mark.parametrize("line, expected", [
    ("history -n 99999999999999999999", "N must be from 1 to 1000000; got 99999999999999999999"),
    ("history -n -3", "N must be from 1 to 1000000; got -3"),
    ("history 99999999999999999999", "N must be from 1 to 1000000"),
    ("history -n many", "'many' is not a whole number"),
    ("save {{fox.task_id}} nul\x00dir", "%imagine save: 'nul\\x00dir': a directory name cannot "
                                        "contain a NUL byte"),
    ("export nul\x00dir", "a directory name cannot contain a NUL byte"),
])
def test_bad_subcommand_arguments_are_one_usage_error(ip, line, expected):
    ip.user_ns["fox"] = ip.run_cell_magic("imagine", "--wait", FOX)
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("imagine", line)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_describe_refuses_a_file_that_is_not_an_image_before_uploading(ip, tmp_path):
    (tmp_path / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    rt = magics_of(ip).current_runtime()
    for line in ("describe id_rsa", "blend id_rsa id_rsa"):
        with pytest.raises(UsageError, match=r"^\w+: id_rsa is not an image; give a PNG"):
            ip.run_line_magic("imagine", line)
    with pytest.raises(UsageError, match=r"^--image: id_rsa is not an image"):
        ip.run_cell_magic("imagine", "--image id_rsa", FOX)
    assert rt.simulator.request_counts["/upload"] == 0


def test_every_prompt_problem_is_listed_with_its_hint(ip):
    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("imagine", "", "a cat --v 99 --chaos 500")
    message = str(caught.value)
    assert "--v 99" in message and "--chaos" in message
    assert message.startswith("invalid prompt:")


def test_save_directory_that_is_a_file_or_unwritable_is_refused_first(ip, tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        ip.run_cell_magic("imagine", "--save afile", FOX)
    with pytest.raises(UsageError, match="Cannot save images into /proc"):
        ip.run_cell_magic("imagine", "--save /proc/apiframe-magic-test", FOX)
    assert sent(ip) == 0


def test_image_variable_of_the_wrong_type_is_refused(ip):
    ip.user_ns["picture"] = 42
    with pytest.raises(UsageError, match="holds a int"):
        ip.run_cell_magic("imagine", "--image picture", FOX)


def test_unknown_subcommand_suggests_the_close_one(ip):
    with pytest.raises(UsageError, match="did you mean `%imagine history`"):
        ip.run_line_magic("imagine", "histroy")
    with pytest.raises(UsageError, match="put the prompt after --"):
        ip.run_line_magic("imagine", "--ar 3:2 a fox")


def test_help_prints_usage_and_sends_nothing(ip, capsys):
    ip.run_cell_magic("imagine", "--help", FOX)
    ip.run_line_magic("imagine", "help")
    out = capsys.readouterr().out
    assert "--dry-run" in out and "describe" in out and "%config Imagine" in out
    assert magics_of(ip).runtime is None          # nothing started, so nothing recorded either


def test_help_and_usage_errors_come_from_the_one_subcommand_table(ip, capsys):
    from apiframe_magic.ipython import commands, grammar

    ip.run_line_magic("imagine", "help")
    out = capsys.readouterr().out
    for sub in grammar.SUBCOMMANDS.values():
        assert callable(getattr(commands, sub.handler)), sub.name
        assert len(re.findall(f"^  {re.escape(sub.usage)}( |$)", out, re.M)) == 1, sub.usage
    for line, sub in [("show", "show"), ("blend a.png", "blend"), ("jobs extra", "jobs"),
                      ("shorten", "shorten"), ("styles what", "styles")]:
        with pytest.raises(UsageError) as caught:
            ip.run_line_magic("imagine", line)
        assert str(caught.value) == f"usage: %imagine {grammar.SUBCOMMANDS[sub].usage}"


def test_the_grammar_is_imported_by_the_magic_and_the_commands_never_the_reverse():
    import ast
    from pathlib import Path

    import apiframe_magic.ipython as face

    def imports(name: str) -> set[str]:
        tree = ast.parse((Path(face.__file__).parent / f"{name}.py").read_text())
        found = set()
        for node in ast.walk(tree):            # lazy imports inside functions included
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found |= {node.module} if node.module else {a.name for a in node.names}
        return found

    assert "grammar" in imports("magic") and "grammar" in imports("commands")
    assert "magic" not in imports("commands")
    assert not imports("grammar") & {"magic", "commands"}


# ---------------------------------------------------------------------- runs


def test_dry_run_shows_requests_and_credits_and_sends_nothing(ip, capsys):
    result = ip.run_line_magic("imagine", "--dry-run --mode turbo -- a {red, blue} fox --ar 3:2")
    out = capsys.readouterr().out
    assert result is None
    assert out.count("POST /imagine") == 2
    assert "'process_mode': 'turbo'" in out and "'aspect_ratio': '3:2'" in out
    assert "2 jobs, 8 credits" in out
    assert magics_of(ip).runtime is None          # nothing started, so nothing recorded either


def test_permutations_above_the_threshold_need_yes(ip):
    text = "a {red, green, blue, pink} {cat, dog, fox} in the snow"
    with pytest.raises(UsageError, match=r"12 jobs \(48 credits\).*--yes"):
        ip.run_cell_magic("imagine", "", text)
    assert sent(ip) == 0
    group = ip.run_cell_magic("imagine", "--yes --wait", text)
    assert len(group) == 12 and all(job.state == "finished" for job in group)
    assert [job.prompt for job in group][:2] == ["a red cat in the snow", "a red dog in the snow"]
    assert sent(ip) == 12


def test_terminal_run_waits_shows_progress_and_saves(ip, capsys, tmp_path):
    job = ip.run_cell_magic("imagine", "", FOX + " --sref random")
    out = capsys.readouterr().out
    assert job.state == "finished"
    assert "100% Finished in" in out
    assert f"task {job.task_id}" in out and f"sref {job.sref}" in out
    saved = sorted((tmp_path / "apiframe-images").iterdir())
    assert len(saved) == 5 and all(str(path) in out for path in saved)


def test_no_wait_returns_at_once_and_the_job_goes_on(frozen_ip, frozen_sim):
    job = frozen_ip.run_cell_magic("imagine", "--no-wait", FOX)
    assert job.task_id and job.state == "active"
    frozen_sim.clock.advance(10_000)
    assert job.wait(30).finished


def test_options_reach_the_request(ip, tmp_path):
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 30, 30)).save(tmp_path / "ref.png")
    ip.user_ns["pic"] = Image.new("RGB", (32, 32), (0, 90, 200))
    job = ip.run_cell_magic("imagine", "--wait --mode fast --image ref.png --image pic "
                            "--webhook-url http://127.0.0.1:9/hook --webhook-secret s3cret "
                            f"--save {tmp_path / 'out'} --as fox", FOX)
    task = magics_of(ip).runtime.simulator.get_task(job.task_id)
    assert task is not None
    assert job.payload["process_mode"] == "fast"
    assert job.payload["aspect_ratio"] == "3:2"
    assert job.payload["webhook_url"] == "http://127.0.0.1:9/hook"
    urls = job.prompt.split()[:2]
    assert all(url.startswith("http://127.0.0.1") for url in urls)
    assert ip.user_ns["fox"] is job
    assert len(list((tmp_path / "out").iterdir())) == 5


def test_version_option_makes_version_rules_errors(ip):
    ip.run_cell_magic("imagine", "--dry-run", "a cat --cref https://x.example/a.png")
    with pytest.raises(UsageError):
        ip.run_cell_magic("imagine", "--dry-run --version 5.2",
                          "a cat --cref https://x.example/a.png")


def test_failed_task_is_shown_in_words_and_kept_in_history(static_ip):
    magics = magics_of(static_ip)
    magics.current_runtime().simulator.set_faults(fail_prompts=("doomed",))
    job = static_ip.run_cell_magic("imagine", "--wait", "a doomed ship")
    assert job.state == "failed"
    caption = static_ip.display_pub.outputs()[-1]["data"]["text/plain"]
    assert "Failed: Midjourney could not complete it" in caption and "Change the prompt" in caption
    assert "Traceback" not in caption
    assert magics.runtime.store.get(job.job_id).state == "failed"


# ---------------------------------------------------------------------- the static twin


def test_twin_is_a_placeholder_at_once_then_the_final_image(static_ip):
    publisher: RecordingPublisher = static_ip.display_pub
    job = static_ip.run_cell_magic("imagine", "--no-wait", "a <script>alert(1)</script> fox")
    first = publisher.messages[0]
    assert first["display_id"] and not first["update"]
    assert "&lt;script&gt;" in first["data"]["text/html"]
    assert "<script>" not in first["data"]["text/html"]
    job.wait(30, images=True)
    deadline = time.time() + 10
    while not publisher.images() and time.time() < deadline:
        time.sleep(0.05)
    outputs = publisher.outputs()
    assert len(outputs) == 1, "updates replace the placeholder in place"
    final = outputs[0]
    assert final["data"]["text/plain"].startswith("imagine: a <script>")
    assert job.task_id in final["data"]["text/plain"]
    assert any(m["update"] for m in publisher.messages)
    notebook_bytes = len(json.dumps(final))
    assert notebook_bytes <= 250_000


def test_group_twin_is_one_output_with_a_table_of_ids(static_ip):
    group = static_ip.run_cell_magic("imagine", "--wait", "a {red, blue} fox")
    (final,) = static_ip.display_pub.outputs()
    text = final["data"]["text/plain"]
    assert all(job.task_id in text for job in group)
    assert "image/jpeg" in final["data"]


def test_returned_job_is_not_displayed_twice_and_is_bound(static_ip):
    static_ip.run_cell("%%imagine --wait\n" + FOX)
    job = static_ip.user_ns["_"]
    assert job.state == "finished"
    assert len(static_ip.display_pub.outputs()) == 1
    static_ip.run_cell("jobs = %imagine --wait -- a small {red, blue} boat")
    assert len(static_ip.user_ns["jobs"]) == 2
    assert len(static_ip.display_pub.outputs()) == 2
    static_ip.run_cell("_")           # shown on its own in a later cell: displayed again
    assert len(static_ip.display_pub.outputs()) == 3


def test_job_mimebundle_and_show(static_ip):
    job = static_ip.run_cell_magic("imagine", "--wait", FOX)
    data, metadata = job._repr_mimebundle_()
    assert "image/jpeg" in data and job.task_id in data["text/plain"]
    job.show()
    assert len(static_ip.display_pub.outputs()) == 2


# ---------------------------------------------------------------------- the key


@pytest.fixture
def service(sim, ip):
    """A second simulator standing in for the real service."""
    ip.run_line_magic("config", f"Imagine.base_url = '{sim.url}'")
    return sim


def test_key_switch_from_simulator_to_service_is_announced(ip, service, monkeypatch, capsys):
    ip.run_cell_magic("imagine", "--no-wait", FOX)
    assert "offline simulator" in capsys.readouterr().out
    monkeypatch.setenv("APIFRAME_API_KEY", service.api_key)
    job = ip.run_cell_magic("imagine", "--wait", FOX)
    out = capsys.readouterr().out
    assert "API key changed" in out and service.url in out
    assert service.api_key not in out
    assert service.tasks_created == 1 and job.task_id in service.task_ids()


def test_key_from_dotenv_beside_the_notebook(ip, service, tmp_path):
    (tmp_path / ".env").write_text(f"APIFRAME_API_KEY={service.api_key}\n")
    ip.run_cell_magic("imagine", "--wait", FOX)
    assert service.tasks_created == 1
    assert "APIFRAME_API_KEY" not in os.environ


def test_login_keeps_the_key_in_the_process(ip, service, monkeypatch, capsys):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": service.api_key)
    ip.run_line_magic("imagine", "login")
    ip.run_cell_magic("imagine", "--wait", FOX)
    assert service.tasks_created == 1
    ip.run_line_magic("imagine", "config")
    out = capsys.readouterr().out
    assert service.api_key not in out and "from login" in out


def test_wrong_key_is_one_line_that_says_what_to_do(ip, service, monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "wrong-key-123")
    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("imagine", "", FOX)
    message = str(caught.value)
    assert "%imagine login" in message and "wrong-key-123" not in message
    assert "\n" not in message


def test_configured_key_variable_name(ip, service, monkeypatch):
    monkeypatch.setenv("MY_MJ_KEY", service.api_key)
    ip.run_line_magic("config", "Imagine.api_key_env = 'MY_MJ_KEY'")
    ip.run_cell_magic("imagine", "--wait", FOX)
    assert service.tasks_created == 1


# ---------------------------------------------------------------------- configuration


@pytest.mark.parametrize("assignment, message", [
    ("twin_size = 5", "twin_size must be between 128 and 2048; got 5"),
    ("base_url = 'ftp://x'", "base_url must be the API's address: The base URL must start with "
                             "http:// or https://, got 'ftp://x'"),
    ("base_url = 'https://api.apiframe.pro/?a=1'", "The base URL 'https://api.apiframe.pro/' has a "
                                                   "query (?...); give only scheme, host, port "
                                                   "and path"),
    ("wait = 'sometimes'", "expected any of ['auto', 'always', 'never'], not the str 'sometimes'"),
    ("sim_speed = -1.0", "sim_speed must be a finite number > 0 (10 makes an imagine take "
                         "about 4 s), got -1.0"),
    ("confirm_above = 0", "confirm_above must be between 1 and 200; got 0"),
    ("default_version = '99'", "default_version '99' is not a Midjourney version"),
    ("api_key_env = 'not a name'", "api_key_env must be an environment variable name, "
                                   "like APIFRAME_API_KEY"),
    ("max_in_flight = -1", "max_in_flight must be between 0 and 1000; got -1"),
])
def test_config_values_are_validated(ip, assignment, message, caplog):
    name = assignment.split()[0]
    before = getattr(magics_of(ip), name)
    ip.run_cell(f"%config Imagine.{assignment}")
    assert getattr(magics_of(ip), name) == before
    assert message in caplog.text


def test_config_is_applied(ip):
    ip.run_line_magic("config", "Imagine.max_in_flight = 3")
    ip.run_cell_magic("imagine", "--no-wait", FOX)
    assert magics_of(ip).runtime.manager.policy.max_in_flight == 3


def test_wait_env_forces_waiting(static_ip, monkeypatch):
    monkeypatch.setenv("APIFRAME_MAGIC_WAIT", "1")
    job = static_ip.run_cell_magic("imagine", "", FOX)
    assert job.state == "finished"


# ---------------------------------------------------------------------- subcommands


def test_history_show_save_seed_and_prefixes(ip, capsys, tmp_path):
    job = ip.run_cell_magic("imagine", "--wait", "a lighthouse at dusk --sref random")
    capsys.readouterr()
    ip.run_line_magic("imagine", "history 5 --search lighthouse")
    assert job.task_id in capsys.readouterr().out
    ip.run_line_magic("imagine", f"history --search {job.sref}")
    assert job.task_id in capsys.readouterr().out
    ip.run_line_magic("imagine", "history --search nothing-like-this")
    assert "No job matches" in capsys.readouterr().out
    ip.run_line_magic("imagine", f"show {job.task_id[:8]}")
    assert job.task_id in capsys.readouterr().out
    ip.run_line_magic("imagine", f"save {job.task_id[:8]} {tmp_path / 'kept'}")
    assert len(list((tmp_path / "kept").iterdir())) == 5
    seed = ip.run_line_magic("imagine", f"seed {job.task_id[:8]}")
    assert seed.kind == "seed" and seed.state == "finished"
    with pytest.raises(UsageError, match="No task 'zzzz'"):
        ip.run_line_magic("imagine", "show zzzz")
    with pytest.raises(UsageError, match="usage: %imagine show ID"):
        ip.run_line_magic("imagine", "show")
    with pytest.raises(UsageError, match="N must be from 1"):
        ip.run_line_magic("imagine", "history 0")


def test_show_rebuilds_a_result_in_a_new_kernel(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    first = make_shell()
    job = first.run_cell_magic("imagine", "--wait", FOX)
    first.extension_manager.unload_extension("apiframe_magic")
    second = make_shell(display="static")
    try:
        second.run_line_magic("imagine", f"show {job.task_id[:10]}")
        (output,) = second.display_pub.outputs()
        assert "image/jpeg" in output["data"] and job.task_id in output["data"]["text/plain"]
    finally:
        second.extension_manager.unload_extension("apiframe_magic")


def test_jobs_wait_and_cancel(ip, capsys):
    job = ip.run_cell_magic("imagine", "--no-wait", FOX)
    ip.run_line_magic("imagine", "jobs")
    assert job.task_id in capsys.readouterr().out     # listed, running or finished
    ip.run_line_magic("imagine", "wait all")
    assert job.state == "finished"
    assert f"task {job.task_id} · Finished in" in capsys.readouterr().out
    with pytest.raises(UsageError, match="no job with an id"):
        ip.run_line_magic("imagine", "cancel nothing-matches")


def test_cancel_stops_a_running_job(frozen_ip, frozen_sim):
    job = frozen_ip.run_cell_magic("imagine", "--no-wait", "a slow blue whale")
    frozen_ip.run_line_magic("imagine", f"cancel {job.task_id[:8]}")
    assert job.state == "cancelled"
    other = frozen_ip.run_cell_magic("imagine", "--no-wait", "a whale that goes on")
    frozen_sim.clock.advance(10_000)                   # both tasks end at the simulator ...
    assert other.wait(60).finished                     # ... and the poller has seen the end
    assert job.state == "cancelled" and job.result is None


def test_resume_after_a_restart_takes_up_a_running_job(frozen_ip, frozen_sim):
    job = frozen_ip.run_cell_magic("imagine", "--no-wait", FOX)
    frozen_ip.extension_manager.unload_extension("apiframe_magic")   # the kernel goes away
    assert job.state == "active"                       # the job still runs at the restart
    second = make_shell(base_url=frozen_sim.url, wait="never")
    try:
        resumed = second.run_line_magic("imagine", "resume")
        assert resumed.task_id == job.task_id and not resumed.done
        frozen_sim.clock.advance(10_000)
        assert resumed.wait(60).finished
        assert frozen_sim.tasks_created == 1
    finally:
        second.extension_manager.unload_extension("apiframe_magic")


def test_resume_with_nothing_running_says_so(ip, capsys):
    ip.run_cell_magic("imagine", "--wait", FOX)
    ip.run_line_magic("imagine", "resume")
    assert "Nothing to resume" in capsys.readouterr().out


def test_account_describe_blend_shorten(ip, capsys, tmp_path):
    from PIL import Image

    ip.run_line_magic("imagine", "account")
    assert "credits:" in capsys.readouterr().out
    Image.new("RGB", (64, 64), (10, 120, 40)).save(tmp_path / "a.png")
    Image.new("RGB", (64, 64), (160, 20, 90)).save(tmp_path / "b.png")
    described = ip.run_line_magic("imagine", "describe a.png")
    assert described.kind == "describe" and described.state == "finished"
    assert len(described.result.content) == 4
    blended = ip.run_line_magic("imagine", "blend a.png b.png")
    assert blended.kind == "blend" and blended.state == "finished"
    shortened = ip.run_line_magic("imagine", "shorten a very very long prompt about a red fox")
    assert shortened.kind == "shorten" and shortened.result.content
    with pytest.raises(UsageError, match="usage"):
        ip.run_line_magic("imagine", "blend a.png")
    with pytest.raises(UsageError, match="no such file"):
        ip.run_line_magic("imagine", "describe missing.png")


def test_panel_needs_a_widget_frontend(ip):
    with pytest.raises(UsageError, match="renders widgets"):
        ip.run_line_magic("imagine", "panel")


def test_expand_fills_notebook_variables_and_leaves_permutations(ip, capsys):
    ip.user_ns["style"] = type("S", (), {"code": "12345"})()
    ip.run_cell_magic("imagine", "--dry-run --expand", "a {red, blue} fox --sref {{style.code}}")
    out = capsys.readouterr().out
    assert "a red fox --sref 12345" in out and "a blue fox --sref 12345" in out
    ip.run_cell_magic("imagine", "--dry-run", "a fox {{style.code}}")  # no --expand: Midjourney's
    out = capsys.readouterr().out
    assert "12345" not in out and "a fox style.code" in out
    with pytest.raises(UsageError, match="no variable 'missing'"):
        ip.run_cell_magic("imagine", "--dry-run --expand", "a fox --sref {{missing}}")
    with pytest.raises(UsageError, match="has no attribute 'nope'"):
        ip.run_cell_magic("imagine", "--dry-run --expand", "a fox --sref {{style.nope}}")


def test_subcommands_take_notebook_variables_and_jobs_save(ip, tmp_path, capsys):
    job = ip.run_cell_magic("imagine", "--wait", FOX)
    ip.user_ns["fox"] = job
    capsys.readouterr()
    ip.run_line_magic("imagine", "show {{fox.task_id}}")
    assert job.task_id in capsys.readouterr().out
    paths = job.save(tmp_path / "mine")
    assert len(paths) == 5 and all(path.is_file() for path in paths)


def test_live_views_come_first_then_the_twin_and_buttons_work(ip):
    ip.run_line_magic("config", "Imagine.display = 'widgets'")
    job = ip.run_cell_magic("imagine", "--wait", FOX)
    outputs = ip.display_pub.outputs()
    assert "application/vnd.jupyter.widget-view+json" in outputs[0]["data"]
    assert "image/jpeg" in outputs[-1]["data"]
    context = magics_of(ip).ui_context()
    (view,) = [v for v in context.views if v.job is job]
    view.buttons["U1"].click()
    child = view.started["U1"]
    assert child.kind == "upscale-1x" and child.wait(30).finished
    assert view.child_views and view.child_views[0].job is child
    child.wait(30, images=True)
    twin = ip.display_pub.outputs()[-1]      # the cell's record now keeps the follow-up too
    assert child.task_id in twin["data"]["text/plain"] and "image/jpeg" in twin["data"]
    assert len(ip.display_pub.outputs()) == len(outputs)


class _SaysWhenWaiting(io.StringIO):
    """stdout that sets `waiting` once the cell writes its progress bar: the cell is then in
    its waiting loop, where Ctrl-C must stop the waiting only."""

    def __init__(self):
        super().__init__()
        self.waiting = threading.Event()

    def write(self, text):
        if text.startswith("\r["):
            self.waiting.set()
        return super().write(text)


def test_interrupt_stops_the_waiting_not_the_job(frozen_ip, frozen_sim, monkeypatch, capsys):
    import _thread

    stdout = _SaysWhenWaiting()
    monkeypatch.setattr(sys, "stdout", stdout)

    def interrupt_when_waiting():
        if stdout.waiting.wait(60):
            _thread.interrupt_main()

    threading.Thread(target=interrupt_when_waiting, daemon=True).start()
    job = frozen_ip.run_cell_magic("imagine", "--wait", FOX)   # cannot end while it waits
    assert "stopped waiting; the job goes on" in capsys.readouterr().err
    assert job.state == "active"
    frozen_sim.clock.advance(10_000)
    assert job.wait(60).finished


def test_save_without_waiting_saves_when_the_images_land(static_ip, tmp_path):
    job = static_ip.run_cell_magic("imagine", f"--no-wait --save {tmp_path / 'later'}", FOX)
    job.wait(30, images=True)
    assert len(list((tmp_path / "later").iterdir())) == 5
