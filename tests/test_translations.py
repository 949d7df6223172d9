"""The shipped languages' catalogs (locale/) against the messages the code has
now: gathered afresh by Django's makemessages from a copy of the sources, every
one must be in each catalog, translated and not fuzzy (gettext's msgcmp), and
each catalog must compile with its placeholders intact (msgfmt --check)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("chat", "templates", "static", "visionqa", "locale", "manage.py")
DOMAINS = ("django", "djangojs")
SHIPPED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def _locale_dir(code: str) -> str:
    """Django's folder name for a language code ("pt-br" → "pt_BR")."""
    from django.utils.translation import to_locale

    return to_locale(code)


@pytest.fixture(scope="module")
def fresh_templates(tmp_path_factory) -> Path:
    """The .pot files makemessages writes for the sources as they are now."""
    copy = tmp_path_factory.mktemp("sources")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy / name)
    for domain in DOMAINS:
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "makemessages",
                "-d",
                domain,
                "-l",
                "es",
                "--keep-pot",
                "--no-location",
                "--ignore=staticfiles",
            ],
            cwd=copy,
            check=True,
            capture_output=True,
            env={"DJANGO_DEBUG": "1", "PATH": "/usr/bin:/bin"},
        )
    return copy / "locale"


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("code", SHIPPED)
def test_every_message_is_translated(fresh_templates, code, domain):
    pot = fresh_templates / f"{domain}.pot"
    if not pot.exists():
        pytest.fail(f"makemessages found no {domain} messages at all")
    po = ROOT / "locale" / _locale_dir(code) / "LC_MESSAGES" / f"{domain}.po"
    assert po.exists(), f"{po.relative_to(ROOT)} is missing: run `make messages` and translate it"
    compared = subprocess.run(["msgcmp", str(po), str(pot)], capture_output=True, text=True)
    assert compared.returncode == 0, (
        f"{po.relative_to(ROOT)} lacks translations (run `make messages`, then translate):\n"
        + compared.stderr[-4000:]
    )


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("code", SHIPPED)
def test_catalog_compiles_with_its_placeholders(tmp_path, code, domain):
    po = ROOT / "locale" / _locale_dir(code) / "LC_MESSAGES" / f"{domain}.po"
    checked = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "out.mo"), str(po)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
