"""The offline simulator, tested over real HTTP with plain `requests` (no mocking).

Most tests jump the simulated clock with `sim.clock.advance()` instead of sleeping, so they are
fast and deterministic; a few run at speed 100-200 to prove real time drives the clock too.
"""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from PIL import Image, ImageChops

from apiframe_magic.simulator import DEFAULT_API_KEY, Faults, Simulator

KEYCAP = re.compile(r"^[1-4]\ufe0f\u20e3 ")


# ------------------------------------------------------------------------------ helpers

@pytest.fixture
def sim():
    with Simulator(speed=1, seed=42) as s:
        yield s


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def call(sim, http, path, body=None, *, key=None, method="POST"):
    headers = {"Authorization": sim.api_key if key is None else key}
    if method == "GET":
        return http.get(sim.url + path, headers=headers, timeout=5)
    return http.post(sim.url + path, json=body or {}, headers=headers, timeout=5)


def submit(sim, http, path, body) -> str:
    response = call(sim, http, path, body)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"task_id"}
    return response.json()["task_id"]


def fetch(sim, http, task_id) -> dict:
    response = call(sim, http, "/fetch", {"task_id": task_id})
    assert response.status_code == 200, response.text
    return response.json()


def finish(sim, http, path, body) -> dict:
    """Submit and jump the clock until the task is terminal."""
    task_id = submit(sim, http, path, body)
    sim.clock.advance(max(0.0, sim.finished_at(task_id) - time.time()) * sim.speed + 0.01)
    return fetch(sim, http, task_id)


def png(http, url) -> Image.Image:
    response = http.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    img = Image.open(io.BytesIO(response.content))
    assert img.format == "PNG"
    return img.convert("RGB")


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference of 64x64 thumbnails (0 = identical, 255 = opposite)."""
    a, b = a.resize((64, 64)), b.resize((64, 64))
    diff = ImageChops.difference(a, b).convert("L")
    return sum(diff.tobytes()) / (64 * 64)


def errors_of(response) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"errors"} and body["errors"]
    return [e["msg"] for e in body["errors"]]


@pytest.fixture
def grid(sim, http):
    done = finish(sim, http, "/imagine", {"prompt": "a sunflower field --ar 3:2"})
    assert done["status"] == "finished"
    return done


@pytest.fixture
def upscale(sim, http, grid):
    done = finish(sim, http, "/upscale-1x", {"parent_task_id": grid["task_id"], "index": "2"})
    assert done["status"] == "finished"
    return done


# ------------------------------------------------------------------------------ auth and routing

def test_default_key_is_documented_and_url_has_no_trailing_slash(sim):
    assert sim.api_key == DEFAULT_API_KEY == "sim-key"
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sim.url)


@pytest.mark.parametrize("key", [None, "", "wrong", "Bearer wrong"])
def test_missing_or_wrong_key_is_401_with_empty_object(sim, http, key):
    headers = {} if key is None else {"Authorization": key}
    for response in (http.post(sim.url + "/imagine", json={"prompt": "x"}, headers=headers),
                     http.get(sim.url + "/account", headers=headers)):
        assert response.status_code == 401
        assert response.json() == {}
    assert sim.tasks_created == 0


def test_unknown_path_and_wrong_method_are_404_json(sim, http):
    for response in (call(sim, http, "/nope"), call(sim, http, "/imagine", method="GET")):
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["errors"]


def test_body_without_json_content_type_is_ignored_like_express(sim, http):
    response = http.post(sim.url + "/imagine", data='{"prompt": "a cat"}',
                         headers={"Authorization": sim.api_key, "Content-Type": "text/plain"})
    assert errors_of(response) == ["prompt is required"]
    bad = http.post(sim.url + "/imagine", data="{not json",
                    headers={"Authorization": sim.api_key, "Content-Type": "application/json"})
    assert errors_of(bad) == ["Invalid JSON body"]


# ------------------------------------------------------------------------------ life cycle

def test_life_cycle_goes_staged_pending_starting_processing_finished(frozen_sim, http):
    task_id = submit(frozen_sim, http, "/imagine", {"prompt": "a quiet lake"})
    seen, percentages = [], []
    for _ in range(400):
        state = fetch(frozen_sim, http, task_id)
        if not seen or seen[-1] != state["status"]:
            seen.append(state["status"])
        if state["status"] == "processing":
            assert isinstance(state["percentage"], str)
            percentages.append(int(state["percentage"]))
        else:
            assert state["status"] == "finished" or "percentage" not in state
        if state["status"] == "finished":
            break
        frozen_sim.clock.advance(0.25)
    assert seen == ["staged", "pending", "starting", "processing", "finished"]
    assert percentages == sorted(percentages) and percentages[0] < 10 and percentages[-1] > 90
    assert state["percentage"] == "100" and state["task_type"] == "imagine"
    # realistic at speed 1: an imagine takes 30-50 simulated seconds
    assert 0.25 * 100 < 0.25 * len(percentages) + 8 < 55


def test_real_time_drives_the_clock_and_finished_at_follows_it(http):
    with Simulator(speed=1) as sim:                # an imagine takes 30-50 s of real time
        task_id = submit(sim, http, "/imagine", {"prompt": "fast fox"})
        before = sim.clock.now()
        deadline = time.monotonic() + 30
        while sim.clock.now() <= before:           # real time moves the clock by itself
            assert time.monotonic() < deadline
            time.sleep(0.01)
        expected = sim.finished_at(task_id)
        assert fetch(sim, http, task_id)["status"] != "finished"
        sim.clock.advance(10)                      # 10 simulated seconds = 10 s sooner at speed 1
        assert sim.finished_at(task_id) == pytest.approx(expected - 10, abs=1e-6)
        sim.clock.advance(1_000)
        assert fetch(sim, http, task_id)["status"] == "finished"
        assert sim.finished_at(task_id) == pytest.approx(expected - 1_010, abs=1e-6)


def test_concurrency_limit_keeps_excess_tasks_staged_until_a_slot_frees(http):
    with Simulator(speed=0.01, concurrency=2, seed=1) as sim:   # only the test moves the clock
        ids = [submit(sim, http, "/imagine", {"prompt": f"job {i}"}) for i in range(3)]
        sim.clock.advance(1.0)
        statuses = [fetch(sim, http, i)["status"] for i in ids]
        assert statuses == ["pending", "pending", "staged"]
        timelines = [sim.store.task(i).timeline for i in ids]
        first_done = min(t.ends_at for t in timelines[:2])
        assert timelines[2].queued_at == pytest.approx(first_done)    # waited for the slot
        assert timelines[2].ends_at > first_done + 20
        sim.clock.advance(first_done - sim.clock.now() - 1.0)
        assert fetch(sim, http, ids[2])["status"] == "staged"
        sim.clock.advance(1.5)
        assert fetch(sim, http, ids[2])["status"] == "pending"
    with Simulator(speed=1, concurrency=1, seed=1) as sim:
        ids = [submit(sim, http, "/describe", {"image_url": f"http://a.example/{i}.png"})
                for i in range(3)]
        ends = [sim.finished_at(i) for i in ids]
        assert ends == sorted(ends) and ends[2] - ends[0] > 2 * 3 / sim.speed   # one at a time


def test_get_task_in_process_matches_fetch(sim, http, grid):
    assert sim.get_task(grid["task_id"]) == grid
    assert sim.get_task("no-such-task") is None
    assert sim.task_ids() == [grid["task_id"]] and sim.tasks == sim.task_ids()


# ------------------------------------------------------------------------------ results and images

def test_grid_result_shape_and_png_images_of_the_requested_aspect(sim, http, grid):
    assert re.fullmatch(r"[0-9a-f-]{36}", grid["task_id"])
    assert grid["task_id"][14] == "4"      # uuid4
    assert "sref" not in grid
    assert len(grid["image_urls"]) == 4
    assert all(u.startswith(sim.url + "/images/") for u in grid["image_urls"])
    variants = [png(http, u) for u in grid["image_urls"]]
    assert all(v.size == (512, 341) for v in variants)
    composite = png(http, grid["original_image_url"])
    assert composite.size == (1024, 682)
    for i, variant in enumerate(variants):                # grid = 2x2 of the variants
        box = ((i % 2) * 512, (i // 2) * 341, (i % 2) * 512 + 512, (i // 2) * 341 + 341)
        assert difference(composite.crop(box), variant) < 1.0
    for i in range(4):                                    # variants visibly differ
        for j in range(i + 1, 4):
            assert difference(variants[i], variants[j]) > 5


def test_prompt_aspect_wins_over_the_field_and_em_dash_works(sim, http):
    done = finish(sim, http, "/imagine", {"prompt": "a tower \u2014ar 2:3", "aspect_ratio": "16:9"})
    assert png(http, done["image_urls"][0]).size == (341, 512)
    field_only = finish(sim, http, "/imagine", {"prompt": "a tower", "aspect_ratio": "16:9"})
    assert png(http, field_only["image_urls"][0]).size == (512, 288)


def test_images_need_no_auth_and_unfinished_or_unknown_images_are_404(sim, http):
    task_id = submit(sim, http, "/imagine", {"prompt": "later"})
    assert http.get(f"{sim.url}/images/{task_id}/1.png").status_code == 404
    assert http.get(f"{sim.url}/images/nope/1.png").status_code == 404


def test_same_prompt_and_seed_give_the_same_picture(sim, http):
    a = finish(sim, http, "/imagine", {"prompt": "red barn --seed 7"})
    b = finish(sim, http, "/imagine", {"prompt": "red barn --seed 7"})
    # the same pixels (each file's Description names its own job)
    assert png(http, a["image_urls"][0]).tobytes() == png(http, b["image_urls"][0]).tobytes()


def test_upscales_are_bigger_and_typed(sim, http, grid, upscale):
    assert upscale["task_type"] == "upscale#2" and set(upscale) >= {"image_url"}
    assert "image_urls" not in upscale
    assert png(http, upscale["image_url"]).size == (1024, 683)
    parent = upscale["task_id"]
    subtle = finish(sim, http, "/upscale-alt", {"parent_task_id": parent, "type": "subtle"})
    creative = finish(sim, http, "/upscale-alt", {"parent_task_id": parent, "type": "creative"})
    assert (subtle["task_type"], creative["task_type"]) == ("upscale-subtle", "upscale-creative")
    assert png(http, subtle["image_url"]).size == (2048, 1366)
    x2 = finish(sim, http, "/upscale-highres",
                {"parent_task_id": grid["task_id"], "index": 1, "type": "2x"})
    x4 = finish(sim, http, "/upscale-highres", {"parent_task_id": parent, "type": "4x"})
    assert (x2["task_type"], x4["task_type"]) == ("upscale-2x", "upscale-4x")
    assert png(http, x2["image_url"]).size == (1024, 682)
    assert max(png(http, x4["image_url"]).size) == 2048          # capped


def test_variations_are_related_to_their_parent_variant(sim, http, grid):
    strong = finish(sim, http, "/variations", {"parent_task_id": grid["task_id"], "index": 3})
    assert strong["task_type"] == "variation-3"
    parent3 = png(http, grid["image_urls"][2])
    parent1 = png(http, grid["image_urls"][0])
    children = [png(http, u) for u in strong["image_urls"]]
    assert all(difference(c, parent3) < difference(c, parent1) for c in children)
    subtle = finish(sim, http, "/variations", {"parent_task_id": grid["task_id"],
                                               "index": "subtle"})
    assert subtle["task_type"] == "variation-subtle"


def test_vary_strong_and_subtle_also_take_an_upscale(sim, http, upscale):
    for strength in ("strong", "subtle"):
        varied = finish(sim, http, "/variations", {"parent_task_id": upscale["task_id"],
                                                   "index": strength})
        assert varied["task_type"] == f"variation-{strength}" and len(varied["image_urls"]) == 4


def test_pan_outpaint_inpaint_reroll_blend_faceswap(sim, http, grid, upscale):
    parent = upscale["task_id"]
    source = png(http, upscale["image_url"])
    pan = finish(sim, http, "/pan", {"parent_task_id": parent, "direction": "left"})
    out = finish(sim, http, "/outpaint", {"parent_task_id": parent, "zoom_ratio": "2"})
    out15 = finish(sim, http, "/outpaint", {"parent_task_id": parent, "zoom_ratio": 1.5})
    inpaint = finish(sim, http, "/inpaint", {"parent_task_id": parent, "mask": "data:image/png;base64,AA=="})
    reroll = finish(sim, http, "/reroll", {"parent_task_id": grid["task_id"]})
    blend = finish(sim, http, "/blend", {"image_urls": grid["image_urls"][:2],
                                         "dimension": "portrait"})
    swap = finish(sim, http, "/faceswap", {"target_image_url": upscale["image_url"],
                                           "swap_image_url": "https://example.com/face.png"})
    assert [t["task_type"] for t in (pan, out, out15, inpaint, reroll, blend, swap)] == [
        "pan-left", "outpaint-2", "outpaint-1.5", "inpaint", "reroll", "blend", "faceswap"]
    for task in (pan, out, inpaint, reroll, blend):
        assert len(task["image_urls"]) == 4 and task["original_image_url"]
    assert png(http, blend["image_urls"][0]).size == (341, 512)
    shifted = png(http, pan["image_urls"][0])
    assert 3 < difference(shifted, source)                  # visibly shifted, not a copy
    assert png(http, swap["image_url"]).size[0] > 0


def test_text_results_describe_shorten_seed(sim, http, grid):
    describe = finish(sim, http, "/describe", {"image_url": grid["image_urls"][0]})
    assert describe["task_type"] == "describe" and len(describe["content"]) == 4
    assert all(KEYCAP.match(c) for c in describe["content"])
    assert "sunflower field" in describe["content"][0] and "--ar 3:2" in describe["content"][0]
    assert describe["image_url"] == grid["image_urls"][0]
    shorten = finish(sim, http, "/shorten", {"prompt": "a very beautiful highly detailed "
                                                       "sunflower field at dawn --ar 3:2"})
    assert shorten["task_type"] == "shorten" and len(shorten["content"]) == 3
    assert all(KEYCAP.match(c) for c in shorten["content"])
    assert shorten["full_content"].startswith("## Important tokens")
    seed = finish(sim, http, "/seed", {"task_id": grid["task_id"]})
    assert seed["task_type"] == "seed" and seed["seed"].isdigit()
    assert seed["task_id"] != grid["task_id"]
    with_seed = finish(sim, http, "/imagine", {"prompt": "owl --seed 1234"})
    assert finish(sim, http, "/seed", {"task_id": with_seed["task_id"]})["seed"] == "1234"


def test_video_endpoints(sim, http, grid):
    video = finish(sim, http, "/imagine-video", {"prompt": "drift", "image_url": grid["image_urls"][0],
                                                 "motion": "high"})
    assert video["task_type"] == "imagine-video" and len(video["video_urls"]) == 4
    assert http.get(video["video_urls"][0]).headers["Content-Type"] == "image/gif"
    extend = finish(sim, http, "/imagine-video-extend",
                    {"parent_task_id": video["task_id"], "index": "1", "prompt": "further"})
    assert extend["status"] == "finished" and len(extend["video_urls"]) == 4


# ------------------------------------------------------------------------------ sref

def test_sref_random_code_url_and_none(sim, http):
    rnd = finish(sim, http, "/imagine", {"prompt": "castle --sref random"})
    assert rnd["sref"].isdigit() and 0 <= int(rnd["sref"]) <= 4294967295
    other = finish(sim, http, "/imagine", {"prompt": "castle --sref random"})
    assert other["sref"] != rnd["sref"]                          # fresh per job
    reroll = finish(sim, http, "/reroll", {"parent_task_id": rnd["task_id"]})
    variation = finish(sim, http, "/variations", {"parent_task_id": rnd["task_id"], "index": "1"})
    assert reroll["sref"] == variation["sref"] == rnd["sref"]     # children keep the code
    assert finish(sim, http, "/imagine", {"prompt": "castle --sref 123456"})["sref"] == "123456"
    assert "sref" not in finish(sim, http, "/imagine",
                                {"prompt": "castle --sref https://x.example/a.png"})
    assert "sref" not in finish(sim, http, "/imagine", {"prompt": "castle"})


# ------------------------------------------------------------------------------ validation

@pytest.mark.parametrize("path, body, message", [
    ("/imagine", {}, "prompt is required"),
    ("/imagine", {"prompt": "   "}, "prompt must not be blank"),
    ("/imagine", {"prompt": 5}, "prompt must be a string"),
    ("/imagine", {"prompt": "x", "aspect_ratio": "wide"}, "aspect_ratio must look like W:H"),
    ("/imagine", {"prompt": "x", "aspect_ratio": "0:1"}, "aspect_ratio must look like W:H"),
    ("/imagine", {"prompt": "x", "webhook_url": "https://example.com/hook"}, "loopback"),
    ("/imagine", {"prompt": "x", "webhook_url": "not a url"}, "webhook_url must be a valid"),
    ("/reroll", {}, "parent_task_id is required"),
    ("/variations", {"parent_task_id": "nope", "index": "1"}, "parent_task_id not found"),
    ("/upscale-1x", {"parent_task_id": "GRID"}, "index is required"),
    ("/upscale-1x", {"parent_task_id": "GRID", "index": "5"}, "index must be one of"),
    ("/upscale-1x", {"parent_task_id": "GRID", "index": True}, "index must be one of"),
    ("/upscale-1x", {"parent_task_id": "UPSCALE", "index": "1"}, "must be a grid task"),
    ("/variations", {"parent_task_id": "GRID", "index": "9"}, "index must be one of"),
    ("/variations", {"parent_task_id": "UPSCALE", "index": "2"}, "must be a grid task"),
    ("/upscale-alt", {"parent_task_id": "GRID", "type": "subtle"}, "must be an upscale-1x"),
    ("/upscale-alt", {"parent_task_id": "UPSCALE", "type": "big"}, "type must be one of"),
    ("/pan", {"parent_task_id": "GRID", "direction": "up"}, "must be an upscale-1x"),
    ("/pan", {"parent_task_id": "UPSCALE", "direction": "north"}, "direction must be one of"),
    ("/outpaint", {"parent_task_id": "UPSCALE"}, "zoom_ratio is required"),
    ("/outpaint", {"parent_task_id": "UPSCALE", "zoom_ratio": 3}, "zoom_ratio must be a number"),
    ("/outpaint", {"parent_task_id": "UPSCALE", "zoom_ratio": "big"}, "zoom_ratio must be"),
    ("/inpaint", {"parent_task_id": "UPSCALE"}, "mask is required"),
    ("/inpaint", {"parent_task_id": "GRID", "mask": "m"}, "must be an upscale-1x"),
    ("/upscale-highres", {"type": "2x"}, "parent_task_id or image_url is required"),
    ("/upscale-highres", {"parent_task_id": "GRID", "image_url": "http://a/b.png", "type": "2x"},
     "not both"),
    ("/upscale-highres", {"parent_task_id": "GRID", "type": "2x"}, "index is required"),
    ("/upscale-highres", {"image_url": "http://a/b.png", "type": "8x"}, "type must be one of"),
    ("/blend", {"image_urls": ["http://a/1.png"]}, "between 2 and 5"),
    ("/blend", {"image_urls": ["http://a/%d.png" % i for i in range(6)]}, "between 2 and 5"),
    ("/blend", {"image_urls": ["http://a/1.png", "ftp://b"]}, "valid http(s) URLs"),
    ("/blend", {"image_urls": ["http://a/1.png", "http://a/2.png"], "dimension": "round"},
     "dimension must be one of"),
    ("/faceswap", {"target_image_url": "http://a/1.png"}, "swap_image_url is required"),
    ("/describe", {}, "image_url is required"),
    ("/describe", {"image_url": "file:///etc/passwd"}, "image_url must be a valid"),
    ("/shorten", {}, "prompt is required"),
    ("/seed", {}, "task_id is required"),
    ("/seed", {"task_id": "nope"}, "task_id not found"),
    ("/imagine-video", {"prompt": "x"}, "image_url is required"),
    ("/fetch", {}, "task_id is required"),
    ("/fetch", {"task_id": "nope"}, "Task not found"),
    ("/fetch-many", {"task_ids": ["GRID"]}, "between 2 and 20"),
    ("/fetch-many", {"task_ids": ["GRID"] * 21}, "between 2 and 20"),
    ("/fetch-many", {"task_ids": "GRID"}, "task_ids must be a list"),
])
def test_validation_errors_are_400_with_specific_messages(sim, http, grid, upscale, path, body,
                                                          message):
    ids = {"GRID": grid["task_id"], "UPSCALE": upscale["task_id"]}
    body = json.loads(json.dumps(body).replace('"GRID"', json.dumps(ids["GRID"]))
                      .replace('"UPSCALE"', json.dumps(ids["UPSCALE"])))
    created = sim.tasks_created
    credits = sim.credits
    messages = errors_of(call(sim, http, path, body))
    assert any(message in m for m in messages), messages
    assert sim.tasks_created == created and sim.credits == credits


def test_several_problems_are_reported_together(sim, http):
    messages = errors_of(call(sim, http, "/upscale-1x", {"index": "7"}))
    assert messages == ["parent_task_id is required", "index must be one of: 1, 2, 3, 4"]


def test_parent_must_be_finished(sim, http):
    running = submit(sim, http, "/imagine", {"prompt": "slow"})
    messages = errors_of(call(sim, http, "/upscale-1x", {"parent_task_id": running, "index": "1"}))
    assert messages == ["parent_task_id refers to a task that is not finished yet"]


def test_fetch_many_omits_unknown_ids_and_keeps_order(sim, http, grid, upscale):
    response = call(sim, http, "/fetch-many",
                    {"task_ids": [upscale["task_id"], "unknown", grid["task_id"]]})
    assert response.status_code == 200
    assert [t["task_id"] for t in response.json()["tasks"]] == [upscale["task_id"],
                                                                grid["task_id"]]
    assert call(sim, http, "/fetch-many", {"task_ids": [grid["task_id"]] * 20}).status_code == 200


# ------------------------------------------------------------------------------ credits, account, upload

def test_account_and_credits_charged_at_creation(http):
    with Simulator(speed=1, credits=9) as sim:
        account = call(sim, http, "/account", method="GET").json()
        assert set(account) == {"email", "credits", "total_images", "plan", "next_billing_date"}
        assert account["credits"] == 9
        grid = finish(sim, http, "/imagine", {"prompt": "coins"})
        assert sim.credits == 5
        finish(sim, http, "/upscale-1x", {"parent_task_id": grid["task_id"], "index": "1"})
        finish(sim, http, "/upscale-highres", {"parent_task_id": grid["task_id"], "index": "1",
                                               "type": "2x"})
        assert call(sim, http, "/account", method="GET").json()["credits"] == 2
        assert errors_of(call(sim, http, "/imagine", {"prompt": "broke"})) == ["Not enough credits"]
        call(sim, http, "/fetch-many", {"task_ids": [grid["task_id"]] * 2})
        assert sim.credits == 2 and sim.tasks_created == 3      # fetches are free


def test_upload_round_trip_and_limits(sim, http):
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buf, format="PNG")
    headers = {"Authorization": sim.api_key}
    response = http.post(sim.url + "/upload", headers=headers,
                         files={"image": ("red.png", buf.getvalue(), "image/png")})
    assert response.status_code == 200, response.text
    url = response.json()["imageURL"]
    assert url.startswith(sim.url + "/uploads/") and url.endswith(".png")
    served = http.get(url)
    assert served.content == buf.getvalue() and served.headers["Content-Type"] == "image/png"
    described = finish(sim, http, "/describe", {"image_url": url})
    assert described["status"] == "finished"
    bigger = finish(sim, http, "/upscale-highres", {"image_url": url, "type": "2x"})
    assert png(http, bigger["image_url"]).size == (80, 60)
    too_big = http.post(sim.url + "/upload", headers=headers,
                        files={"image": ("big.png", b"\x89PNG" + b"0" * (2 * 1024 * 1024), "image/png")})
    assert errors_of(too_big) == ["image must not be larger than 2 MB"]
    wrong_field = http.post(sim.url + "/upload", headers=headers,
                            files={"file": ("red.png", buf.getvalue(), "image/png")})
    assert errors_of(wrong_field) == ["image is required"]
    not_image = http.post(sim.url + "/upload", headers=headers,
                          files={"image": ("a.txt", b"hello", "text/plain")})
    assert "PNG" in errors_of(not_image)[0]


# ------------------------------------------------------------------------------ webhooks

class _Receiver:
    """A tiny local webhook endpoint recording (headers, payload)."""

    def __init__(self, status: int = 200):
        received = self.received = []
        answer = status

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout=5.0):
        deadline = time.time() + timeout
        while not predicate(self.received):
            assert time.time() < deadline, self.received
            time.sleep(0.01)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhooks_post_progress_and_final_with_the_secret(http):
    receiver = _Receiver()
    try:
        with Simulator(speed=200) as sim:
            task_id = submit(sim, http, "/imagine", {"prompt": "hooked", "webhook_url": receiver.url,
                                                     "webhook_secret": "s3"})
            receiver.wait_for(lambda r: r and r[-1][1]["status"] == "finished")
            final = fetch(sim, http, task_id)
    finally:
        receiver.close()
    payloads = [p for _, p in receiver.received]
    assert all(h["x-webhook-secret"] == "s3" for h, _ in receiver.received)
    assert all(h["content-type"] == "application/json" for h, _ in receiver.received)
    statuses = [p["status"] for p in payloads]
    assert statuses[0] == "staged" and "processing" in statuses
    assert payloads[-1] == final
    progress = [int(p["percentage"]) for p in payloads if p["status"] == "processing"]
    assert progress == sorted(progress) and 3 <= len(progress) <= 11   # throttled to ~10 %


def test_webhook_final_payload_is_retried_and_no_secret_header_without_secret(http):
    receiver = _Receiver(status=500)
    try:
        with Simulator(speed=1000) as sim:
            submit(sim, http, "/describe", {"image_url": "http://a.example/x.png",
                                            "webhook_url": receiver.url})
            receiver.wait_for(lambda r: sum(p["status"] == "finished" for _, p in r) == 4)
            assert all(entry["status"] == 500 for entry in sim.webhook_log)
    finally:
        receiver.close()
    assert all("x-webhook-secret" not in h for h, _ in receiver.received)


def test_failed_task_webhook_and_fetch_carry_message_and_error(http):
    receiver = _Receiver()
    try:
        with Simulator(speed=200, faults=Faults(fail_prompts=("fail-me",),
                                                failure_reason="Banned prompt")) as sim:
            task_id = submit(sim, http, "/imagine", {"prompt": "please fail-me",
                                                     "webhook_url": receiver.url})
            receiver.wait_for(lambda r: r and r[-1][1]["status"] == "failed")
            failed = fetch(sim, http, task_id)
    finally:
        receiver.close()
    assert failed["message"] == failed["error"] == "Banned prompt"
    assert receiver.received[-1][1] == failed


# ------------------------------------------------------------------------------ faults

def test_fail_next_500_then_recovers_and_counts_every_request(sim, http):
    sim.fail_next(2, "500", paths="/account")
    results = [call(sim, http, "/account", method="GET") for _ in range(3)]
    assert [r.status_code for r in results] == [500, 500, 200]
    assert results[0].json() == {}
    assert sim.request_counts["/account"] == 3
    sim.reset_counters()
    assert sim.request_counts == {} and sim.tasks_created == 0


def test_429_has_retry_after_and_never_creates(sim, http):
    sim.fail_next(1, "429", paths="/imagine", retry_after=3, phase="after")
    response = call(sim, http, "/imagine", {"prompt": "x"})
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert sim.tasks_created == 0


def test_phase_before_rejects_and_phase_after_creates_and_charges(sim, http):
    sim.fail_next(1, "500", paths="/imagine", phase="before")
    assert call(sim, http, "/imagine", {"prompt": "x"}).status_code == 500
    assert sim.tasks_created == 0 and sim.credits == 10_000
    sim.fail_next(1, "500", paths="/imagine", phase="after")
    assert call(sim, http, "/imagine", {"prompt": "x"}).status_code == 500
    assert sim.tasks_created == 1 and sim.credits == 9_996


def test_dropped_connection_sends_no_response(sim, http):
    sim.fail_next(1, "drop", paths="/imagine", phase="after")
    with pytest.raises(requests.ConnectionError):
        call(sim, http, "/imagine", {"prompt": "x"})
    assert sim.tasks_created == 1
    assert call(sim, http, "/account", method="GET").status_code == 200   # server still fine


def test_slow_response_delays_by_the_given_time(sim, http):
    sim.fail_next(1, "slow", paths="/account", delay=0.3)
    start = time.time()
    assert call(sim, http, "/account", method="GET").status_code == 200
    assert time.time() - start >= 0.3
    with pytest.raises(requests.Timeout):
        sim.fail_next(1, "slow", paths="/account", delay=0.5)
        http.get(sim.url + "/account", headers={"Authorization": sim.api_key}, timeout=0.1)


def test_malformed_bodies_truncated_and_html(sim, http, grid):
    sim.fail_next(1, "malformed", paths="/fetch", malformed="truncated")
    truncated = call(sim, http, "/fetch", {"task_id": grid["task_id"]})
    assert truncated.status_code == 200
    with pytest.raises(ValueError):
        json.loads(truncated.text)
    sim.fail_next(1, "html", paths="/fetch")
    html = call(sim, http, "/fetch", {"task_id": grid["task_id"]})
    assert html.status_code == 502 and html.headers["Content-Type"] == "text/html"
    assert "<html>" in html.text
    sim.fail_next(1, "malformed", paths="/fetch", malformed="html200")
    assert call(sim, http, "/fetch", {"task_id": grid["task_id"]}).status_code == 200


def test_fault_rates_are_seeded_and_limited_to_paths(http):
    def run():
        with Simulator(faults=Faults(error_rate=0.5, paths={"/fetch-many"}, seed=3)) as sim:
            codes = [call(sim, http, "/fetch-many", {"task_ids": ["a", "b"]}).status_code
                     for _ in range(20)]
            assert all(call(sim, http, "/account", method="GET").status_code == 200
                       for _ in range(5))
            return codes
    first, second = run(), run()
    assert first == second and set(first) == {200, 500}


def test_faults_can_change_at_runtime(sim, http):
    sim.faults = Faults(error_rate=1.0)
    assert call(sim, http, "/account", method="GET").status_code == 500
    sim.set_faults(rate_limit_rate=1.0, retry_after=2)
    assert call(sim, http, "/account", method="GET").headers["Retry-After"] == "2"
    sim.faults = Faults()
    assert call(sim, http, "/account", method="GET").status_code == 200


def test_task_failures_by_rate_one_shot_and_bad_flags(sim, http):
    sim.fail_next(1, "task_failed", reason="Job was rejected")
    failed = finish(sim, http, "/imagine", {"prompt": "innocent"})
    assert failed["status"] == "failed" and failed["message"] == "Job was rejected"
    assert "image_urls" not in failed
    assert finish(sim, http, "/imagine", {"prompt": "innocent"})["status"] == "finished"
    sim.faults = Faults(task_failure_rate=1.0)
    assert finish(sim, http, "/shorten", {"prompt": "x y"})["status"] == "failed"
    sim.faults = Faults()
    bad_flag = finish(sim, http, "/imagine", {"prompt": "x --ar wide"})
    assert bad_flag["status"] == "failed" and "--ar wide" in bad_flag["error"]


# ------------------------------------------------------------------------------ CLI

def test_cli_prints_url_and_key_and_serves():
    proc = subprocess.Popen([sys.executable, "-m", "apiframe_magic.simulator", "--port", "0",
                             "--speed", "50", "--api-key", "k1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)\s+api key: (\S+)", line)
        assert match, line
        url, key = match.groups()
        assert key == "k1"
        response = requests.post(url + "/imagine", json={"prompt": "cli"},
                                 headers={"Authorization": key}, timeout=5)
        assert response.status_code == 200 and "task_id" in response.json()
    finally:
        proc.terminate()
        proc.wait(timeout=5)
