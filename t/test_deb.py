"""make deb: the Debian package libnginx-mod-http-ftgw, laid out as Debian
lays out its own libnginx-mod-* packages.  The package is unpacked into a
scratch root (dpkg -x, nothing touches the system): its control fields,
its files, its maintainer scripts run with DPKG_ROOT, Debian's nginx -t
loading the module through the installed load file with the installed
snippets and example configuration, and lintian."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

import harness

ROOT = harness.ROOT
PKG = "libnginx-mod-http-ftgw"
MODULE_SO = "usr/lib/nginx/modules/ngx_http_ftgw_module.so"
LOAD_FILE = "usr/share/nginx/modules-available/mod-http-ftgw.conf"
DOC = f"usr/share/doc/{PKG}"
EXAMPLE = f"{DOC}/examples/ftgw.conf.example"
LINK = "etc/nginx/modules-enabled/50-mod-http-ftgw.conf"


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def deb() -> Path:
    """The package as make deb builds it (quick when it is up to date: make
    it builds it before the suite)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "LD_PRELOAD")}
    r = _run(["make", "-s", "deb"], cwd=ROOT, env=env, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = list((ROOT / "build" / "deb").glob(f"{PKG}_*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


@pytest.fixture(scope="module")
def fields(deb) -> dict[str, str]:
    r = _run(["dpkg-deb", "-f", str(deb)], check=True)
    out: dict[str, str] = {}
    for line in r.stdout.splitlines():
        if line.startswith(" "):
            out[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


@pytest.fixture(scope="module")
def scratch(deb, tmp_path_factory) -> Path:
    """The package unpacked into a root of its own, its control files in
    DEBIAN/, and what nginx-common would have put there: the modules-enabled
    folder and the /usr/share/nginx/modules link."""
    root = tmp_path_factory.mktemp("deb-root")
    _run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    _run(["dpkg-deb", "-e", str(deb), str(root / "DEBIAN")], check=True)
    (root / "etc/nginx/modules-enabled").mkdir(parents=True)
    os.symlink("../../lib/nginx/modules", root / "usr/share/nginx/modules")
    return root


def _depends(fields) -> list[str]:
    return [d.strip() for d in fields["Depends"].split(",")]


def _nginx_abi() -> str:
    text = Path("/usr/share/nginx/src/debian/"
                "libnginx-mod.abisubstvars").read_text()
    return re.search(r"^nginx:abi=(\S+)$", text, re.M).group(1)


def test_control_fields(deb, fields):
    arch = _run(["dpkg", "--print-architecture"], check=True).stdout.strip()
    version = (ROOT / "VERSION").read_text().strip()
    assert fields["Package"] == PKG
    assert fields["Architecture"] == arch == "amd64"
    assert re.fullmatch(re.escape(version) + r"(\+git\d+\.[0-9a-f]{7})?",
                        fields["Version"]), fields["Version"]
    assert deb.name == f"{PKG}_{fields['Version']}_{arch}.deb"
    assert fields["Section"] == "httpd"
    assert fields["Recommends"] == "nginx"
    assert fields["Description"].startswith("OpenAI fine-tuning API")


def test_depends_on_the_nginx_abi_it_was_built_against(fields):
    """The first dependency is the ABI that nginx-dev recorded, which the
    installed nginx provides: the package installs next to this nginx and
    no other."""
    abi = _nginx_abi()
    assert _depends(fields)[0] == abi
    provides = _run(["dpkg-query", "-W", "-f", "${Provides}\n"]).stdout
    assert abi in re.split(r"[,\s]+", provides), "no installed nginx " + abi


def test_depends_on_the_libraries_it_links(scratch, fields):
    """Every library the module needs is in Depends, with a version that
    this machine satisfies."""
    deps = {}
    for d in _depends(fields)[1:]:
        m = re.fullmatch(r"([a-z0-9.+-]+) \(>= ([^)]+)\)", d)
        assert m, d
        deps[m.group(1)] = m.group(2)
    assert {"libc6", "libssl3", "libcjson1", "libprotobuf-c1"} <= set(deps)
    needed = re.findall(r"NEEDED\s+(\S+)", _run(
        ["objdump", "-p", str(scratch / MODULE_SO)], check=True).stdout)
    assert needed
    for lib in needed:
        path = _run(["ldconfig", "-p"]).stdout
        m = re.search(rf"^\s*{re.escape(lib)} \(libc6,x86-64\) => (\S+)$",
                      path, re.M)
        assert m, lib
        owner = _run(["dpkg", "-S", os.path.realpath(m.group(1))])
        if owner.returncode:        # /lib -> /usr/lib (merged /usr)
            owner = _run(["dpkg", "-S", m.group(1)])
        pkg = owner.stdout.split(":")[0]
        assert pkg in deps, (lib, pkg, deps)
    for pkg, minimum in deps.items():
        have = _run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                    check=True).stdout
        assert _run(["dpkg", "--compare-versions", have, "ge",
                     minimum]).returncode == 0, (pkg, have, minimum)


def _contents(deb) -> dict[str, tuple[str, str]]:
    """path -> (mode string, owner/group), from dpkg-deb -c."""
    out = {}
    for line in _run(["dpkg-deb", "-c", str(deb)], check=True
                     ).stdout.splitlines():
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        out[path.removeprefix("./").rstrip("/")] = (mode, owner)
    out.pop("", None)
    return out


def test_file_list(deb, scratch):
    files = _contents(deb)
    assert {owner for _, owner in files.values()} == {"root/root"}
    regular = {p for p, (mode, _) in files.items() if mode[0] == "-"}
    for path, (mode, _) in files.items():
        assert mode == ("drwxr-xr-x" if mode[0] == "d" else "-rw-r--r--"), \
            (path, mode)
        assert (path.startswith(("etc/nginx/snippets/", "usr/lib/nginx/",
                                 "usr/share/nginx/", DOC))
                or mode[0] == "d"), path
    snippets = {f"etc/nginx/snippets/{p.name}"
                for p in (ROOT / "config").glob("ftgw-*.conf")}
    assert len(snippets) == 7
    assert {MODULE_SO, LOAD_FILE, EXAMPLE, f"{DOC}/copyright",
            f"{DOC}/changelog.gz"} | snippets <= regular
    for path in snippets:
        assert (scratch / path).read_bytes() == (
            ROOT / "config" / Path(path).name).read_bytes()
    assert (scratch / EXAMPLE).read_bytes() == (
        ROOT / "config/ftgw.conf.example").read_bytes()
    # the dashboard, where the example's alias serves it from
    for src in (ROOT / "ui").iterdir():
        assert (scratch / "usr/share/nginx/ftgw-ui" / src.name).read_bytes() \
            == src.read_bytes(), src.name
    assert (scratch / LOAD_FILE).read_text() == \
        "load_module modules/ngx_http_ftgw_module.so;\n"
    # the documentation, gzipped when over 4 KiB as dh_compress does
    docs = [p for p in (ROOT / "docs").rglob("*") if p.is_file()]
    docs.append(ROOT / "README.md")
    for src in docs:
        rel = src.relative_to(ROOT / "docs") if src.parent != ROOT \
            else Path(src.name)
        plain, packed = f"{DOC}/{rel}", f"{DOC}/{rel}.gz"
        if src.stat().st_size > 4096:
            assert packed in regular and plain not in regular, rel
            assert gzip.decompress((scratch / packed).read_bytes()) == \
                src.read_bytes(), rel
        else:
            assert (scratch / plain).read_bytes() == src.read_bytes(), rel
    # /etc holds conffiles only: an upgrade keeps the administrator's edits
    conffiles = (scratch / "DEBIAN/conffiles").read_text().split()
    assert sorted(conffiles) == sorted("/" + p for p in snippets)
    assert {p for p in regular if p.startswith("etc/")} == snippets


def test_module_is_stripped_and_hardened(scratch):
    """As Debian ships its modules: no debug sections, full RELRO."""
    so = str(scratch / MODULE_SO)
    sections = _run(["readelf", "-S", "-W", so], check=True).stdout
    assert ".debug_info" not in sections and ".symtab" not in sections
    dynamic = _run(["readelf", "-d", "-l", "-W", so], check=True).stdout
    assert "GNU_RELRO" in dynamic and "BIND_NOW" in dynamic
    # no sanitizer runtime: it loads into Debian's nginx as it is
    assert "__asan_init" not in _run(["nm", "-D", so], check=True).stdout


def _scripts_stay_in_dpkg_root(scratch):
    """Each path the maintainer scripts write is under $DPKG_ROOT, so that
    running them here leaves the machine's own /etc/nginx alone."""
    for name in ("postinst", "prerm", "postrm"):
        text = (scratch / "DEBIAN" / name).read_text()
        assert "$DPKG_ROOT/etc/nginx/modules-enabled" in text, name
        assert not re.search(r'(?<!DPKG_ROOT)/etc/nginx',
                             re.sub(r"#.*", "", text)), name


def _script(scratch, name, *args, trigger_log):
    """A maintainer script as dpkg runs it with --root: DPKG_ROOT set, and
    a dpkg-trigger that records its arguments."""
    _scripts_stay_in_dpkg_root(scratch)
    bin_dir = trigger_log.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "dpkg-trigger"
    stub.write_text(f'#!/bin/sh\necho "$*" >> {trigger_log}\n')
    stub.chmod(0o755)
    env = dict(os.environ, DPKG_ROOT=str(scratch),
               PATH=f"{bin_dir}:{os.environ['PATH']}")
    r = _run(["sh", "-e", str(scratch / "DEBIAN" / name), *args], env=env)
    assert r.returncode == 0, (name, args, r.stderr)


def test_maintainer_scripts_enable_and_disable(scratch, fields, tmp_path):
    log = tmp_path / "triggers"
    link = scratch / LINK
    removed = link.with_name(link.name + ".removed")
    version = fields["Version"]
    for name in ("postinst", "prerm", "postrm"):
        assert stat.S_IMODE((scratch / "DEBIAN" / name).stat().st_mode) \
            == 0o755

    # a fresh install enables the module and asks nginx to reload
    _script(scratch, "postinst", "configure", "", trigger_log=log)
    assert os.readlink(link) == "/" + LOAD_FILE
    assert (scratch / os.readlink(link).lstrip("/")).is_file()
    assert log.read_text() == "--no-await nginx-reload\n"

    # remove sets the link aside; nginx reloads without the module
    _script(scratch, "prerm", "remove", trigger_log=log)
    _script(scratch, "postrm", "remove", trigger_log=log)
    assert not link.is_symlink() and removed.is_symlink()
    assert log.read_text().count("nginx-reload") == 2

    # installing it again restores the link
    _script(scratch, "postinst", "configure", version, trigger_log=log)
    assert link.is_symlink() and not removed.is_symlink()

    # an upgrade keeps the administrator's choice to disable it
    link.unlink()
    _script(scratch, "postinst", "configure", version, trigger_log=log)
    assert not link.is_symlink()

    # purge leaves nothing in modules-enabled
    _script(scratch, "postinst", "configure", "", trigger_log=log)
    _script(scratch, "prerm", "remove", trigger_log=log)
    _script(scratch, "postrm", "remove", trigger_log=log)
    _script(scratch, "postrm", "purge", trigger_log=log)
    assert list((scratch / "etc/nginx/modules-enabled").iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="dpkg --root needs root")
def test_dpkg_root_install_remove_purge(deb, scratch, tmp_path):
    """dpkg itself installs, removes and purges the package in a root of
    its own (maintainer scripts run outside a chroot with DPKG_ROOT): the
    module is enabled, a remove keeps the edited snippets, a purge takes
    them away."""
    _scripts_stay_in_dpkg_root(scratch)
    root = tmp_path / "root"
    admin = root / "var/lib/dpkg"
    for d in ("info", "updates", "triggers"):
        (admin / d).mkdir(parents=True)
    (admin / "status").touch()
    (root / "etc/nginx/modules-enabled").mkdir(parents=True)
    dpkg = ["dpkg", f"--root={root}", "--force-script-chrootless",
            f"--log={tmp_path}/dpkg.log"]
    # the scratch root has none of the dependencies: nginx, the libraries
    r = _run(dpkg + ["--force-depends", "-i", str(deb)])
    assert r.returncode == 0, r.stderr
    link = root / LINK
    assert os.readlink(link) == "/" + LOAD_FILE
    assert (root / MODULE_SO).is_file()
    clova = root / "etc/nginx/snippets/ftgw-clova.conf"
    clova.write_text(clova.read_text() + "# edited\n")

    r = _run(dpkg + ["-r", PKG])
    assert r.returncode == 0, r.stderr
    assert not (root / MODULE_SO).exists()
    assert not link.is_symlink()
    assert clova.read_text().endswith("# edited\n")

    r = _run(dpkg + ["-P", PKG])
    assert r.returncode == 0, r.stderr
    assert not clova.exists()
    assert list((root / "etc/nginx/modules-enabled").iterdir()) == []


def test_installed_example_passes_nginx_t(scratch, yandex_key):
    """Debian's nginx loads the packaged module through the packaged load
    file (modules/ under the prefix, as on a real system) and accepts the
    packaged example configuration in conf.d/, whose include
    snippets/ftgw-*.conf lines find the packaged snippets.  Only what a real server would hold
    is replaced: credential files, the TLS certificate, port 443, DNS."""
    etc = scratch / "etc/nginx"
    text = (scratch / EXAMPLE).read_text()
    assert text.count("include snippets/ftgw-") == 8
    text, created = harness.example_for_machine(text, scratch, yandex_key[0])
    # nothing left that points into the machine's own /etc/nginx
    assert not re.search(r"[\s=]/etc/nginx", re.sub(r"#.*", "", text))
    # as the example says for Debian: what is inside its http { } goes to
    # conf.d/, which Debian's nginx.conf includes inside its own http { }
    # (with the command that docs/operations.md gives)
    (etc / "conf.d").mkdir()
    inner = _run(["sed", "-e", "1,/^http {$/d", "-e", "$d"], input=text,
                 check=True).stdout
    assert inner.startswith("    # job ids") and "\nhttp" not in inner
    (etc / "conf.d/ftgw.conf").write_text(inner)
    var = scratch / "var"
    (var / "tmp").mkdir(parents=True)
    temps = "".join(f"    {n}_temp_path {var}/tmp/{n};\n"
                    for n in ("client_body", "proxy", "fastcgi", "uwsgi",
                              "scgi"))
    conf = etc / "nginx.conf"
    # Debian's nginx.conf, its paths in the scratch root; the load file
    # directly, as the modules-enabled link points outside it
    conf.write_text(f"pid {var}/nginx.pid;\n"
                    f"error_log {var}/error.log;\n"
                    f"include {scratch / LOAD_FILE};\n"
                    "events {}\n"
                    "http {\n"
                    f"    access_log {var}/access.log;\n{temps}"
                    f"    include {etc}/conf.d/*.conf;\n"
                    "}\n")
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    r = _run([harness.NGINX, "-t", "-p", f"{scratch}/usr/share/nginx/",
              "-c", str(conf)], env=env)
    assert r.returncode == 0, r.stderr
    assert "test is successful" in r.stderr
    assert len(created) >= 10
    for value in created:
        assert value not in r.stderr

    # and the test can fail: without the packaged snippets nginx -t stops
    shutil.move(etc / "snippets", scratch / "snippets.away")
    try:
        r = _run([harness.NGINX, "-t", "-p", f"{scratch}/usr/share/nginx/",
                  "-c", str(conf)], env=env)
    finally:
        shutil.move(scratch / "snippets.away", etc / "snippets")
    assert r.returncode != 0
    assert f'open() "{etc}/snippets/ftgw-audit.conf" failed' in r.stderr


@pytest.mark.skipif(shutil.which("lintian") is None,
                    reason="lintian is not installed (make deb installs it)")
def test_lintian_is_clean(deb):
    """No error and no warning from Debian's package checker."""
    r = _run(["lintian", "--no-cfg", str(deb)], timeout=120)
    tags = [line for line in r.stdout.splitlines()
            if line[:2] in ("E:", "W:")]
    assert tags == [], r.stdout
    assert r.returncode == 0, r.stdout + r.stderr
