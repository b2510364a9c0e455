"""Model routes, end to end with the official SDK: a client names a route,
the operator's configuration decides which vendor serves it, and moving
the route (a reload) moves the next identical create to another vendor;
learning_rate_multiplier becomes an absolute rate by the route's rate;
GET /v1/models lists what each client may tune; who may use what."""

from __future__ import annotations

import json

import openai
import pytest

import harness
from conftest import (DATASET, PRELOAD, SECRETS, Gateway, _clova_params,
                      _gateway_conf, _internal, _start, error_of)

QF_DATASET = "qianfan://dataset/1234"


def _providers(prefix, clova_port, qianfan_port, route):
    key = harness.write_secret(prefix / "clova.key", SECRETS["clova_api_key"])
    qak = harness.write_secret(prefix / "qf.ak", SECRETS["qianfan_ak"])
    qsk = harness.write_secret(prefix / "qf.sk", SECRETS["qianfan_sk"])
    return f"""
    ftgw_provider clova kind=clova endpoint=/_ftgw/clova auth=bearer
                  api_key_file={key} {_clova_params(prefix)};
    ftgw_provider qianfan kind=qianfan endpoint=/_ftgw/qianfan
                  access_key_file={qak} secret_key_file={qsk}
                  clients=alice;
    {route}
    ftgw_route alice-only provider=clova model=HCX-003 clients=alice;
    ftgw_route lenient provider=clova model=HCX-003 unsupported=drop;
    ftgw_route ernie provider=qianfan model=ERNIE-Bot-turbo-0725
               learning_rate=2e-5;
    upstream clova_sandbox {{ server 127.0.0.1:{clova_port}; }}
    upstream qianfan_sandbox {{ server 127.0.0.1:{qianfan_port}; }}"""


CLOVA_ROUTE = ("ftgw_route support-bot provider=clova model=HCX-003 "
               "learning_rate=1e-4 n_epochs=2;")
QIANFAN_ROUTE = ("ftgw_route support-bot provider=qianfan model=Llama-2-7b "
                 "learning_rate=1e-4 n_epochs=2;")
LOCATIONS = (_internal("clova", "http://clova_sandbox/")
             + _internal("qianfan", "http://qianfan_sandbox/",
                         "proxy_set_header Host qianfan.baidubce.com;",
                         kind="qianfan"))


@pytest.fixture(scope="module")
def routed(workdir, clova_sandbox, qianfan_sandbox):
    prefix = workdir / "routed"
    prefix.mkdir()
    nginx = _start(prefix, _providers(prefix, clova_sandbox.port,
                                      qianfan_sandbox.port, CLOVA_ROUTE),
                   LOCATIONS)
    gw = Gateway(nginx, {"clova": clova_sandbox.port,
                         "qianfan": qianfan_sandbox.port})
    gw.prefix = prefix
    gw.ports = (clova_sandbox.port, qianfan_sandbox.port)
    yield gw
    nginx.stop()
    assert nginx.log_problems() == []


@pytest.fixture(autouse=True)
def _clean(routed):
    routed.clear_faults()
    routed.clear_vendor_requests()


def _reload(gw, route, owner):
    """nginx -s reload with another route; waits until workers serve it."""
    conf = gw.prefix / "nginx.conf"
    text = conf.read_text()
    for old in (CLOVA_ROUTE, QIANFAN_ROUTE):
        text = text.replace(old, route)
    conf.write_text(text)
    assert gw.nginx.test_config().returncode == 0
    gw.nginx.reload()
    assert gw.sdk().models.retrieve("support-bot").owned_by == owner


def test_models_list_shows_what_each_client_may_tune(routed):
    alice = {m.id: m for m in routed.sdk("alice").models.list()}
    assert {"support-bot", "alice-only", "ernie"} <= set(alice)
    assert alice["support-bot"].owned_by == "clova"
    assert alice["support-bot"].object == "model"
    assert alice["support-bot"].created > 1_700_000_000
    assert alice["support-bot"].vendor == {
        "provider": "clova", "kind": "clova",
        "model": "HCX-003", "route": "support-bot"}
    # Qianfan lists its models; CLOVA keeps no list
    assert "qianfan/ERNIE-Bot-turbo-0725" in alice
    assert not any(m.startswith("clova/") for m in alice)

    bob = {m.id for m in routed.sdk("bob").models.list()}
    assert "support-bot" in bob
    assert "alice-only" not in bob
    assert "ernie" not in bob                    # qianfan is alice's only
    assert not any(m.startswith("qianfan/") for m in bob)

    with pytest.raises(openai.NotFoundError):
        routed.sdk("bob").models.retrieve("alice-only")


def test_route_create_with_the_sdk(routed):
    job = routed.sdk().fine_tuning.jobs.create(
        model="support-bot", training_file=DATASET,
        hyperparameters={"learning_rate_multiplier": 2})
    assert job.model == "clova/HCX-003"
    body = json.loads(routed.vendor_requests("clova")[0]["body"])
    assert body["model"] == "HCX-003"
    assert body["trainEpochs"] == 2             # the route's default
    assert body["learningRate"] == pytest.approx(2e-4)   # 1e-4 x 2

    # the client's own epochs win; "auto" is the route's rate
    routed.clear_vendor_requests()
    routed.sdk().fine_tuning.jobs.create(
        model="support-bot", training_file=DATASET,
        hyperparameters={"n_epochs": 5, "learning_rate_multiplier": "auto"})
    body = json.loads(routed.vendor_requests("clova")[0]["body"])
    assert body["trainEpochs"] == 5
    assert body["learningRate"] == pytest.approx(1e-4)


def test_moving_the_route_moves_the_next_job(routed):
    """The same client request, before and after the operator moves the
    route: one job at CLOVA, then one at Qianfan, no client change."""
    def create():
        return routed.sdk().fine_tuning.jobs.create(
            model="support-bot", training_file=QF_DATASET
            if moved else DATASET, suffix="moving")

    moved = False
    first = create()
    assert first.vendor["provider"] == "clova"
    try:
        _reload(routed, QIANFAN_ROUTE, "qianfan")
        moved = True
        routed.clear_vendor_requests()
        second = create()
        assert second.vendor["provider"] == "qianfan"
        assert second.model == "qianfan/Llama-2-7b"
        calls = routed.vendor_requests("qianfan")
        job = json.loads(next(c["body"] for c in calls
                              if c["path"].endswith("createJob")))
        assert job["trainType"] == "Llama-2-7b"
        assert job["trainConfig"]["epoch"] == 2
        assert routed.vendor_requests("clova") == []
        # jobs made before the move stay where they are
        assert routed.sdk().fine_tuning.jobs.retrieve(first.id).vendor[
            "provider"] == "clova"
    finally:
        _reload(routed, CLOVA_ROUTE, "clova")


@pytest.mark.parametrize("client,model,status,code", [
    ("bob", "alice-only", 404, "model_not_found"),
    ("bob", "ernie", 404, "model_not_found"),      # the provider's clients=
    ("bob", "qianfan/Llama-2-7b", 403, "model_not_allowed"),
    ("alice", "no-such-route", 404, "model_not_found"),
])
def test_who_may_use_what(routed, client, model, status, code):
    r = routed.call("POST", "/v1/fine_tuning/jobs", client=client,
                    json={"model": model, "training_file": DATASET})
    assert r.status_code == status, r.text
    err = error_of(r)
    assert (err["param"], err["code"]) == ("model", code)
    assert routed.vendor_requests("clova") == []
    assert routed.vendor_requests("qianfan") == []


def test_multiplier_out_of_the_vendor_range_names_it(routed):
    # 2e-5 x 100 is past ERNIE-Bot-turbo-0725's LoRA range [3e-5, 1e-3]
    r = routed.call("POST", "/v1/fine_tuning/jobs", json={
        "model": "ernie", "training_file": QF_DATASET,
        "hyperparameters": {"learning_rate_multiplier": 100},
        "tuning": {"max_seq_len": 4096}})
    assert r.status_code == 400, r.text
    assert error_of(r)["param"] == "hyperparameters.learning_rate_multiplier"
    assert routed.vendor_requests("qianfan") == []


@pytest.mark.parametrize("route,message", [
    ("ftgw_route r1 provider=nope model=x;", 'names the provider "nope"'),
    ("ftgw_route r1 provider=clova model=HCX-003 clients=carol;",
     'client "carol"'),
    ("ftgw_route r1 provider=clova model=HCX-003 batch_size=8;",
     "cannot take its default batch_size"),
    ("ftgw_route r1 provider=clova model=HCX-003 colour=blue;",
     'unknown parameter "colour"'),
    ("ftgw_route r1 provider=clova;", "provider= and model= are required"),
    ("ftgw_route r1 provider=clova model=HCX-003 unsupported=ignore;",
     'unsupported= must be "drop" or "refuse"'),
    ("ftgw_route support-bot provider=clova model=HCX-003;",
     'route "support-bot" is declared twice'),
])
def test_nginx_t_refuses_bad_routes(workdir, clova_sandbox, qianfan_sandbox,
                                     route, message):
    prefix = workdir / f"badroute-{abs(hash(route))}"
    prefix.mkdir()
    providers = _providers(prefix, clova_sandbox.port, qianfan_sandbox.port,
                           CLOVA_ROUTE + "\n    " + route)
    (prefix / "nginx.conf").write_text(
        _gateway_conf(prefix, harness.free_port(), providers, LOCATIONS))
    nginx = harness.Nginx(prefix, 0, env=harness.nginx_env(PRELOAD))
    r = nginx.test_config()
    assert r.returncode != 0
    assert message in r.stderr, r.stderr


def test_a_lenient_route_drops_and_names(routed):
    """unsupported=drop: the job is made without what CLOVA cannot honour,
    and the answer names each dropped field, twice."""
    r = routed.call("POST", "/v1/fine_tuning/jobs", json={
        "model": "lenient", "training_file": DATASET, "seed": 3,
        "metadata": {"team": "a"}})
    assert r.status_code == 200, r.text
    assert r.headers["ftgw-dropped-params"] == "seed, metadata"
    assert r.json()["vendor"]["dropped_params"] == ["seed", "metadata"]
    body = json.loads(routed.vendor_requests("clova")[0]["body"])
    assert "seed" not in json.dumps(body)

    # the same request on a strict route is refused by name
    r = routed.call("POST", "/v1/fine_tuning/jobs", json={
        "model": "support-bot", "training_file": DATASET, "seed": 3})
    assert r.status_code == 400
    assert error_of(r)["param"] == "seed"
    assert "ftgw-dropped-params" not in r.headers
