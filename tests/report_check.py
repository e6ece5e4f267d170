#!/usr/bin/python3
"""Checks a folder `t2 report` wrote (tests/report.cmake, docs/report.md), from its inputs
and independently of t2: the Python standard library only.

usage: report_check.py OUT N_FIGURES INPUT...

  - OUT/index.html parses with html.parser, every opened tag is closed in order (void
    elements aside), it has a <title>, and it shows N_FIGURES images;
  - every <img src> is a file in OUT with the PNG signature, an IHDR chunk and the size the
    plot is drawn at (training 900 x 480, few-shot 1100 x 440, evaluation 1100 x 500);
  - every data file equals its input: train-<k>.dat and val-<k>.dat hold the metrics of the
    k-th metrics input (a step at or below an earlier one replaces the lines from that step
    on, as after a resume), with step_seconds the sum of `seconds`; fewshot-<k>.dat the
    iterations of the k-th search (a search starts at iteration 1; α averaged over each
    expert's layers); eval-<k>.dat each task's accuracy and interval per strategy;
  - each evaluation row's task and strategy appear in the page.
Prints what it compared; exits 1 on the first failure.
"""
import html.parser
import json
import math
import os
import struct
import sys

VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}
SIZES = {"fewshot": (1100, 440), "eval": (1100, 500)}


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.images, self.title, self.text = [], [], None, []
        self.doctype = False

    def handle_decl(self, decl):
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1][0] != tag:
            fail("index.html: </%s> at line %d closes %s" % (
                tag, self.getpos()[0], self.stack[-1] if self.stack else "nothing"))
        self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "title":
            self.title = data
        self.text.append(data)


def check_png(path, stem):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        fail("%s: not a PNG (signature %r)" % (path, head[:16]))
    width, height = struct.unpack(">II", head[16:24])
    want = SIZES.get(stem.split("-")[0], (900, 480))
    if (width, height) != want:
        fail("%s: %d x %d pixels; expected %d x %d" % ((path, width, height) + want))
    return width, height


def read_dat(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            rows.append(line.split())
    return rows


def same(got, want, what, tolerance=0.0):
    got = float(got)
    if math.isnan(want) and math.isnan(got):
        return
    if not abs(got - want) <= tolerance * max(1.0, abs(want)):
        fail("%s: %r in the data file; expected %r" % (what, got, want))


def json_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check_run(out, k, path):
    lines = []
    for o in json_lines(path):
        while lines and lines[-1]["step"] >= o["step"]:
            lines.pop()
        lines.append(o)
    rows = read_dat(os.path.join(out, "train-%d.dat" % k))
    if len(rows) != len(lines):
        fail("train-%d.dat: %d rows; expected %d steps of %s" % (k, len(rows), len(lines), path))
    keys = ["step", "reward_mean", "reward_std", "accuracy", "kl", "loss", "grad_norm", "tokens"]
    for row, o in zip(rows, lines):
        for c, key in enumerate(keys):
            same(row[c], float(o[key]), "train-%d.dat step %s %s" % (k, o["step"], key))
        same(row[8], sum(o["seconds"].values()), "train-%d.dat step_seconds" % k, 1e-12)
        same(row[9], float(o["elapsed"]), "train-%d.dat elapsed" % k)
    val = [o for o in lines if "val_accuracy" in o]
    vrows = read_dat(os.path.join(out, "val-%d.dat" % k))
    if len(vrows) != len(val):
        fail("val-%d.dat: %d rows; expected %d validation steps" % (k, len(vrows), len(val)))
    for row, o in zip(vrows, val):
        same(row[0], float(o["step"]), "val-%d.dat step" % k)
        same(row[1], float(o["val_accuracy"]), "val-%d.dat val_accuracy" % k)
    print("train-%d.dat, val-%d.dat: %d steps, %d validations equal %s" % (
        k, k, len(rows), len(vrows), path))


def check_searches(out, first, path):
    searches = []
    for o in json_lines(path):
        if o["iteration"] == 1 or not searches:
            searches.append([])
        searches[-1].append(o)
    for i, lines in enumerate(searches):
        k = first + i
        rows = read_dat(os.path.join(out, "fewshot-%d.dat" % k))
        if len(rows) != len(lines):
            fail("fewshot-%d.dat: %d rows; expected %d iterations" % (k, len(rows), len(lines)))
        for row, o in zip(rows, lines):
            experts = len(o["experts"])
            layers = len(o["best_alpha"]) // experts
            want = [o["iteration"], o["examples"], o["best_score"], o["iteration_best"],
                    o["iteration_mean"], o["best_tiebreak"]]
            for key in ("best_alpha", "mean_alpha"):
                want += [sum(o[key][e * layers:(e + 1) * layers]) / layers
                         for e in range(experts)]
            if len(row) != len(want):
                fail("fewshot-%d.dat: %d columns; expected %d" % (k, len(row), len(want)))
            for c, w in enumerate(want):
                same(row[c], float(w), "fewshot-%d.dat iteration %d column %d" % (
                    k, o["iteration"], c + 1), 1e-15)
        print("fewshot-%d.dat: %d iterations equal %s (%s)" % (
            k, len(rows), path, lines[0]["search"]))
    return len(searches)


def check_eval(out, k, path, page_text):
    with open(path) as f:
        report = json.load(f)
    tasks, strategies = [], []
    for r in report["results"]:
        task = "%s@%d" % (r["task"], r["level"])
        tasks += [task] if task not in tasks else []
        strategies += [r["strategy"]] if r["strategy"] not in strategies else []
        for text in (task, r["strategy"]):
            if text not in page_text:
                fail("index.html does not show %s" % text)
    rows = read_dat(os.path.join(out, "eval-%d.dat" % k))
    if len(rows) != len(tasks):
        fail("eval-%d.dat: %d rows; expected %d tasks" % (k, len(rows), len(tasks)))
    for row, task in zip(rows, tasks):
        if row[0] != '"%s"' % task:
            fail("eval-%d.dat: row %s; expected task %s" % (k, row[0], task))
        for s, strategy in enumerate(strategies):
            match = [r for r in report["results"]
                     if "%s@%d" % (r["task"], r["level"]) == task and r["strategy"] == strategy]
            want = ([match[0]["accuracy"], match[0]["interval95"]["low"],
                     match[0]["interval95"]["high"]] if match else [math.nan] * 3)
            for c in range(3):
                same(row[1 + 3 * s + c], float(want[c]), "eval-%d.dat %s %s" % (k, task, strategy))
    print("eval-%d.dat: %d tasks x %d strategies equal %s" % (k, len(rows), len(strategies), path))


def kind(path):
    with open(path) as f:
        text = f.read()
    try:
        if "results" in json.loads(text):
            return "eval"
    except ValueError:
        pass
    first = json.loads(text.splitlines()[0])
    return "run" if "step" in first else "search"


def main():
    out, n_figures, inputs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    page = Page()
    with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
        page.feed(f.read())
    page.close()
    if not page.doctype or page.stack or not page.title:
        fail("index.html: doctype %s, unclosed %s, title %r" % (page.doctype, page.stack,
                                                                 page.title))
    if len(page.images) != n_figures:
        fail("index.html shows %d images; expected %d" % (len(page.images), n_figures))
    for img in page.images:
        src = img.get("src", "")
        if "/" in src or not img.get("alt"):
            fail("img %r: expected a file of the folder and an alt text" % img)
        check_png(os.path.join(out, src), src[:-4])
    print("index.html: well formed, title %r, %d PNG images of the expected sizes" % (
        page.title, len(page.images)))
    text = "".join(page.text)
    runs = searches = evals = 0
    for path in inputs:
        what = kind(path)
        if what == "run":
            runs += 1
            check_run(out, runs, path)
        elif what == "search":
            searches += check_searches(out, searches + 1, path)
        else:
            evals += 1
            check_eval(out, evals, path, text)
    print("report check passed")


main()
