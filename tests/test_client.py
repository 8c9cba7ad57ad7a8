"""ApiframeClient against the simulator over real HTTP: every endpoint, every error mapping, and
the retry rules under injected faults (counting the tasks the server created)."""
from __future__ import annotations

import io
import socket
import time

import pytest
import requests
from PIL import Image

from apiframe_magic import (
    ApiframeClient,
    AuthenticationError,
    BadRequestError,
    RateLimitError,
    ServerError,
)
from apiframe_magic.errors import (
    ApiConnectionError,
    ApiTimeoutError,
    InvalidArgumentError,
    InvalidResponseError,
    TaskNotFoundError,
)

from localserver import finish

SECRET = "sk-test-very-secret-0123456789"


@pytest.fixture
def grid(client):
    return finish(client, client.imagine("a lighthouse at dusk --ar 3:2", aspect_ratio="3:2"))


@pytest.fixture
def upscaled(client, grid):
    return finish(client, client.upscale_1x(grid.task_id, 2))


def png_size(url):
    response = requests.get(url, timeout=10)
    assert response.headers["Content-Type"].startswith("image/png")
    return Image.open(io.BytesIO(response.content)).size


# ------------------------------------------------------------------------------ endpoints


def test_imagine_finishes_with_a_grid_of_the_requested_shape(grid):
    assert grid.status == "finished" and grid.task_type == "imagine"
    assert len(grid.image_urls) == 4 and grid.original_image_url
    width, height = png_size(grid.image_urls[0])
    assert abs(width / height - 1.5) < 0.02
    assert grid.sref is None


def test_imagine_reports_the_random_sref_it_used(client):
    task = finish(client, client.imagine("an owl --sref random"))
    assert task.sref and task.sref.isdigit()


def test_grid_children(client, grid):
    for task_id, task_type in [
        (client.variations(grid.task_id, 1), "variation-1"),
        (client.variations(grid.task_id, "strong"), "variation-strong"),
        (client.reroll(grid.task_id), "reroll"),
    ]:
        task = finish(client, task_id)
        assert task.task_type == task_type and len(task.image_urls) == 4


def test_upscale_children(client, upscaled):
    assert upscaled.task_type == "upscale#2" and upscaled.image_url
    children = {
        "pan-left": client.pan(upscaled.task_id, "left"),
        "outpaint-2": client.outpaint(upscaled.task_id, 2),
        "inpaint": client.inpaint(upscaled.task_id, b"\x89PNG fake mask", prompt="a boat"),
        "upscale-creative": client.upscale_alt(upscaled.task_id, "creative"),
        "upscale-4x": client.upscale_highres(upscaled.task_id, type="4x"),
    }
    for task_type, task_id in children.items():
        task = finish(client, task_id)
        assert task.status == "finished", task.raw
        assert task.task_type == task_type


def test_highres_from_a_url_and_from_a_grid_index(client, grid):
    by_url = finish(client, client.upscale_highres(image_url=grid.image_urls[0], type="2x"))
    by_index = finish(client, client.upscale_highres(grid.task_id, type="2x", index=3))
    assert by_url.image_url and by_index.image_url


def test_blend_describe_shorten_seed_faceswap(client, grid):
    urls = grid.image_urls
    blend = finish(client, client.blend(urls[:3], dimension="landscape"))
    assert blend.task_type == "blend" and len(blend.image_urls) == 4
    described = finish(client, client.describe(urls[0]))
    assert len(described.content) == 4 and described.content[0].startswith("1️⃣")
    short = finish(client, client.shorten("a very very detailed portrait of a cat, 8k, trending"))
    assert short.content and short.full_content
    seed = finish(client, client.seed(grid.task_id))
    assert seed.seed.isdigit()
    swap = finish(client, client.faceswap(urls[0], urls[1]))
    assert swap.image_url


def test_fetch_many_returns_every_known_task_and_skips_unknown(client, grid):
    other = client.imagine("a second prompt")
    tasks = client.fetch_many([grid.task_id, other, "00000000-0000-4000-8000-000000000000"])
    assert {t.task_id for t in tasks} == {grid.task_id, other}


def test_account_credits_go_down_by_the_documented_cost(client):
    before = client.account().credits
    client.imagine("a cat")
    assert client.account().credits == before - 4


def test_upload_path_bytes_and_pil(client, tmp_path):
    image = Image.new("RGB", (64, 48), "teal")
    path = tmp_path / "teal.png"
    image.save(path)
    for source in (path, path.read_bytes(), image):
        url = client.upload(source)
        assert png_size(url) == (64, 48)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("call, words", [
    (lambda c: c.imagine("   "), "prompt is empty"),
    (lambda c: c.imagine("a cat", aspect_ratio="1.5:1"), "whole numbers"),
    (lambda c: c.upscale_1x("", 1), "parent_task_id is required"),
    (lambda c: c.upscale_1x("abc", 5), "index must be one of 1, 2, 3, 4"),
    (lambda c: c.variations("abc", 0), "index"),
    (lambda c: c.fetch_many(["a"]), "2 to 20"),
    (lambda c: c.fetch_many([str(i) for i in range(21)]), "2 to 20"),
    (lambda c: c.blend(["https://x/a.png"]), "2 to 5"),
    (lambda c: c.pan("abc", "sideways"), "direction"),
    (lambda c: c.outpaint("abc", 3), "zoom_ratio"),
    (lambda c: c.upscale_highres(), "exactly one"),
    (lambda c: c.describe("file:///etc/passwd"), "http(s) URL"),
    (lambda c: c.imagine("a cat", webhook_secret="s"), "without webhook_url"),
    (lambda c: c.upload(b"x" * (2 * 1024 * 1024 + 1)), "limit is 2 MB"),
    (lambda c: c.upload(12), "file path, bytes or a PIL image"),
])
def test_bad_arguments_fail_before_any_request(sim, client, call, words):
    before = sum(sim.request_counts.values())
    with pytest.raises(InvalidArgumentError) as info:
        call(client)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)
    assert sum(sim.request_counts.values()) == before


def test_service_validation_errors_carry_every_message(client, grid):
    with pytest.raises(BadRequestError) as info:
        client.pan(grid.task_id, "up")  # pan needs an upscale-1x parent
    assert info.value.messages and info.value.status_code == 400
    assert info.value.messages[0] in str(info.value)


def test_unknown_task_is_task_not_found(client):
    with pytest.raises(TaskNotFoundError):
        client.fetch("00000000-0000-4000-8000-000000000000")


# ------------------------------------------------------------------------------ auth and secrets


def test_wrong_key_is_authentication_error_that_never_shows_the_key(sim):
    bad = ApiframeClient(SECRET, base_url=sim.url)
    with pytest.raises(AuthenticationError) as info:
        bad.imagine("a cat")
    assert "APIFRAME_API_KEY" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert SECRET not in repr(bad) and SECRET not in repr(bad.session.auth)
    assert sim.tasks_created == 0


def test_missing_key_says_how_to_set_it(monkeypatch):
    with pytest.raises(AuthenticationError, match="APIFRAME_API_KEY"):
        ApiframeClient()


def test_key_and_base_url_come_from_the_environment(sim, monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", sim.api_key)
    monkeypatch.setenv("APIFRAME_BASE_URL", sim.url + "/")
    client = ApiframeClient()
    assert client.base_url == sim.url
    assert client.account().credits is not None


def test_default_base_url_is_the_public_service():
    assert ApiframeClient("k").base_url == "https://api.apiframe.pro"


def test_the_key_is_sent_raw_in_authorization(sim, client):
    # the documented form; the simulator also takes "Bearer <key>" (APIFRAME's SDKs send it)
    seen = []
    client.session.hooks["response"].append(
        lambda response, **_: seen.append(response.request.headers["Authorization"]))
    client.imagine("a cat")
    assert seen == [sim.api_key]


# ------------------------------------------------------------------------------ faults and retries


def test_reads_retry_through_server_errors_and_dropped_connections(sim, client, grid):
    sim.fail_next(2, "500", paths="/fetch")
    sim.fail_next(1, "drop", paths="/fetch")
    assert client.fetch(grid.task_id).finished
    sim.fail_next(2, "500", paths="/fetch-many")
    tasks = client.fetch_many([grid.task_id, grid.task_id])
    assert [task.task_id for task in tasks] == [grid.task_id] * 2 and tasks[0].finished


def test_reads_give_up_with_a_typed_error(sim, client, grid):
    sim.fail_next(10, "500", paths="/fetch")
    with pytest.raises(ServerError) as info:
        client.fetch(grid.task_id)
    assert info.value.status_code == 500 and not info.value.maybe_created


def test_reads_honour_retry_after(sim, client, grid):
    sim.fail_next(1, "429", paths="/account", retry_after=1)
    started = time.monotonic()
    client.account()
    assert time.monotonic() - started >= 0.9


def test_submit_is_retried_after_429_and_created_once(sim, client):
    sim.fail_next(2, "429", paths="/imagine", retry_after=0)
    task_id = client.imagine("a cat")
    assert task_id and sim.tasks_created == 1


def test_persistent_429_is_a_rate_limit_error_with_retry_after(sim, client):
    sim.fail_next(10, "429", paths="/imagine", retry_after=0)
    with pytest.raises(RateLimitError) as info:
        client.imagine("a cat")
    assert info.value.retry_after == 0
    assert sim.tasks_created == 0


@pytest.mark.parametrize("kind, error", [
    ("500", ServerError), ("drop", ApiConnectionError), ("malformed", InvalidResponseError),
])
def test_ambiguous_submit_failures_are_never_retried(sim, client, kind, error):
    sim.fail_next(1, kind, paths="/imagine", phase="after")
    with pytest.raises(error) as info:
        client.imagine("a cat")
    assert info.value.maybe_created
    assert "may have been created" in str(info.value)
    assert sim.tasks_created == 1


def test_submit_read_timeout_is_ambiguous_and_not_retried(sim):
    client = ApiframeClient(sim.api_key, base_url=sim.url, timeout=(2, 0.3), backoff=0.01)
    sim.fail_next(1, "slow", paths="/imagine", phase="after", delay=1.0)
    with pytest.raises(ApiTimeoutError) as info:
        client.imagine("a cat")
    assert info.value.maybe_created and "0.3 s" in str(info.value)
    assert sim.request_counts["/imagine"] == 1 and sim.tasks_created == 1   # sent once


def test_rejected_submit_500_before_creation_is_still_not_retried(sim, client):
    sim.fail_next(1, "500", paths="/imagine", phase="before")
    with pytest.raises(ServerError):
        client.imagine("a cat")
    assert sim.tasks_created == 0 and sim.request_counts["/imagine"] == 1


def test_html_from_a_proxy_is_a_typed_error_with_an_excerpt(sim, client, grid):
    sim.fail_next(10, "malformed", paths="/fetch", malformed="html")
    with pytest.raises((ServerError, InvalidResponseError)) as info:
        client.fetch(grid.task_id)
    assert "HTTP" in str(info.value) and "<" in str(info.value)


def test_truncated_json_on_a_read_is_invalid_response(sim, client, grid):
    sim.fail_next(1, "malformed", paths="/fetch", malformed="truncated")
    with pytest.raises(InvalidResponseError) as info:
        client.fetch(grid.task_id)
    assert "not JSON" in str(info.value)


def test_unreachable_service_is_a_connection_error_that_sent_nothing():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ApiframeClient("k", base_url=f"http://127.0.0.1:{port}", backoff=0.01)
    with pytest.raises(ApiConnectionError) as info:
        client.imagine("a cat")
    assert not info.value.maybe_created and "nothing was sent" in str(info.value)


def test_failed_task_reason_is_read(sim, client):
    sim.fail_next(1, "task_failed", reason="Banned prompt")
    task = finish(client, client.imagine("a cat"))
    assert task.failed and task.error == "Banned prompt"
