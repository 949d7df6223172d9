"""Every word the page's scripts show goes through static/chat/i18n.js, so
that it reaches the catalogs (`make messages`) and is shown translated.

tests/static/untranslated.mjs reads the modules with a real JavaScript parser
(acorn) and follows each string and template literal that has a letter to
what a person sees or hears. The first test holds each module to it (one run
reads them all: a helper in one module may show what another passes it); the
rest check the checker itself on small modules of their own."""

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "static" / "chat"
CHECKER = Path(__file__).with_name("untranslated.mjs")


def untranslated(folder: Path, *files: str) -> list[dict]:
    """What the checker finds in `files` of `folder` (all its modules are read)."""
    done = subprocess.run(
        ["node", str(CHECKER), str(folder), *files],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def everything_found() -> list[dict]:
    return untranslated(SCRIPTS)


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.js")))
def test_a_script_shows_no_untranslated_text(everything_found, script):
    found = [f for f in everything_found if f["file"] == script]
    assert not found, (
        f"{script} shows text that is not translated: wrap it in gettext() or ngettext() "
        "from ./i18n.js (interpolate() for the values), then `make messages`:\n"
        + "\n".join(f"  {f['file']}:{f['line']}: {f['text']}  ({f['why']})" for f in found)
    )


# ---- the checker ---------------------------------------------------------------------


def check(tmp_path, source: str, **others: str) -> list[str]:
    """The texts found in a module `source`, beside modules `others` (name: source)."""
    (tmp_path / "i18n.js").write_text(
        "export const gettext = (m) => m;\n"
        "export const ngettext = (s, p, n) => (n === 1 ? s : p);\n"
        "export const interpolate = (f, v) => f;\n"
    )
    for name, text in others.items():
        (tmp_path / f"{name}.js").write_text(text)
    (tmp_path / "page.js").write_text(
        'import { gettext, ngettext, interpolate } from "./i18n.js";\n' + source
    )
    return [f["text"] for f in untranslated(tmp_path, "page.js")]


SINKS = {
    "textContent": 'el.textContent = "Saved";',
    "innerText": 'el.innerText = "Saved";',
    "innerHTML": 'el.innerHTML = "Saved";',
    "title": 'el.title = "Saved";',
    "placeholder": 'input.placeholder = "Saved";',
    "alt": 'img.alt = "Saved";',
    "label": 'option.label = "Saved";',
    "ariaLabel": 'el.ariaLabel = "Saved";',
    "document.title": 'document.title = "Saved";',
    "aria-label": 'el.setAttribute("aria-label", "Saved");',
    "aria-description": 'el.setAttribute("aria-description", "Saved");',
    "title attribute": 'el.setAttribute("title", "Saved");',
    "placeholder attribute": 'el.setAttribute("placeholder", "Saved");',
    "alt attribute": 'el.setAttribute("alt", "Saved");',
    "announce": 'announce("Saved");',
    "alert": 'alert("Saved");',
    "confirm": 'if (confirm("Saved")) go();',
    "prompt": 'prompt("Saved");',
    "window.alert": 'window.alert("Saved");',
    "new Option": 'select.append(new Option("Saved", "1"));',
    "createTextNode": 'el.append(document.createTextNode("Saved"));',
    "append": 'el.append("Saved");',
    "prepend": 'el.prepend(icon, "Saved");',
    "replaceChildren": 'el.replaceChildren("Saved");',
    "before": 'el.before("Saved");',
    "after": 'el.after("Saved");',
    "replaceWith": 'el.replaceWith("Saved");',
    "insertAdjacentText": 'el.insertAdjacentText("beforeend", "Saved");',
    "an object's label": 'draw({ label: "Saved" });',
    "an object's message": 'return { ok: false, message: "Saved" };',
    "an object's title": 'const editor = { title: "Saved" };',
}


@pytest.mark.parametrize("source", SINKS.values(), ids=SINKS.keys())
def test_the_checker_finds_a_literal_shown(tmp_path, source):
    assert check(tmp_path, f"function f(el) {{ {source} }}") == ['"Saved"']


@pytest.mark.parametrize(
    "source", [s.replace('"Saved"', 'gettext("Saved")') for s in SINKS.values()], ids=SINKS.keys()
)
def test_the_checker_takes_gettext(tmp_path, source):
    assert check(tmp_path, f"function f(el) {{ {source} }}") == []


def test_the_checker_finds_a_template_literal(tmp_path):
    assert check(tmp_path, "el.textContent = `Saved ${name}`;") == ["`Saved ${name}`"]


def test_the_checker_finds_a_concatenation(tmp_path):
    assert check(tmp_path, 'el.textContent = name + " saved";') == ['" saved"']


def test_the_checker_finds_each_branch_of_a_conditional(tmp_path):
    source = 'el.textContent = ok ? gettext("Saved") : "Failed";'
    assert check(tmp_path, source) == ['"Failed"']


def test_the_checker_finds_each_side_of_a_logical_expression(tmp_path):
    assert check(tmp_path, 'el.textContent = name || "Untitled";') == ['"Untitled"']


def test_the_checker_finds_a_literal_inside_a_template(tmp_path):
    source = 'el.textContent = `${gettext("Saved")} — ${open ? "hide" : "show"}`;'
    assert check(tmp_path, source) == ['"hide"', '"show"']


def test_the_checker_follows_a_constant(tmp_path):
    assert check(tmp_path, 'const HELP = "Drag to move";\nel.title = HELP;') == ['"Drag to move"']


def test_the_checker_follows_every_value_a_variable_is_given(tmp_path):
    source = 'let text = gettext("Photos");\nif (free) text += " · free";\nel.textContent = text;'
    assert check(tmp_path, source) == ['" · free"']


def test_the_checker_follows_an_array_that_is_joined(tmp_path):
    source = 'const bits = [];\nbits.push("Cut short");\nel.textContent = bits.join(" · ");'
    assert check(tmp_path, source) == ['"Cut short"']


def test_the_checker_follows_a_constant_objects_entries(tmp_path):
    source = 'const TEXT = { stopped: "Stopped" };\nel.textContent = TEXT[status];'
    assert check(tmp_path, source) == ['"Stopped"']


def test_the_checker_follows_what_a_function_returns(tmp_path):
    source = 'function problem() { return "Too long"; }\nel.textContent = problem();'
    assert check(tmp_path, source) == ['"Too long"']


def test_the_checker_follows_an_argument_to_a_helper_that_shows_it(tmp_path):
    source = (
        "function button(label, onClick) { const b = make(); b.textContent = label; return b; }\n"
        'bar.append(button("Copy", copy));'
    )
    assert check(tmp_path, source) == ['"Copy"']


def test_the_checker_follows_a_property_to_a_helper_that_shows_it(tmp_path):
    source = (
        "function open({ src, alt }) { img.src = src; img.alt = alt; }\n"
        'open({ src: "photo.jpg", alt: "The photo" });'
    )
    assert check(tmp_path, source) == ['"The photo"']


def test_the_checker_follows_a_helper_imported_from_another_module(tmp_path):
    state = "export function showError(text) { els.error.textContent = text; }\n"
    source = 'import { showError } from "./state.js";\nshowError("Upload failed.");'
    assert check(tmp_path, source, state=state) == ['"Upload failed."']


def test_the_checker_takes_interpolate_of_gettext(tmp_path):
    source = 'el.textContent = interpolate(gettext("Use %(model)s"), { model: name });'
    assert check(tmp_path, source) == []


def test_the_checker_finds_interpolate_of_a_literal(tmp_path):
    source = 'el.textContent = interpolate("Use %(model)s", { model: name });'
    assert check(tmp_path, source) == ['"Use %(model)s"']


def test_the_checker_finds_a_literal_interpolated_into_a_message(tmp_path):
    source = 'el.textContent = interpolate(gettext("%(n)s %(what)s"), { n, what: "regions" });'
    assert check(tmp_path, source) == ['"regions"']


def test_the_checker_takes_ngettext(tmp_path):
    source = 'el.textContent = interpolate(ngettext("%(n)s match", "%(n)s matches", n), { n });'
    assert check(tmp_path, source) == []


def test_the_checker_wants_a_plain_literal_inside_gettext(tmp_path):
    # xgettext reads only literals: this message would never reach a catalog.
    assert check(tmp_path, "el.textContent = gettext(`Saved ${name}`);") == ["`Saved ${name}`"]


def test_the_checker_lets_the_brand_through(tmp_path):
    assert check(tmp_path, "document.title = `${title} · VisionQA`;") == []


def test_the_checker_lets_text_without_letters_through(tmp_path):
    assert check(tmp_path, 'button.textContent = "×";\nbar.append(count, " · ", link);') == []


def test_the_checker_lets_what_it_cannot_know_through(tmp_path):
    # The server's own messages and a person's words are shown as they come.
    assert check(tmp_path, "el.textContent = data.error.message;\np.textContent = m.text;") == []


def test_the_checker_lets_form_data_through(tmp_path):
    source = 'const body = new FormData();\nbody.append("file", upload);'
    assert check(tmp_path, source) == []


def test_the_checker_lets_data_attributes_through(tmp_path):
    assert check(tmp_path, 'el.dataset.title = "draft";\nel.setAttribute("role", "status");') == []


def test_markup_without_words_is_not_text(tmp_path):
    source = (
        'el.innerHTML = \'<svg aria-hidden="true" viewBox="0 0 24 24" stroke="currentColor">\' +\n'
        "  '<path d=\"M5 11a7 7 0 0 0 14 0\"/></svg>';"
    )
    assert check(tmp_path, source) == []


def test_markup_with_words_is_found(tmp_path):
    assert check(tmp_path, "el.innerHTML = '<strong>Saved</strong>';") == [
        "'<strong>Saved</strong>'"
    ]


def test_markup_with_a_spoken_attribute_is_found(tmp_path):
    source = "el.innerHTML = '<svg aria-label=\"Microphone\"></svg>';"
    assert check(tmp_path, source) == ["'<svg aria-label=\"Microphone\"></svg>'"]
