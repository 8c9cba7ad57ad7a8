"""Tolerant reading of task objects: every shape the docs, SDKs and the clone show."""
import pytest

from apiframe_magic.models import Account, Task


def test_finished_result_without_status_is_finished():
    task = Task.from_dict({"task_id": "t1", "task_type": "imagine",
                           "original_image_url": "https://x/g.png",
                           "image_urls": ["https://x/1.png", "https://x/2.png",
                                          "https://x/3.png", "https://x/4.png"]})
    assert task.status == "finished" and task.finished and task.done
    assert task.percentage == 100
    assert task.all_image_urls[0] == "https://x/g.png" and len(task.all_image_urls) == 5


@pytest.mark.parametrize("value, expected", [
    ("40", 40), (40, 40), (40.7, 40), ("40%", 40), (" 7 ", 7), ("abc", None), (None, None),
    (True, None), ("150", 100), ("-3", 0), (float("nan"), None),
])
def test_percentage_as_string_or_number(value, expected):
    task = Task.from_dict({"task_id": "t", "status": "processing", "percentage": value})
    assert task.percentage == expected


@pytest.mark.parametrize("field", ["message", "error"])
def test_failure_reason_from_message_or_error(field):
    task = Task.from_dict({"task_id": "t", "status": "failed", field: "Banned prompt"})
    assert task.failed and task.error == "Banned prompt"


def test_failure_without_status_is_read_from_the_reason():
    assert Task.from_dict({"task_id": "t", "message": "Invalid parameter"}).status == "failed"


def test_task_id_spelled_camel_case_and_numeric_ids():
    assert Task.from_dict({"taskId": "abc", "status": "pending"}).task_id == "abc"
    assert Task.from_dict({"task_id": 1234567890123}).task_id == "1234567890123"


def test_unknown_status_and_extra_fields_are_kept():
    raw = {"task_id": "t", "status": "Retrying", "model": "midjourney", "weird": [1]}
    task = Task.from_dict(raw)
    assert task.status == "retrying" and not task.done
    assert task.raw == raw


def test_upscale_text_and_seed_results():
    up = Task.from_dict({"task_id": "u", "task_type": "upscale#1", "image_url": "https://x/u.png",
                         "status": "finished"})
    assert up.image_url == "https://x/u.png" and not up.is_grid
    text = Task.from_dict({"task_id": "d", "content": ["1️⃣ a", "2️⃣ b"], "status": "finished"})
    assert text.content == ("1️⃣ a", "2️⃣ b")
    seed = Task.from_dict({"task_id": "s", "seed": 993456789123, "status": "finished"})
    assert seed.seed == "993456789123"


def test_error_is_none_unless_failed():
    task = Task.from_dict({"task_id": "t", "status": "processing", "error": ""})
    assert task.error is None


def test_a_task_without_id_is_rejected():
    with pytest.raises(ValueError):
        Task.from_dict({"status": "finished"})
    with pytest.raises(ValueError):
        Task.from_dict(["not", "a", "dict"])


def test_account_reads_numbers_tolerantly():
    account = Account.from_dict({"email": "a@b.c", "credits": "12000", "total_images": 695,
                                 "plan": "starter"})
    assert account.credits == 12000 and account.total_images == 695
    assert account.next_billing_date is None


def test_one_rule_names_the_images_of_every_kind_of_result():
    from apiframe_magic.models import image_names

    grid = Task.from_dict({"task_id": "g", "original_image_url": "https://x/g.png",
                           "image_urls": ["https://x/1.png", "https://x/2.png"]})
    assert image_names(grid) == [("grid", "https://x/g.png"), ("1", "https://x/1.png"),
                                 ("2", "https://x/2.png")]
    upscale = Task.from_dict({"task_id": "u", "image_url": "https://x/u.png"})
    assert image_names(upscale) == [("image", "https://x/u.png")]
    both = Task.from_dict({"task_id": "b", "image_urls": ["https://x/1.png"],
                           "image_url": "https://x/extra.png"})
    assert image_names(both) == [("1", "https://x/1.png")]
    assert both.all_image_urls == ("https://x/1.png",)     # the same rule lists the URLs


def test_the_engine_the_saver_and_the_gallery_name_images_by_the_models_rule():
    from apiframe_magic import downloads, models, saving
    from apiframe_magic.static import export

    assert downloads.image_names is saving.image_names is export.image_names is models.image_names
