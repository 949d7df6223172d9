"""Text a person typed or pasted, made safe to keep: the characters no one
means to enter taken out. Pure (no Django), so the model's options
(chat.llm.payload) and the input checks (chat.conversations.checks) share it.

Taken out, silently rather than refused: a pasted string often carries them
unseen (copied from a PDF, a terminal or right-to-left text), and the person
could not find what to delete if we refused it.

- NUL: PostgreSQL can't store it in text or JSON (a 500 or a database error
  where SQLite kept it), and nothing shows it.
- The other C0 controls but tab, newline and carriage return (those three are
  how typed text breaks lines), DEL and the C1 controls: invisible, and no
  keyboard types them.
- The bidi embeddings and overrides (U+202A–U+202E) and isolates
  (U+2066–U+2069): they reorder what follows them on the screen, so a name or
  a title could read differently from what it is ("Trojan Source").

Kept: the bidi marks (U+200E, U+200F, U+061C), which right-to-left writers
use and which reorder nothing beyond themselves, and the zero-width joiners
(emoji sequences, Persian)."""

_NOT_KEPT = dict.fromkeys(
    [
        *range(0x00, 0x09),  # NUL and the C0 controls before tab
        0x0B,  # vertical tab
        0x0C,  # form feed
        *range(0x0E, 0x20),  # the rest of C0 after carriage return
        *range(0x7F, 0xA0),  # DEL and C1
        *range(0x202A, 0x202F),  # LRE RLE PDF LRO RLO
        *range(0x2066, 0x206A),  # LRI RLI FSI PDI
    ]
)


def controls_strip(text: str) -> str:
    """`text` without NUL, the other invisible controls and the bidi overrides."""
    return text.translate(_NOT_KEPT)
