"""Configuration mistakes fail `nginx -t` with a message naming the
directive, and never print a credential."""

from __future__ import annotations

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
BASE = ("ftgw_secret_file id.secret;\n"
        "ftgw_client app client.key;\n")


def test_good_config_passes(tmp_path):
    r = nginx_t(tmp_path, BASE + GOOD_PROVIDER +
                "server { location /v1/ { ftgw_api on; } }")
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
     'ftgw_secret_file: "client.key" holds fewer than 32 bytes'),
    (BASE + "ftgw_client app client.key;",
     'ftgw_client: duplicate client "app"'),
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
])
def test_config_errors_name_the_directive(tmp_path, body, message):
    r = nginx_t(tmp_path, body)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert "nv-secret-api-key-value" not in r.stderr
    assert "client-key-0123456789" not in r.stderr
