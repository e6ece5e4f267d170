"""Writes tests/data/tasks/mbpp.jsonl: eight hand-written problems in MBPP's layout (real MBPP
rows are not in ../shared), after checking with plain exec() that every reference solution
passes its test_list and challenge_test_list. Not run by CI; run it to change the rows:
    python3 tests/reference/mbpp_fixture.py
"""
import json
import os

rows = [
 {"task_id": 1, "text": "Write a function to return the sum of the squares of the digits of a non-negative integer.",
  "code": "def digit_square_sum(n):\n    total = 0\n    while n > 0:\n        n, d = divmod(n, 10)\n        total += d * d\n    return total",
  "test_list": ["assert digit_square_sum(0) == 0", "assert digit_square_sum(12) == 5", "assert digit_square_sum(907) == 130"]},
 {"task_id": 2, "text": "Write a python function to check whether a string reads the same forwards and backwards, ignoring case",
  "code": "def is_palindrome(s):\n    t = s.lower()\n    return t == t[::-1]",
  "test_list": ["assert is_palindrome(\"Level\") == True", "assert is_palindrome(\"python\") == False", "assert is_palindrome(\"\") == True"]},
 {"task_id": 3, "text": "Write a function to find the second largest distinct value in a list.",
  "code": "def second_largest(nums):\n    values = sorted(set(nums), reverse=True)\n    return values[1] if len(values) > 1 else None",
  "test_list": ["assert second_largest([4, 1, 7, 7, 3]) == 4", "assert second_largest([5, 5]) == None", "assert second_largest([-2, -9, -4]) == -4"]},
 {"task_id": 4, "text": "Write a function to merge two sorted lists into one sorted list.",
  "code": "import heapq\ndef merge_sorted(a, b):\n    return list(heapq.merge(a, b))",
  "test_list": ["assert merge_sorted([1, 4, 9], [2, 3, 10]) == [1, 2, 3, 4, 9, 10]", "assert merge_sorted([], [5]) == [5]", "assert merge_sorted([1, 1], [1]) == [1, 1, 1]"],
  "challenge_test_list": ["assert merge_sorted(list(range(0, 1000, 2)), list(range(1, 1000, 2))) == list(range(1000))"]},
 {"task_id": 5, "text": "Write a function to count the vowels in a string.",
  "code": "def count_vowels(s):\n    return sum(1 for c in s.lower() if c in 'aeiou')",
  "test_list": ["assert count_vowels('Transformer') == 3", "assert count_vowels('rhythm') == 0", "assert count_vowels('AEIOU') == 5"]},
 {"task_id": 6, "text": "Write a function to rotate a list to the right by k positions.",
  "code": "def rotate_right(items, k):\n    if not items:\n        return []\n    k %= len(items)\n    return items[-k:] + items[:-k] if k else list(items)",
  "test_list": ["assert rotate_right([1, 2, 3, 4, 5], 2) == [4, 5, 1, 2, 3]", "assert rotate_right([1, 2, 3], 3) == [1, 2, 3]", "assert rotate_right([], 4) == []"]},
 {"task_id": 7, "text": "Write a function to find the number of nodes in a singly linked list.",
  "code": "def list_length(head):\n    n = 0\n    while head is not None:\n        n += 1\n        head = head.next\n    return n",
  "test_setup_code": "class Node:\n    def __init__(self, value, next=None):\n        self.value = value\n        self.next = next\n\ndef build(values):\n    head = None\n    for v in reversed(values):\n        head = Node(v, head)\n    return head",
  "test_list": ["assert list_length(build([])) == 0", "assert list_length(build([3])) == 1", "assert list_length(build([1, 2, 3, 4])) == 4"]},
 {"task_id": "extra/8", "text": "Write a function to flatten a nested list of integers.",
  "code": "def flatten(items):\n    out = []\n    for x in items:\n        if isinstance(x, list):\n            out.extend(flatten(x))\n        else:\n            out.append(x)\n    return out",
  "test_list": ["assert flatten([1, [2, [3, 4]], 5]) == [1, 2, 3, 4, 5]", "assert flatten([]) == []", "assert flatten([[[]], [7]]) == [7]"],
  "challenge_test_list": ["assert flatten([[1, [2]], [[3]]]) == [1, 2, 3]"], "test_setup_code": ""},
]

for r in rows:
    program = "\n".join([r.get("test_setup_code", ""), r["code"]] + r["test_list"] +
                        r.get("challenge_test_list", []))
    exec(program, {})

path = os.path.join(os.path.dirname(__file__), "..", "data", "tasks", "mbpp.jsonl")
with open(path, "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
print("wrote", len(rows), "rows to", os.path.normpath(path))
