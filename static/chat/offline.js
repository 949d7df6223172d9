// The offline page (templates/pwa/offline.html, kept by the service worker)
// in the language of the pages the person was reading. The worker fetches
// that page without cookies, so the server can't know their language: the
// page holds every shipped language, each in a block with its own lang and
// dir, and this shows one of them. Which: the language of the last page read
// here (noted by pwa.js, same origin), else the first of the browser's
// languages that VisionQA speaks, else the one the page shows without a script
// (English). A classic script at the end of the page, not a module: it runs
// before the page is first shown. It writes no words of its own.
{
  const NOTED = "visionqa.language"; // localStorage, written by pwa.js on every page
  const blocks = [...document.querySelectorAll(".offline-language[lang]")];
  const codes = blocks.map((block) => block.lang.toLowerCase());

  // A language tag's block, as Django picks a language: the tag itself, then
  // shorter (zh-hans-cn, zh-hans, zh), then any of ours in that language
  // (pt-PT → pt-br, zh-TW → zh-hans).
  const blockFor = (tag) => {
    const parts = String(tag || "").toLowerCase().replaceAll("_", "-").split("-").filter(Boolean);
    for (let length = parts.length; length > 0; length -= 1) {
      const index = codes.indexOf(parts.slice(0, length).join("-"));
      if (index >= 0) return blocks[index];
    }
    if (!parts.length) return undefined;
    const index = codes.findIndex((code) => code.split("-")[0] === parts[0]);
    return index >= 0 ? blocks[index] : undefined;
  };

  let noted = null;
  try {
    noted = localStorage.getItem(NOTED);
  } catch {
    // Storage refused (a private window, a setting): the browser's languages decide.
  }
  const browser = navigator.languages?.length ? navigator.languages : [navigator.language];
  const chosen =
    blockFor(noted) ||
    browser.map(blockFor).find(Boolean) ||
    blocks.find((block) => !block.hidden);

  if (chosen) {
    for (const block of blocks) block.hidden = block !== chosen;
    document.documentElement.lang = chosen.lang;
    document.documentElement.dir = chosen.dir;
    if (chosen.dataset.title) document.title = chosen.dataset.title;
  }
}
