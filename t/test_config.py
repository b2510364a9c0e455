"""Configuration mistakes fail `nginx -t` with a message naming the
directive, and never print a credential."""

from __future__ import annotations

import shutil
import string

import pytest

import harness
from conftest import MODULE, PRELOAD


def nginx_t(tmp_path, http_body: str):
    (tmp_path / "id.secret").write_text("s" * 40 + "\n")
    (tmp_path / "client.key").write_text("client-key-0123456789\n")
    (tmp_path / "api.key").write_text("nv-secret-api-key-value\n")
    (tmp_path / "empty").write_text("\n")
    conf = harness.http_prelude(tmp_path, MODULE) + http_body + "\n}\n"
    (tmp_path / "nginx.conf").write_text(conf)
    return harness.Nginx(tmp_path, 0,
                         env=harness.nginx_env(PRELOAD)).test_config()


GOOD_PROVIDER = ("ftgw_provider clova kind=clova endpoint=/_ftgw/clova "
                 "api_key_file=api.key storage_access_key_file=api.key "
                 "storage_secret_key_file=api.key;")
SLURM_PROVIDER = ("ftgw_provider local kind=slurm endpoint=/_ftgw/local "
                  "models=tiny:/srv/models/tiny dataset_root=/srv/data "
                  "output_root=/srv/out trainer=/opt/venv/bin/ftgw-trainer "
                  "partition=gpu %s;")
BASE = ("ftgw_secret_file id.secret;\n"
        "ftgw_client app client.key;\n")
CLOVA_LOCATION = ("location /_ftgw/clova/ { %s "
                  "proxy_pass http://127.0.0.1:9/; }"
                  % harness.include("clova"))


def test_good_config_passes(tmp_path):
    r = nginx_t(tmp_path, BASE + GOOD_PROVIDER +
                "server { location /v1/ { ftgw_api on; } %s }"
                % CLOVA_LOCATION)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("gpus", ["gpus=1", "gpus=1 max_gpus=8",
                                  "max_gpus=8", "gpus=0 max_gpus=0"])
def test_slurm_gpus_pass(tmp_path, gpus):
    r = nginx_t(tmp_path, BASE + SLURM_PROVIDER % gpus +
                "server { location /v1/ { ftgw_api on; } "
                "location /_ftgw/local/ { internal; "
                "proxy_pass http://127.0.0.1:9/; } }")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("body,message", [
    (BASE + GOOD_PROVIDER.replace("kind=clova", "kind=openai"),
     'ftgw_provider "clova": unknown kind "openai"'),
    (BASE + GOOD_PROVIDER.replace("kind=clova ", ""),
     'ftgw_provider "clova": needs "kind="'),
    (BASE + GOOD_PROVIDER.replace("api_key_file=api.key", "api_key_file=nope"),
     'ftgw_provider: open() "'),
    (BASE + GOOD_PROVIDER.replace("api_key_file=api.key", "api_key_file=empty"),
     'is empty'),
    (BASE + GOOD_PROVIDER.replace("api_key_file=api.key ", ""),
     'ftgw_provider "clova": auth=bearer needs "api_key_file"'),
    (BASE + GOOD_PROVIDER.replace("endpoint=/_ftgw/clova",
                                  "endpoint=https://example.com"),
     'ftgw_provider "clova": "endpoint" must be an internal location'),
    (BASE + GOOD_PROVIDER.replace("kind=clova", "kind=clova auth=magic"),
     'ftgw_provider "clova": "auth" must be "bearer" or "apigw"'),
    (BASE + GOOD_PROVIDER.replace("kind=clova", "kind=clova auth=apigw"),
     'auth=apigw needs "access_key_file" and "secret_key_file"'),
    (BASE + GOOD_PROVIDER.replace("storage_secret_key_file=api.key", ""),
     'needs "storage_access_key_file" and "storage_secret_key_file"'),
    (BASE + GOOD_PROVIDER.replace("kind=clova", "kind=clova list_page_size=0"),
     '"list_page_size" must be 1..100'),
    (BASE + GOOD_PROVIDER.replace("ftgw_provider clova",
                                  "ftgw_provider bad/name"),
     'ftgw_provider: invalid name "bad/name"'),
    (BASE + GOOD_PROVIDER + "\n" + GOOD_PROVIDER,
     'ftgw_provider: duplicate provider "clova"'),
    (BASE.replace("ftgw_secret_file id.secret;\n", "") + GOOD_PROVIDER,
     '"ftgw_secret_file" is required'),
    ("ftgw_secret_file client.key;\n",
     'ftgw_secret_file: "client.key", line 1: the key holds fewer than '
     '32 bytes'),
    (BASE + "ftgw_client app client.key;",
     'ftgw_client: duplicate client "app"'),
    # one key for two clients would authenticate as one of them only
    (BASE + "ftgw_client ops client.key;",
     'ftgw_client: "ops" has the same key as "app": give each client its '
     'own'),
    ("ftgw_secret_file id.secret; ftgw_client a b c;",
     'invalid number of arguments in "ftgw_client"'),
    (BASE + GOOD_PROVIDER.replace("kind=clova", "kind=clova list_page_sise=5"),
     'ftgw_provider "clova": unknown parameter "list_page_sise" for kind '
     'clova'),
    (BASE + GOOD_PROVIDER.replace("api_key_file=api.key",
                                  "api_key=nv-inline-secret"),
     'ftgw_provider "clova": "api_key" is a secret: give it as '
     '"api_key_file=<path>"'),
    (BASE + GOOD_PROVIDER.replace("kind=clova", "kind=clova auth_file=api.key"),
     'unknown parameter "auth_file"'),
    ("server { location / { ftgw_api on; } }",
     '"ftgw_api" needs at least one "ftgw_client"'),
    # the local engine's GPUs: a job's default at most its maximum
    (BASE + SLURM_PROVIDER % "gpus=2 max_gpus=1",
     'ftgw_provider "local": "gpus" (the GPUs of a job that asks for none) '
     'is above "max_gpus"'),
    (BASE + SLURM_PROVIDER % "max_gpus=2048",
     'ftgw_provider "local": "gpus" and "max_gpus" must be at most 1024'),
    (BASE + SLURM_PROVIDER % "max_gpus=two",
     'ftgw_provider "local": "max_gpus" must be a number'),
])
def test_config_errors_name_the_directive(tmp_path, body, message):
    r = nginx_t(tmp_path, body)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert "nv-secret-api-key-value" not in r.stderr
    assert "client-key-0123456789" not in r.stderr


# ---- ftgw_secret_file: one key a line, the first signs, all verify ----

NEW_KEY = "n" * 64
OLD_KEY = "o" * 40


def _keys_config(tmp_path, text: str):
    (tmp_path / "keys.secret").write_text(text)
    return nginx_t(tmp_path, "ftgw_secret_file keys.secret;\n"
                   "ftgw_client app client.key;\n")


@pytest.mark.parametrize("text", [
    OLD_KEY + "\n",                                  # as before rotation
    NEW_KEY + "\n" + OLD_KEY + "\n",
    "# added 2026-12-07\n" + NEW_KEY + "\r\n\n# old\n" + OLD_KEY,
    "".join("%s%02d\n" % ("k" * 32, i) for i in range(8)),
])
def test_secret_file_keys_pass(tmp_path, text):
    r = _keys_config(tmp_path, text)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("text,message", [
    (NEW_KEY + "\n# comment\n\nshort-key-under-32-bytes\n" + OLD_KEY,
     'ftgw_secret_file: "keys.secret", line 4: the key holds fewer than 32 '
     'bytes'),
    (NEW_KEY + "\n" + OLD_KEY + "\n" + NEW_KEY + "\n",
     'ftgw_secret_file: "keys.secret", line 3: the same key as line 1: '
     'give each key once'),
    ("".join("%s%02d\n" % ("k" * 32, i) for i in range(9)),
     'ftgw_secret_file: "keys.secret", line 9: more than 8 keys'),
    ("# nothing but a comment\n\n",
     'ftgw_secret_file: "keys.secret" holds no key'),
])
def test_secret_file_mistakes_name_the_line(tmp_path, text, message):
    r = _keys_config(tmp_path, text)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    # the file's content is never quoted
    for secret in (NEW_KEY, OLD_KEY, "short-key-under", "k" * 32,
                   "nothing but"):
        assert secret not in r.stderr


# ---- every location a provider names is internal where ftgw_api is on ----

def _server(*locations: str, name: str = "gw.example") -> str:
    return ("server { server_name %s; location /v1/ { ftgw_api on; } %s }"
            % (name, " ".join(locations)))


def _open(path: str) -> str:
    return "location %s { proxy_pass http://127.0.0.1:9/; }" % path


def _internal(path: str) -> str:
    return "location %s { internal; proxy_pass http://127.0.0.1:9/; }" % path


def _line(tmp_path, text: str) -> int:
    lines = (tmp_path / "nginx.conf").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize("locations,found", [
    # no internal: a client could reach the vendor through the gateway
    ((_open("/_ftgw/clova/"),), 'location "/_ftgw/clova/" lacks "internal"'),
    # the longest prefix is what nginx selects, and it is open
    ((_internal("/_ftgw/"), _open("/_ftgw/clova/")),
     'location "/_ftgw/clova/" lacks "internal"'),
    # an open location deeper under the endpoint takes some vendor paths
    ((CLOVA_LOCATION, _open("/_ftgw/clova/tuning/")),
     'location "/_ftgw/clova/tuning/" lacks "internal"'),
    ((CLOVA_LOCATION, "location = /_ftgw/clova { return 204; }"),
     'location "= /_ftgw/clova" lacks "internal"'),
    # a catch-all location is not the vendor's
    ((_open("/"),), 'location "/" lacks "internal"'),
    # no location at all, or only an exact one, which no vendor path hits
    ((), 'no location matches "/_ftgw/clova/"'),
    (("location = /_ftgw/clova/ { internal; return 204; }",),
     'no location matches "/_ftgw/clova/"'),
])
def test_vendor_location_must_be_internal(tmp_path, locations, found):
    r = nginx_t(tmp_path, BASE + GOOD_PROVIDER + "\n" + _server(*locations))
    assert r.returncode != 0
    provider = _line(tmp_path, "ftgw_provider clova")
    api = _line(tmp_path, "ftgw_api on")
    conf = tmp_path / "nginx.conf"
    assert ('[emerg] ftgw_provider "clova": endpoint "/_ftgw/clova" is not '
            'an internal location in server "gw.example" ("ftgw_api on" at '
            f'{conf}:{api}): {found} in {conf}:{provider}') in r.stderr, \
        r.stderr


@pytest.mark.parametrize("locations", [
    (CLOVA_LOCATION,),
    # one internal location for every vendor, and what it nests
    (_internal("/_ftgw/"),),
    ("location /_ftgw/ { internal; location /_ftgw/clova/ { return 204; } }",),
    # an exact location elsewhere is not the vendor's
    (CLOVA_LOCATION, "location = /_ftgw/clova_x { return 204; }",
     _open("/_ftgw/clovax/"), _open("/")),
])
def test_internal_vendor_locations_pass(tmp_path, locations):
    r = nginx_t(tmp_path, BASE + GOOD_PROVIDER + "\n" + _server(*locations))
    assert r.returncode == 0, r.stderr


def test_every_server_with_ftgw_api_is_checked(tmp_path):
    """A second server with ftgw_api on and no vendor location fails; a
    server without ftgw_api needs none."""
    body = (BASE + GOOD_PROVIDER + "\n" + _server(CLOVA_LOCATION)
            + "\nserver { listen 127.0.0.1:%d; location / {} }"
            % harness.free_port())
    assert nginx_t(tmp_path, body).returncode == 0
    body += "\n" + _server(name="second").replace(
        "server {", "server { listen 127.0.0.1:%d;" % harness.free_port())
    r = nginx_t(tmp_path, body)
    assert r.returncode != 0
    assert ('ftgw_provider "clova": endpoint "/_ftgw/clova" is not an '
            'internal location in server "second"') in r.stderr, r.stderr
    assert 'no location matches "/_ftgw/clova/"' in r.stderr


@pytest.mark.parametrize("param,path", [
    ("iam_endpoint", "/_ftgw/yandex_iam"),
    ("operation_endpoint", "/_ftgw/yandex_ops"),
])
def test_yandex_endpoints_must_be_internal(tmp_path, yandex_key, param, path):
    key = shutil.copy(yandex_key[0], tmp_path / "sa-key.json")
    provider = ("ftgw_provider yandex kind=yandex endpoint=/_ftgw/yandex "
                f"folder_id=b1gfolder auth=iam service_account_key_file={key} "
                "iam_endpoint=/_ftgw/yandex_iam "
                "operation_endpoint=/_ftgw/yandex_ops;")
    good = [_internal(p) for p in ("/_ftgw/yandex/", "/_ftgw/yandex_iam/",
                                   "/_ftgw/yandex_ops/")]
    r = nginx_t(tmp_path, BASE + provider + "\n" + _server(*good))
    assert r.returncode == 0, r.stderr
    locations = [loc for loc in good if path + "/" not in loc]
    r = nginx_t(tmp_path, BASE + provider + "\n"
                + _server(*locations, _open(path + "/")))
    assert r.returncode != 0
    assert (f'ftgw_provider "yandex": {param} "{path}" is not an internal '
            f'location in server "gw.example"') in r.stderr, r.stderr
    assert f'location "{path}/" lacks "internal"' in r.stderr


# ---- the shipped configurations ----------------------------------------

def test_example_config_passes(tmp_path, yandex_key):
    """config/ftgw.conf.example as documented: the snippets installed in
    snippets/ next to nginx.conf; only what this machine lacks is replaced
    (credential files, the TLS certificate, port 443, DNS)."""
    text = (harness.SNIPPETS / "ftgw.conf.example").read_text()
    (tmp_path / "snippets").mkdir()
    for snippet in harness.SNIPPETS.glob("ftgw-*.conf"):
        shutil.copy(snippet, tmp_path / "snippets")

    text, _ = harness.example_for_machine(text, tmp_path, yandex_key[0])
    temps = "".join(f"    {n}_temp_path {tmp_path}/tmp/{n};\n"
                    for n in ("client_body", "proxy", "fastcgi", "uwsgi",
                              "scgi"))
    (tmp_path / "tmp").mkdir()
    assert "\nhttp {\n" in text
    text = text.replace("\nhttp {\n", "\nhttp {\n" + temps, 1)
    (tmp_path / "nginx.conf").write_text(
        f"load_module {MODULE};\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\nevents {{}}\n" + text)
    r = harness.Nginx(tmp_path, 0,
                      env=harness.nginx_env(PRELOAD)).test_config()
    assert r.returncode == 0, r.stderr
    assert text.count("include snippets/ftgw-") == 8


def test_demo_config_passes(tmp_path, yandex_key):
    """config/demo.conf filled in as scripts/demo.py fills it."""
    template = (harness.SNIPPETS / "demo.conf").read_text()
    values = {"prefix": tmp_path, "snippets": harness.SNIPPETS,
              "ui": harness.ROOT / "ui",
              "yandex_folder": "b1gsandboxfolder",
              "yandex_sa_key": yandex_key[0],
              "slurm_socket": tmp_path / "slurmrestd.sock",
              "local_root": tmp_path / "local",
              "trainer": "/opt/ftgw/bin/ftgw-trainer"}
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None or name in values:
            continue
        if name == "port" or name.endswith("_port"):
            values[name] = harness.free_port()
        else:
            values[name] = harness.write_secret(tmp_path / f"{name}.secret",
                                                "d" * 40)
    conf = harness.http_prelude(tmp_path, MODULE) + template.format(**values)
    (tmp_path / "nginx.conf").write_text(conf)
    r = harness.Nginx(tmp_path, 0,
                      env=harness.nginx_env(PRELOAD)).test_config()
    assert r.returncode == 0, r.stderr
    assert conf.count(f"include {harness.SNIPPETS}/ftgw-") == 12
