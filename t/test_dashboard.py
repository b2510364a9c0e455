"""The dashboard (ui/) in a real browser: Debian's chromium, headless,
driven by Selenium through Debian's chromedriver, against the sandboxes of
every cloud vendor and the local engine.  It lists every provider's jobs,
follows a running local job's loss curve as it gains points, uploads a
good file and a bad one, cancels a job, and shows the API's own words for
a wrong key.  The screenshots of the jobs view and of a job view land in
build/ui-screenshots/ (docs/img/ holds the committed ones)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import requests

import harness
from conftest import (SECRETS, YANDEX_FOLDER, CLIENT_KEYS, DATASET, Gateway,
                      _clova_params, _grpc_internal, _internal,
                      _slurm_internal, _start,
                      assert_logs_clean)

import sys
sys.path.insert(0, str(Path(__file__).resolve().parent / "slurm"))
from slurmrest import slurm_cluster  # noqa: E402,F401
from test_local import engine, trainer_venv, wait  # noqa: E402,F401

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SHOTS = harness.ROOT / "build" / "ui-screenshots"

if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
    pytest.skip("the dashboard tests need Debian's chromium and "
                "chromium-driver, which `make it` installs with apt; they "
                "are not installed here", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

GOOD = "".join(
    '{"messages": [{"role": "user", "content": "What is %d plus 1?"}, '
    '{"role": "assistant", "content": "%d."}]}\n' % (i, i + 1)
    for i in range(12))
BAD = GOOD + '{"messages": [{"role": "user", "content": "no answer"}]}\n'


@pytest.fixture(scope="module")
def ui(workdir, clova_sandbox, qianfan_sandbox, yandex_sandbox, engine,
       slurm_cluster, trainer_venv):  # noqa: F811
    """The demo's providers (the sandboxes, and the local engine on a real
    Slurm) and the dashboard at /ui/, as config/demo.conf serves it."""
    prefix = workdir / "ui"
    prefix.mkdir()
    key = harness.write_secret(prefix / "clova.key",
                               SECRETS["clova_api_key"])
    qak = harness.write_secret(prefix / "qf.ak", SECRETS["qianfan_ak"])
    qsk = harness.write_secret(prefix / "qf.sk", SECRETS["qianfan_sk"])
    yak = harness.write_secret(prefix / "yandex.key",
                               SECRETS["yandex_api_key"])
    providers = f"""
    ftgw_provider clova kind=clova endpoint=/_ftgw/clova auth=bearer
                  api_key_file={key} {_clova_params(prefix)};
    ftgw_provider qianfan kind=qianfan endpoint=/_ftgw/qianfan
                  access_key_file={qak} secret_key_file={qsk};
    ftgw_provider yandex kind=yandex endpoint=/_ftgw/yandex
                  folder_id={YANDEX_FOLDER} api_key_file={yak};
    ftgw_provider local kind=slurm endpoint=/_ftgw/local
                  models=tiny:{engine}/models/tiny
                  dataset_root={engine}/datasets
                  output_root={engine}/out
                  trainer={trainer_venv}/bin/ftgw-trainer
                  partition=gpu time_limit=30;"""
    locations = (
        _internal("clova", f"http://127.0.0.1:{clova_sandbox.port}/")
        + _internal("qianfan", f"http://127.0.0.1:{qianfan_sandbox.port}/",
                    "proxy_set_header Host qianfan.baidubce.com;",
                    kind="qianfan")
        + _grpc_internal("yandex", f"grpc://127.0.0.1:{yandex_sandbox.port}")
        + _slurm_internal("local", slurm_cluster.socket_path)
        + f"""
        location /ui/ {{
            alias {harness.ROOT}/ui/;
            include {harness.SNIPPETS}/ftgw-ui.conf;
        }}""")
    nginx = _start(prefix, providers, locations)
    yield Gateway(nginx, {"clova": clova_sandbox.port,
                          "qianfan": qianfan_sandbox.port})
    nginx.stop()
    assert_logs_clean(nginx)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="ftgw-chromium-")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def until(driver, condition, timeout=30):
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def sign_in(driver, gw: Gateway, key: str, view: str = "#/jobs"):
    driver.get(gw.base + "/ui/" + view)
    box = until(driver, EC.element_to_be_clickable((By.ID, "key")))
    box.clear()
    box.send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]") \
        .click()


def cells(driver, kind: str, value: str) -> list[str] | None:
    """The text of a table row's cells, read at once: the page redraws
    its tables while jobs run, so an element found earlier goes stale."""
    return driver.execute_script(
        "const r = document.querySelector(`tr[data-${arguments[0]}=\"`"
        " + arguments[1] + '\"]');"
        "return r ? [...r.cells].map((c) => c.innerText.trim()) : null;",
        kind, value)


def column(driver, table: str, index: int) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' tbody tr')]"
        ".map((r) => r.cells[arguments[1]].innerText.trim());",
        "#" + table, index)


def text(driver, element_id: str) -> str:
    return driver.execute_script(
        "const e = document.getElementById(arguments[0]);"
        "return e ? e.innerText.trim() : '';", element_id)


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / name))


def test_served_with_its_types_and_headers(ui):
    for path, ctype in (("", "text/html"), ("style.css", "text/css"),
                        ("app.js", "text/javascript")):
        r = requests.get(ui.base + "/ui/" + path, timeout=10)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(ctype), path
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"


def test_wrong_key_shows_the_apis_words(ui, browser):
    expected = requests.get(ui.base + "/v1/fine_tuning/jobs", timeout=10,
                            headers={"Authorization": "Bearer nope"}) \
        .json()["error"]["message"]
    sign_in(browser, ui, "nope")
    error = until(browser, EC.visibility_of_element_located((By.ID, "error")))
    until(browser, lambda d: expected in error.text)
    assert error.text == "Error 401: " + expected
    assert error.get_attribute("role") == "alert"
    # the key is in this tab's sessionStorage, never in the URL or a cookie
    assert "nope" not in browser.current_url
    assert browser.get_cookies() == []
    assert browser.execute_script(
        "return sessionStorage.getItem('ftgw.key')") == "nope"


def test_lists_jobs_of_every_provider(ui, browser):
    sdk = ui.sdk("alice")
    jobs = {
        "clova": sdk.fine_tuning.jobs.create(model="clova/HCX-003",
                                             training_file=DATASET),
        "yandex": sdk.fine_tuning.jobs.create(
            model="yandex/yandexgpt-lite",
            training_file="yandex://dataset/fds1train",
            extra_body={"tuning": {"tuning_type": "lora"}}),
        "local": sdk.fine_tuning.jobs.create(
            model="local/tiny", training_file="local://datasets/chat.jsonl",
            hyperparameters={"n_epochs": 1}),
    }
    qianfan = sdk.fine_tuning.jobs.create(
        model="qianfan/ERNIE-Bot-turbo-0725",
        training_file="qianfan://dataset/1234",
        extra_body={"tuning": {"max_seq_len": 4096}})
    sign_in(browser, ui, CLIENT_KEYS["alice"])
    for provider, job in jobs.items():
        row = until(browser, lambda d: cells(d, "job", job.id))
        assert row[2] == provider, row
        # the id's ends in the table, the whole id in its link
        assert row[0].startswith(job.id[:16]) and row[0].endswith(
            job.id[-8:]), row
        assert browser.execute_script(
            "return document.querySelector(`tr[data-job=\"${arguments[0]}"
            "\"] a`).title", job.id) == job.id
        assert row[1].replace(" ", "_") in (
            "validating_files", "queued", "running", "succeeded"), row
    # the stylesheet applied: a running job's chip has its colours
    assert browser.execute_script(
        "const c = document.querySelector('#jobs .chip');"
        "return getComputedStyle(c).borderRadius;") == "999px"
    # Qianfan keeps no list of jobs: the page names it instead
    note = browser.find_element(By.ID, "unlisted")
    assert note.is_displayed() and "qianfan" in note.text

    # a filter by provider
    browser.find_element(By.CSS_SELECTOR, "#f-provider option[value=yandex]")\
        .click()
    until(browser, lambda d: column(d, "jobs", 2)
          and set(column(d, "jobs", 2)) == {"yandex"})
    browser.find_element(By.CSS_SELECTOR, "#f-provider option[value='']")\
        .click()
    until(browser, lambda d: cells(d, "job", jobs["clova"].id))
    shot(browser, "jobs.png")

    # and the Qianfan job opens by its id
    browser.get(ui.base + "/ui/#/jobs/" + qianfan.id)
    until(browser, lambda d: text(d, "job-title") == qianfan.id)
    facts = text(browser, "job-facts")
    assert "qianfan" in facts and "ERNIE-Bot-turbo-0725" in facts


def loss_points(driver) -> int:
    return int(driver.find_element(By.ID, "loss-svg")
               .get_attribute("data-points") or 0)


def test_a_running_local_job_grows_its_loss_curve(ui, browser):
    sdk = ui.sdk("alice")
    job = sdk.fine_tuning.jobs.create(
        model="local/tiny", training_file="local://datasets/chat.jsonl",
        suffix="curve", hyperparameters={"n_epochs": 500})
    wait(sdk, job.id, ("running",))
    sign_in(browser, ui, CLIENT_KEYS["alice"], "#/jobs/" + job.id)
    until(browser, lambda d: text(d, "job-title") == job.id)
    until(browser, lambda d: loss_points(d) >= 1, timeout=90)
    first = loss_points(browser)
    # the page refreshes itself while the job runs: points are added
    until(browser, lambda d: loss_points(d) >= first + 2, timeout=120)
    # a few more, for the screenshot
    try:
        until(browser, lambda d: loss_points(d) >= 8, timeout=20)
    except Exception:
        pass
    assert text(browser, "loss-caption").startswith("Training loss over")
    assert browser.execute_script(
        "return document.querySelectorAll('#loss-svg polyline.train')"
        ".length") == 1
    assert text(browser, "job-status") == "running"
    assert "local" in text(browser, "job-facts")
    assert browser.execute_script(
        "return document.querySelectorAll('#timeline li').length") > 0
    shot(browser, "job.png")

    # cancel, confirmed in the browser's dialog
    browser.find_element(By.ID, "cancel").click()
    alert = until(browser, EC.alert_is_present())
    assert job.id in alert.text
    alert.accept()
    until(browser, lambda d: text(d, "job-status") == "cancelled",
          timeout=60)
    assert sdk.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    assert not browser.find_element(By.ID, "cancel").is_displayed()


def upload(driver, path: Path) -> str:
    driver.find_element(By.ID, "upload-file").send_keys(str(path))
    driver.find_element(By.CSS_SELECTOR, "#upload button[type=submit]")\
        .click()
    status = driver.find_element(By.ID, "upload-status")
    until(driver, lambda d: status.text.startswith(path.name + ":"))
    return status.text


def test_upload_a_good_and_a_bad_file(ui, browser, tmp_path):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(GOOD)
    bad.write_text(BAD)
    sign_in(browser, ui, CLIENT_KEYS["bob"], "#/files")
    until(browser, EC.visibility_of_element_located((By.ID, "upload")))

    assert upload(browser, good) == "good.jsonl: processed"
    assert browser.find_element(By.ID, "upload-progress") \
        .get_attribute("value") == "100"
    text = upload(browser, bad)
    files = ui.sdk("bob").files.list().data
    bad_file = next(f for f in files if f.filename == "bad.jsonl")
    assert bad_file.status == "error"
    # the line and the reason, as the API words them
    assert text == f"bad.jsonl: not usable for fine-tuning: " \
                   f"{bad_file.status_details}"
    assert "Line 13" in bad_file.status_details
    row = until(browser, lambda d: cells(d, "file", bad_file.id))
    assert row[3] == "error" and row[4] == bad_file.status_details, row

    # delete, confirmed
    browser.find_element(By.CSS_SELECTOR,
                         f'tr[data-file="{bad_file.id}"] button').click()
    until(browser, EC.alert_is_present()).accept()
    until(browser, lambda d: not d.find_elements(
        By.CSS_SELECTOR, f'tr[data-file="{bad_file.id}"]'))
    assert bad_file.id not in [f.id for f in ui.sdk("bob").files.list().data]


def test_keyboard_only(ui, browser):
    """The key form, the views and a job link are reachable by keyboard,
    and every form control has a label."""
    from selenium.webdriver.common.keys import Keys
    browser.get(ui.base + "/ui/")
    browser.execute_script("sessionStorage.clear()")
    browser.get(ui.base + "/ui/#/jobs")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)        # the skip link first
    active = browser.switch_to.active_element
    assert active.get_attribute("class") == "skip"
    for el in browser.find_elements(By.CSS_SELECTOR, "input, select"):
        el_id = el.get_attribute("id")
        labelled = browser.find_elements(
            By.CSS_SELECTOR, f'label[for="{el_id}"]') or \
            el.find_elements(By.XPATH, "ancestor::label") or \
            el.get_attribute("aria-label")
        assert labelled, el_id
