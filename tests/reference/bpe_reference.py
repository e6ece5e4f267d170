#!/usr/bin/env python3
"""Independent reference for t2's byte-level BPE trainer (model/tokenizer_train.c).

Reads tests/reference/bpe/corpus.txt (ASCII text), cuts it with GPT-2's pre-tokenizer
pattern (written here with ASCII classes, which match the same pieces on ASCII text),
and learns merges the plain way: every round recounts all adjacent pairs from scratch,
takes the most frequent (ties: smaller left id, then smaller right id) and merges it left to
right in every pre-token. Ids: bytes 0..255, three special tokens 256..258, merge i is
259 + i. Writes tests/reference/bpe/merges.txt ("left right" per line) and
tests/reference/bpe/encoded.txt: the ids of the corpus's first five lines, encoded by
applying the merges in rank order (GPT-2's encoder), one line of ids per text line.

    python3 tests/reference/bpe_reference.py    (CI does not run it; its outputs are committed)
"""
import collections
import os
import re

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bpe")
MERGES, MIN_FREQUENCY, FIRST_ID = 300, 2, 259
PATTERN = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")


def pretokens(text):
    return PATTERN.findall(text)


def train(text):
    words = collections.Counter(pretokens(text))
    seqs = {w: list(w.encode()) for w in words}
    merges = []
    for i in range(MERGES):
        pairs = collections.Counter()
        for w, count in words.items():
            s = seqs[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p[0], p[1]))
        if pairs[best] < MIN_FREQUENCY:
            break
        new = FIRST_ID + i
        merges.append(best)
        for w in words:
            s, out, j = seqs[w], [], 0
            while j < len(s):
                if j + 1 < len(s) and (s[j], s[j + 1]) == best:
                    out.append(new)
                    j += 2
                else:
                    out.append(s[j])
                    j += 1
            seqs[w] = out
    return merges


def encode(text, merges):
    rank = {pair: (i, FIRST_ID + i) for i, pair in enumerate(merges)}
    ids = []
    for piece in pretokens(text):
        s = list(piece.encode())
        while len(s) > 1:
            found = [(rank[(a, b)][0], k) for k, (a, b) in enumerate(zip(s, s[1:])) if (a, b) in rank]
            if not found:
                break
            r, k = min(found)
            s[k:k + 2] = [rank[(s[k], s[k + 1])][1]]
        ids.extend(s)
    return ids


def main():
    text = open(os.path.join(HERE, "corpus.txt"), encoding="ascii").read()
    merges = train(text)
    with open(os.path.join(HERE, "merges.txt"), "w") as f:
        for a, b in merges:
            f.write(f"{a} {b}\n")
    with open(os.path.join(HERE, "encoded.txt"), "w") as f:
        for line in text.split("\n")[:5]:
            f.write(" ".join(str(i) for i in encode(line, merges)) + "\n")
    print(f"{len(merges)} merges")


if __name__ == "__main__":
    main()
