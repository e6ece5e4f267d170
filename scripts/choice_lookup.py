#!/usr/bin/env python3
"""How often a model that names a choice then gives that choice's letter (docs/results.md).

A worked answer of the reasoning task names its choice, then gives the letter that choice has
in the prompt: "Cal has the most. The answer is B." for "A) Bob B) Cal C) Ann" (orderings
and comparisons: a person), "No blip is a mem, so no. The answer is B." for "A) yes B) no
C) unknown" (syllogisms: one of three words). Finding the letter is a lookup in the prompt
by content. Among the completions that name something that is one of the choices, this
counts those whose letter is the named choice's, whether or not the choice is the right one;
a model that does not look up gets about a third (three choices).

usage:
    t2 task show --task reasoning -n 500 --jsonl > samples.jsonl
    t2 task eval --task reasoning --model DIR -n 500 --predictions-out predictions.jsonl
    python3 scripts/choice_lookup.py samples.jsonl predictions.jsonl
"""
import json
import re
import sys

# What a completion names, then its letter: a person, or a syllogism's conclusion.
NAMED = {
    "a person": (r"([A-Z][a-z]+) (?:is|has) [a-z ]+\. The answer is ([A-Z])\b",
                 r"\b([A-E])\) ([A-Z][a-z]+)"),
    "yes, no or unknown": (r"so (yes|no|unknown)\. The answer is ([A-Z])\b",
                           r"\b([A-E])\) (yes|no|unknown)\b"),
}


def main(samples_path, predictions_path):
    with open(samples_path) as f:
        prompts = {str(s["id"]): s["prompt"] for s in map(json.loads, f)}
    with open(predictions_path) as f:
        completions = [(str(p["id"]), p["completion"]) for p in map(json.loads, f)]
    for what, (said_re, choice_re) in NAMED.items():
        named = looked_up = 0
        for sample_id, completion in completions:
            said = re.search(said_re, completion)
            if not said:
                continue
            choices = {name: letter for letter, name in re.findall(choice_re, prompts[sample_id])}
            if said.group(1) in choices:
                named += 1
                looked_up += choices[said.group(1)] == said.group(2)
        share = 100 * looked_up / named if named else 0.0
        print(f"named {what}: {named}; gave its letter: {looked_up} ({share:.1f} %)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: choice_lookup.py SAMPLES.jsonl PREDICTIONS.jsonl")
    main(sys.argv[1], sys.argv[2])
