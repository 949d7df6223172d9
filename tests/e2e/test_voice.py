"""Voice (issue 17): dictating the question and reading answers aloud.

Headless Chromium has both APIs but neither works (no microphone permission,
no voices), so most tests put stand-ins in their place before the page loads:
a SpeechRecognition the test drives, and a spy on speechSynthesis.speak. One
test looks at the real thing and prints what this Chromium offers."""

import re

import pytest
from playwright.async_api import expect

from tests.helpers.browser import screenshot, serious_violations
from tests.helpers.fakeupstream import Scripted, chunk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DONE = "data: [DONE]\n\n"

# A SpeechRecognition the test drives: records what the page asks of it, and
# window.__speech.result([[text, isFinal], …]) / .error(code) fire its events.
FAKE_RECOGNITION = """
(() => {
  const made = [];
  class FakeRecognition extends EventTarget {
    constructor() {
      super();
      Object.assign(this, { lang: "", continuous: false, interimResults: false, calls: [] });
      made.push(this);
    }
    start() { this.calls.push("start"); }
    stop() { this.calls.push("stop"); setTimeout(() => this.dispatchEvent(new Event("end"))); }
    abort() { this.calls.push("abort"); setTimeout(() => this.dispatchEvent(new Event("end"))); }
  }
  ON_DEVICE
  window.SpeechRecognition = FakeRecognition;
  delete window.webkitSpeechRecognition;
  const last = () => made[made.length - 1];
  window.__speech = {
    made,
    last: () => ({ lang: last().lang, calls: last().calls, continuous: last().continuous,
                   interimResults: last().interimResults, processLocally: last().processLocally }),
    result(items) {
      const results = items.map(([transcript, isFinal]) =>
        Object.assign([{ transcript }], { isFinal }));
      last().dispatchEvent(Object.assign(new Event("result"), { results, resultIndex: 0 }));
    },
    error(code) {
      last().dispatchEvent(Object.assign(new Event("error"), { error: code }));
      last().dispatchEvent(new Event("end"));
    },
  };
})();
"""
ON_DEVICE = """
  FakeRecognition.available = async () => "available";
  FakeRecognition.prototype.processLocally = false;
"""

NO_RECOGNITION = "delete window.SpeechRecognition; delete window.webkitSpeechRecognition;"

# speechSynthesis.speak recording each utterance (its text, lang, voice) and,
# while window.__spoken.autoEnd, ending it at once; cancel() counted.
SPEAK_SPY = """
(() => {
  const spoken = { utterances: [], cancels: 0, autoEnd: true };
  window.__spoken = spoken;
  speechSynthesis.speak = (u) => {
    spoken.utterances.push({ text: u.text, lang: u.lang, voice: u.voice && u.voice.name });
    if (spoken.autoEnd) setTimeout(() => u.dispatchEvent(new Event("end")));
  };
  const cancel = speechSynthesis.cancel.bind(speechSynthesis);
  speechSynthesis.cancel = () => { spoken.cancels += 1; cancel(); };
})();
"""

SERVERS = "Your browser sends your voice to its maker's servers to turn it into text."

FERN = """# Fern care

A **fern** likes *shade* and damp air.

```
water: weekly
```

- Keep the soil moist
- Mist the leaves"""


async def translated(page, message):
    """`message` in the page's language, from the page's own catalog."""
    return await page.evaluate("(message) => django.gettext(message)", message)


async def with_scripts(page, *scripts, language=None):
    """The page again, with `scripts` run before its own and in `language`."""
    for script in scripts:
        await page.add_init_script(script)
    if language:
        await page.set_extra_http_headers({"Accept-Language": language})
    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")


async def ask(page, fake_upstream_server, answer, reasoning=None):
    events = [chunk({"reasoning_content": reasoning})] if reasoning else []
    fake_upstream_server.enqueue(
        Scripted(events=[*events, chunk({"content": answer}, finish="stop"), DONE])
    )
    count = await page.locator(".message.assistant").count()
    await page.locator("#question").fill("What is this?")
    await page.locator("#question").press("Enter")
    reply = page.locator(".message.assistant").nth(count)
    await expect(reply).to_have_attribute("data-status", "completed")
    return reply


async def test_headless_chromium_speech_as_it_is(signed_in, fake_upstream_server, capsys):
    """No stand-ins: what this Chromium offers, and the page failing politely with it."""
    page = signed_in
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    offered = await page.evaluate(
        """async () => {
            const R = window.SpeechRecognition || window.webkitSpeechRecognition;
            const local = R && R.available
              ? await R.available({ langs: ["en"], processLocally: true }) : "no API";
            const voices = await new Promise((resolve) => {
              if (speechSynthesis.getVoices().length) resolve(speechSynthesis.getVoices().length);
              speechSynthesis.onvoiceschanged = () => resolve(speechSynthesis.getVoices().length);
              setTimeout(() => resolve(speechSynthesis.getVoices().length), 1000);
            });
            return { SpeechRecognition: typeof window.SpeechRecognition,
                     webkitSpeechRecognition: typeof window.webkitSpeechRecognition,
                     onDevice: local, speechSynthesis: typeof window.speechSynthesis, voices };
        }"""
    )
    with capsys.disabled():
        print(f"\nheadless Chromium offers: {offered}")
    dictate = page.get_by_role("button", name="Dictate")
    if (
        offered["SpeechRecognition"] == "undefined"
        and offered["webkitSpeechRecognition"] == "undefined"
    ):
        await expect(dictate).to_have_count(0)
    else:
        # No microphone permission here: the browser refuses, the page says so.
        await expect(dictate).to_have_attribute("title", re.compile("servers|device"))
        await dictate.click()
        await expect(page.locator("#composer-error")).to_contain_text("microphone")
        await expect(dictate).to_have_attribute("aria-pressed", "false")
    reply = await ask(page, fake_upstream_server, "A fern.")
    read = reply.get_by_role("button", name="Read aloud")
    await read.click()
    # No voices: Chromium fails the utterance; the button comes back and the page says so.
    await expect(reply.get_by_role("button", name="Read aloud")).to_have_attribute(
        "aria-pressed", "false"
    )
    if not offered["voices"]:
        await expect(page.locator("#composer-error")).to_contain_text("read this answer aloud")
    assert page.errors == []
    assert console_errors == []


async def test_dictation_fills_the_box_in_the_page_language_keeping_what_was_typed(signed_in):
    page = signed_in
    await with_scripts(page, FAKE_RECOGNITION.replace("ON_DEVICE", ""), language="es")
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    box = page.locator("#question")
    await box.fill("Mira la foto.")
    # In Spanish where `make` has compiled the catalogs, in English where not.
    servers = await translated(page, SERVERS)
    dictate = page.locator("#dictate")
    await expect(dictate).to_have_attribute("title", servers)
    await dictate.click()
    await expect(dictate).to_have_attribute("aria-pressed", "true")
    await expect(page.locator(".dictate-status")).to_be_visible()
    # The first time: where the voice goes, on the page and to screen readers.
    await expect(page.locator(".dictate-note")).to_have_text(servers)
    await expect(page.locator("#announcer")).to_contain_text(servers)
    heard = await page.evaluate("__speech.last()")
    assert heard["lang"].startswith("es")
    assert heard["interimResults"] and heard["calls"] == ["start"]

    await page.evaluate("__speech.result([['qué planta', false]])")
    await expect(box).to_have_value("Mira la foto. qué planta")
    await page.evaluate("__speech.result([['¿Qué planta es?', true], [' y cómo', false]])")
    await expect(box).to_have_value("Mira la foto. ¿Qué planta es? y cómo")
    await page.evaluate(
        "__speech.result([['¿Qué planta es?', true], [' ¿Y cómo la riego?', true]])"
    )
    await expect(box).to_have_value("Mira la foto. ¿Qué planta es? ¿Y cómo la riego?")

    await dictate.click()
    await expect(dictate).to_have_attribute("aria-pressed", "false")
    await expect(page.locator(".dictate-status")).to_be_hidden()
    assert (await page.evaluate("__speech.last()"))["calls"] == ["start", "stop"]
    await expect(box).to_have_value("Mira la foto. ¿Qué planta es? ¿Y cómo la riego?")

    # Again, at the cursor in the middle of the text: inserted there, the rest kept.
    await box.evaluate("(el) => { el.focus(); el.setSelectionRange(13, 13); }")
    await dictate.click()
    await expect(page.locator(".dictate-note")).to_be_hidden()  # the note was for the first time
    await page.evaluate("__speech.result([['Es un helecho.', false]])")
    await page.evaluate("__speech.error('no-speech')")  # ended before the words were settled
    await expect(box).to_have_value("Mira la foto. ¿Qué planta es? ¿Y cómo la riego?")
    await expect(page.locator("#composer-error")).to_have_text(
        await translated(page, "No speech was heard. Press the microphone and try again.")
    )
    await dictate.click()
    await page.evaluate("__speech.result([['Es un helecho.', true]])")
    await expect(box).to_have_value(
        "Mira la foto. Es un helecho. ¿Qué planta es? ¿Y cómo la riego?"
    )
    assert page.errors == []


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("not-allowed", "The microphone is blocked"),
        ("audio-capture", "No microphone was found"),
        ("network", "Check your connection"),
    ],
)
async def test_dictation_errors_show_a_message_and_escape_stops(signed_in, code, message):
    page = signed_in
    await with_scripts(page, FAKE_RECOGNITION.replace("ON_DEVICE", ""))
    dictate = page.get_by_role("button", name="Dictate")
    await dictate.click()
    await page.evaluate(f"__speech.error({code!r})")
    await expect(page.locator("#composer-error")).to_contain_text(message)
    await expect(dictate).to_have_attribute("aria-pressed", "false")
    # Esc in the box stops listening (and only that).
    await dictate.click()
    await expect(page.locator("#composer-error")).to_be_hidden()
    await page.locator("#question").focus()
    await page.keyboard.press("Escape")
    await expect(dictate).to_have_attribute("aria-pressed", "false")
    assert (await page.evaluate("__speech.last()"))["calls"] == ["start", "stop"]
    await expect(page.locator("#announcer")).to_contain_text("Stopped listening.")
    assert page.errors == []


async def test_typing_while_dictating_stops_it_and_keeps_what_was_heard(signed_in):
    page = signed_in
    await with_scripts(page, FAKE_RECOGNITION.replace("ON_DEVICE", ""))
    box = page.locator("#question")
    await page.locator("#dictate").click()
    await page.evaluate("__speech.result([['a red flower', false]])")
    await box.press("End")
    await box.press_sequentially("?")
    await expect(page.locator("#dictate")).to_have_attribute("aria-pressed", "false")
    assert (await page.evaluate("__speech.last()"))["calls"] == ["start", "abort"]
    await page.evaluate("__speech.result([['a red flower in a pot', true]])")
    await expect(box).to_have_value("a red flower?")


async def test_dictation_on_the_device_where_the_browser_can(signed_in):
    page = signed_in
    await with_scripts(page, FAKE_RECOGNITION.replace("ON_DEVICE", ON_DEVICE))
    dictate = page.locator("#dictate")
    await expect(dictate).to_have_attribute(
        "title", "Your voice is turned into text on this device."
    )
    await dictate.click()
    assert (await page.evaluate("__speech.last()"))["processLocally"] is True
    await expect(page.locator(".dictate-note")).to_have_text(
        "Your voice is turned into text on this device."
    )


async def test_no_microphone_button_without_speech_recognition(signed_in):
    page = signed_in
    await with_scripts(page, NO_RECOGNITION)
    await expect(page.locator("#send")).to_be_visible()
    await expect(page.locator("#dictate")).to_have_count(0)
    await expect(page.get_by_role("button", name="Dictate")).to_have_count(0)


async def test_no_read_aloud_button_without_speech_synthesis(signed_in, fake_upstream_server):
    page = signed_in
    await with_scripts(
        page, "delete window.speechSynthesis; delete window.SpeechSynthesisUtterance;"
    )
    reply = await ask(page, fake_upstream_server, "A fern.")
    await expect(reply.get_by_role("button", name="Copy")).to_be_visible()
    await expect(reply.get_by_role("button", name="Read aloud")).to_have_count(0)


async def test_read_aloud_speaks_the_words_not_the_markdown_the_code_or_the_thinking(
    signed_in, fake_upstream_server
):
    page = signed_in
    await with_scripts(page, SPEAK_SPY)
    reply = await ask(page, fake_upstream_server, FERN, reasoning="Thinking about ferns.")
    read = reply.get_by_role("button", name="Read aloud")
    await expect(read).to_have_attribute("aria-pressed", "false")
    await read.click()
    # Every piece ended at once (the spy): the button is back.
    await expect(read).to_have_text("Read aloud")
    utterances = await page.evaluate("__spoken.utterances")
    spoken = " ".join(u["text"] for u in utterances)
    for words in (
        "Fern care",
        "A fern likes shade and damp air.",
        "Keep the soil moist",
        "Mist the leaves",
    ):
        assert words in spoken
    assert "Code block skipped." in spoken
    for absent in ("**", "#", "```", "- ", "water", "weekly", "Thinking"):
        assert absent not in spoken
    assert {u["lang"] for u in utterances} == {"en"}


async def test_read_aloud_one_answer_at_a_time_in_its_language_and_stop(
    signed_in, fake_upstream_server
):
    page = signed_in
    await with_scripts(page, SPEAK_SPY)
    await page.evaluate("__spoken.autoEnd = false")
    long = " ".join(["Это папоротник, он любит тень и влажный воздух."] * 12)
    first = await ask(page, fake_upstream_server, "A fern, in the shade.")
    second = await ask(page, fake_upstream_server, long)

    await first.get_by_role("button", name="Read aloud").click()
    stop_first = first.get_by_role("button", name="Stop reading")
    await expect(stop_first).to_have_attribute("aria-pressed", "true")

    # Another answer starts: the first one stops.
    await second.get_by_role("button", name="Read aloud").click()
    stop_second = second.get_by_role("button", name="Stop reading")
    await expect(stop_second).to_have_attribute("aria-pressed", "true")
    await expect(first.get_by_role("button", name="Read aloud")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert await page.evaluate("__spoken.cancels") == 1
    # Mostly Cyrillic on an English page: read in Russian; one short piece at a time.
    utterances = await page.evaluate("__spoken.utterances")
    assert utterances[-1]["lang"] == "ru"
    assert len(utterances[-1]["text"]) <= 200
    assert len(long) > 500

    await stop_second.click()
    await expect(second.get_by_role("button", name="Read aloud")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert await page.evaluate("__spoken.cancels") == 2


async def test_voice_buttons_work_from_the_keyboard(signed_in, fake_upstream_server):
    page = signed_in
    await with_scripts(page, FAKE_RECOGNITION.replace("ON_DEVICE", ""), SPEAK_SPY)
    await page.evaluate("__spoken.autoEnd = false")
    reply = await ask(page, fake_upstream_server, "A fern.")

    async def tab_to(selector):
        for _ in range(40):
            await page.keyboard.press("Tab")
            if await page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
        pytest.fail(f"Tab never reached {selector}")

    await page.locator("#question").focus()
    await tab_to("#dictate")
    await page.keyboard.press("Enter")
    await expect(page.locator("#dictate")).to_have_attribute("aria-pressed", "true")
    await page.keyboard.press(" ")
    await expect(page.locator("#dictate")).to_have_attribute("aria-pressed", "false")

    await page.locator(".message.user .message-actions button").first.focus()
    await tab_to(".read-aloud")
    await page.keyboard.press("Enter")
    await expect(reply.locator(".read-aloud")).to_have_attribute("aria-pressed", "true")
    await page.keyboard.press(" ")
    await expect(reply.locator(".read-aloud")).to_have_attribute("aria-pressed", "false")
    assert await page.evaluate("__spoken.cancels") == 1


async def test_voice_buttons_have_no_serious_accessibility_violations(
    signed_in, fake_upstream_server
):
    page = signed_in
    await with_scripts(page, FAKE_RECOGNITION.replace("ON_DEVICE", ""), SPEAK_SPY)
    await page.evaluate("__spoken.autoEnd = false")
    reply = await ask(page, fake_upstream_server, FERN)
    await screenshot(page, "voice-idle")
    await page.locator("#dictate").click()
    await reply.get_by_role("button", name="Read aloud").click()
    await expect(page.locator(".dictate-note")).to_be_visible()
    await screenshot(page, "voice-listening-and-reading")
    assert await serious_violations(page) == []
