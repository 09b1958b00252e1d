#!/usr/bin/env python3
"""Fingerprints of cited document sections, for the quote check of the catalogue.

For every citation quote in crates/portq-catalog/data/quotes.csv the repository keeps, in
crates/portq-catalog/tests/fixtures/section-shingles.tsv, a fingerprint of the section it
cites: the hashes of every run of 4 words of the section (of fewer, as many as the
shortest quote of that section has, for table cells like "HTTP | 80") (lower-cased; a word is a run of
letters and digits; markdown link targets are dropped). No text of the section is kept. The test
`quotes_are_verbatim_in_their_sections` checks that every run of 4 words of every quote is
among its section's hashes, so a paraphrase, a wrong section or a wrong document fails.

Usage: section-shingles.py SECTIONS_DIR
  SECTIONS_DIR holds plain-text copies of the cited sections (any file names); for each
  (document, section) of quotes.csv the file whose text contains all of that section's
  quotes is used. Prints the TSV on stdout: document, section, hashes.
"""
import csv, glob, os, re, sys

K = 4

def words(text):
    # Markdown link targets are not words of the text: [name](target) reads "name".
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.findall(r"[a-z0-9]+", text.lower())

def fnv(text):
    h = 0xcbf29ce484222325
    for b in text.encode():
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"[:12]

def shingles(ws, k):
    return {fnv(" ".join(ws[i:i + k])) for i in range(len(ws) - k + 1)} if ws else set()

def contains(hay, needle):
    n = len(needle)
    return any(hay[i:i + n] == needle for i in range(len(hay) - n + 1))

def main():
    d = sys.argv[1]
    texts = {f: words(open(f, encoding="utf-8").read()) for f in glob.glob(os.path.join(d, "*.txt"))}
    here = os.path.dirname(os.path.abspath(__file__))
    quotes = list(csv.DictReader(open(os.path.join(here, "../crates/portq-catalog/data/quotes.csv"), encoding="utf-8")))
    by_section = {}
    for q in quotes:
        by_section.setdefault((q["document"], q["section"]), []).append(words(q["quote"]))
    out = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    out.writerow(["document", "section", "k", "hashes"])
    for (doc, sec), qs in sorted(by_section.items()):
        found = [f for f, ws in texts.items() if all(contains(ws, q) for q in qs)]
        if not found:
            sys.exit(f"no section text contains every quote of {doc}#{sec}")
        best = min(found, key=lambda f: len(texts[f]))
        # Runs of K words, or as many as the shortest quote of the section has.
        k = max(1, min([K] + [len(q) for q in qs]))
        out.writerow([doc, sec, k, " ".join(sorted(shingles(texts[best], k)))])

if __name__ == "__main__":
    main()
